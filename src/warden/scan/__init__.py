"""The scan stage: the model's files — anything that runs code on load, malformed containers,
malicious chat templates, remote code — and a SHA-256 manifest."""

from warden.scan.api import checked_anything, scan_model

__all__ = ["checked_anything", "scan_model"]
