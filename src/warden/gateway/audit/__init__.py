"""Hash-chained audit log: every request, rail decision, tool call and approval, written before the
response is returned. ``chain`` seals and verifies records, ``sqlite``/``postgres`` store them,
``log.AuditLog`` group-commits appends from the server, ``open_store`` picks a store by URL."""

from warden.gateway.audit.chain import GENESIS, VerifyResult, seal, verify_rows
from warden.gateway.audit.log import AuditLog
from warden.gateway.audit.store import AuditStore, StoredRecord, open_store

__all__ = [
    "GENESIS",
    "AuditLog",
    "AuditStore",
    "StoredRecord",
    "VerifyResult",
    "open_store",
    "seal",
    "verify_rows",
]
