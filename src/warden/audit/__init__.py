"""``warden audit``: every stage under a policy → one Report and one verdict."""

from warden.audit.orchestrate import run_audit
from warden.audit.policy import DEFAULT_POLICY_PATH, Policy, PolicyError, load_policy

__all__ = ["DEFAULT_POLICY_PATH", "Policy", "PolicyError", "load_policy", "run_audit"]
