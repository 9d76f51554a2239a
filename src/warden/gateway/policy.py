"""The gateway policy: YAML read with ``yaml.safe_load`` and validated with pydantic (it is untrusted input:
unknown keys are errors, every number is bounded). ``Policy.digest`` binds audit records to the exact
policy that made each decision. The documented example is ``policies/default.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warden.gateway.canonical import digest
from warden.gateway.errors import PolicyError
from warden.gateway.rails.interface import Action

MAX_POLICY_BYTES = 2_000_000
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ModelSection(_Strict):
    id: str = Field("warden-model", pattern=_NAME, description="model name served at /v1/models")
    upstream_model: str | None = Field(None, description="name sent upstream (default: the id)")
    require_attestation: bool = False
    dir: Path | None = Field(None, description="model directory to verify (upstream mode)")
    attestation: Path | None = None
    public_key: Path | None = None


class ServerSection(_Strict):
    max_concurrency: int = Field(64, ge=1, le=100_000)
    max_queue: int = Field(256, ge=0, le=1_000_000)
    queue_timeout_s: float = Field(5.0, ge=0, le=600)
    upstream_timeout_s: float = Field(60.0, gt=0, le=3600)
    connect_timeout_s: float = Field(5.0, gt=0, le=600)
    max_body_bytes: int = Field(4_000_000, ge=1024, le=100_000_000)
    header_timeout_s: float = Field(
        10.0, gt=0, le=600, description="a connection must finish its request headers within this (slowloris)"
    )
    body_timeout_s: float = Field(30.0, gt=0, le=3600, description="and its request body within this (408)")
    max_messages: int = Field(512, ge=1, le=100_000)
    stream_holdback_chars: int = Field(128, ge=0, le=100_000)
    stream_check_every_chars: int = Field(32, ge=1, le=100_000)
    metrics_public: bool = True
    event_loop: Literal["asyncio", "uvloop"] = Field(
        "asyncio",
        description="asyncio accepts every waiting connection at once; uvloop (libuv) accepts one per "
        "loop turn, so under saturation new connections wait behind every busy turn (gateway README)",
    )


class AuditSection(_Strict):
    url: str = "sqlite:///warden-audit.db"
    synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL", description="SQLite: NORMAL survives process kills, FULL also power loss"
    )
    store_text: bool = Field(False, description="store prompts/responses in clear, not only digests")


class BudgetSpec(_Strict):
    spend: float | None = Field(None, ge=0)
    tool_calls: int | None = Field(None, ge=0)
    per_tool_calls: dict[str, int] = Field(default_factory=dict)
    window_s: int = Field(86_400, ge=1)


class KeySpec(_Strict):
    id: str = Field(pattern=_NAME)
    sha256: str = Field(description="hex SHA-256 of the API key (the key itself is never stored)")
    scopes: list[Literal["chat", "tools", "approvals", "admin"]] = Field(default_factory=lambda: ["chat"])  # type: ignore[arg-type]
    models: list[str] = Field(default_factory=lambda: ["*"])
    tools: list[str] | None = Field(None, description="tool allowlist for this key (None: the task's)")
    tasks: list[str] = Field(default_factory=list)
    default_task: str | None = None
    requests_per_minute: int | None = Field(None, ge=1)
    max_concurrent_requests: int | None = Field(
        None,
        ge=1,
        description="requests this key may have in flight at once (slow bodies included); 429 beyond",
    )
    tokens_per_window: int | None = Field(None, ge=1)
    token_window_s: int = Field(86_400, ge=1)
    budget: BudgetSpec | None = None
    contacts: list[str] = Field(default_factory=list, description="trusted recipients for this key")
    accounts: list[str] = Field(default_factory=list, description="trusted IBANs for this key")

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.removeprefix("sha256:").lower()
        if not re.fullmatch(r"[0-9a-f]{64}", v):
            raise ValueError("must be 64 hex digits (sha256 of the key)")
        return v


ArgKind = Literal["email", "url", "iban", "path", "amount", "id"]


class ToolSpec(_Strict):
    description: str = ""
    side_effecting: bool = False
    schema_: dict[str, Any] | None = Field(None, alias="schema", description="JSON schema for arguments")
    cost: float = Field(0.0, ge=0)
    amount_arg: str | None = Field(None, description="argument whose value counts toward spend")
    max_amount: float | None = Field(None, ge=0)
    allowed_domains: list[str] | None = Field(None, description="hosts allowed in URL/e-mail arguments")
    path_args: list[str] = Field(default_factory=list)
    allowed_paths: list[str] | None = Field(None, description="path prefixes allowed in path_args")
    output_trusted: bool = Field(False, description="this tool's output is a trusted source (a directory)")
    taint_args: list[str] | None = Field(None, description="arguments checked for provenance (None: all)")
    provenance: Literal["taint", "user", "trusted"] = Field(
        "taint",
        description="taint: refuse values from tool output; user: every value must appear in the user's "
        "words; trusted: the sensitive arguments' canonical forms must come from a trusted source",
    )
    sensitive_args: dict[str, ArgKind] | None = Field(
        None,
        description="argument -> kind (email, url, iban, path, amount, id): parsed strictly as that kind; "
        "for side-effecting tools their provenance is default-deny (default: inferred from the schema's "
        "format email/uri, path_args and amount_arg)",
    )
    allowed_schemes: list[str] = Field(default_factory=lambda: ["https", "http"])


class TaskSpec(_Strict):
    description: str = ""
    tools: list[str]
    budget: BudgetSpec | None = None
    contacts: list[str] = Field(
        default_factory=list,
        description="e-mail addresses this task may send to without the user naming them",
    )
    accounts: list[str] = Field(
        default_factory=list, description="IBANs this task may pay without the user naming them"
    )


class TaintSection(_Strict):
    enabled: bool = True
    default_deny: bool = Field(
        True,
        description="side-effecting calls: each sensitive argument's canonical form must come from a trusted "
        "source (user, policy contacts/accounts/allowed_domains, approval); else side_effecting_action",
    )
    side_effecting_action: Action = Action.REQUIRE_APPROVAL
    read_action: Action = Action.REQUIRE_APPROVAL
    min_value_chars: int = Field(3, ge=1, le=64)

    @field_validator("side_effecting_action", "read_action")
    @classmethod
    def _tool_action(cls, v: Action) -> Action:
        if v not in (Action.BLOCK, Action.REQUIRE_APPROVAL, Action.FLAG):
            raise ValueError("must be block, require_approval or flag")
        return v


class ToolsSection(_Strict):
    enforce: bool = Field(True, description="false: no tool controls at all (a baseline, not for use)")
    feedback_to_model: bool = Field(True, description="tell the model a call was blocked and let it go on")
    max_feedback_rounds: int = Field(2, ge=0, le=10)
    check_secrets_in_arguments: bool = True
    duplicate_side_effects: Action = Field(
        Action.REQUIRE_APPROVAL,
        description="a side-effecting call identical to one earlier in the conversation",
    )


class RailSpec(_Strict):
    type: str = Field(pattern=_NAME)
    name: str | None = Field(None, pattern=_NAME)
    enabled: bool = True
    action: Action = Action.BLOCK
    mode: Literal["pre", "during"] = Field(
        "pre",
        description="input rails: pre = before the upstream call; during = without holding it back "
        "(slow rails concurrently with it, cheap ones just before it)",
    )
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def rail_name(self) -> str:
        return self.name or self.type


class RailsSection(_Strict):
    input: list[RailSpec] = Field(default_factory=list)
    output: list[RailSpec] = Field(default_factory=list)


class ApprovalsSection(_Strict):
    ttl_s: int = Field(86_400, ge=1)
    max_pending: int = Field(10_000, ge=1)
    max_pending_per_key: int = Field(
        50, ge=1, description="pending approvals one key may have open; beyond it a call is blocked"
    )
    max_per_request: int = Field(
        5, ge=1, description="approvals one answer may open; its further calls are blocked"
    )
    signing_key: Path | None = Field(
        None,
        description="file with the secret (>= 32 bytes) that signs approval decisions; only signed approvals "
        "are replayed at start (default: <sqlite audit file>.approval-key, created 0600; PostgreSQL without "
        "it: a per-process secret, so approvals do not survive a restart)",
    )


class Policy(_Strict):
    version: str = Field(pattern=_NAME)
    model: ModelSection = Field(default_factory=ModelSection)  # type: ignore[arg-type]
    server: ServerSection = Field(default_factory=ServerSection)  # type: ignore[arg-type]
    audit: AuditSection = Field(default_factory=AuditSection)  # type: ignore[arg-type]
    keys: list[KeySpec] = Field(default_factory=list)
    tasks: dict[str, TaskSpec] = Field(default_factory=dict)
    tools: dict[str, ToolSpec] = Field(default_factory=dict)
    tool_controls: ToolsSection = Field(default_factory=ToolsSection)  # type: ignore[arg-type]
    taint: TaintSection = Field(default_factory=TaintSection)  # type: ignore[arg-type]
    rails: RailsSection = Field(default_factory=RailsSection)
    approvals: ApprovalsSection = Field(default_factory=ApprovalsSection)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        ids = [k.id for k in self.keys]
        if len(ids) != len(set(ids)):
            raise ValueError("key ids must be unique")
        hashes = [k.sha256 for k in self.keys]
        if len(hashes) != len(set(hashes)):
            raise ValueError("two keys share one hash")
        for name, task in self.tasks.items():
            for tool in task.tools:
                if tool not in self.tools:
                    raise ValueError(f"task {name!r} allows undeclared tool {tool!r}")
        for key in self.keys:
            for task_name in [*key.tasks, *([key.default_task] if key.default_task else [])]:
                if task_name not in self.tasks:
                    raise ValueError(f"key {key.id!r} names unknown task {task_name!r}")
            for tool in key.tools or []:
                if tool not in self.tools:
                    raise ValueError(f"key {key.id!r} allows undeclared tool {tool!r}")
        from warden.gateway.rails.interface import rail_types

        known = rail_types()
        for stage, specs in (("input", self.rails.input), ("output", self.rails.output)):
            names = [s.rail_name for s in specs]
            if len(names) != len(set(names)):
                raise ValueError(f"rails.{stage}: rail names must be unique (set name:)")
            for spec in specs:
                cls = known.get(spec.type)
                if cls is None:
                    raise ValueError(
                        f"rails.{stage}: unknown rail type {spec.type!r} (known: {sorted(known)})"
                    )
                if stage not in cls.stages:
                    raise ValueError(f"rails.{stage}: rail {spec.type!r} cannot run on {stage}")
                if spec.action is not Action.ALLOW and spec.action not in cls.actions:
                    allowed = sorted(a.value for a in cls.actions)
                    raise ValueError(f"rails.{stage}.{spec.rail_name}: action must be one of {allowed}")
                if spec.mode == "during" and spec.action is Action.REDACT:
                    raise ValueError(
                        f"rails.{stage}.{spec.rail_name}: a during-call rail cannot redact (the upstream already has the text)"
                    )
                if stage == "output" and spec.action is Action.REQUIRE_APPROVAL:
                    raise ValueError(f"rails.output.{spec.rail_name}: output rails cannot wait for approval")
        return self

    @property
    def digest(self) -> str:
        return digest(self.model_dump(mode="json", by_alias=True))


def parse_policy(data: Any, *, source: str = "<policy>") -> Policy:
    if not isinstance(data, dict):
        raise PolicyError("the policy must be a YAML mapping", path=source)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors()[:20]:
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"{where}: {err['msg']}")
        raise PolicyError("invalid policy:\n  " + "\n  ".join(lines), path=source) from None


def load_policy(path: Path) -> Policy:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy: {exc.strerror}", path=str(path)) from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy larger than {MAX_POLICY_BYTES} bytes", path=str(path))
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(f"not valid YAML: {exc}", path=str(path)) from None
    policy = parse_policy(data, source=str(path))
    return _resolve_paths(policy, path.parent)


def _resolve_paths(policy: Policy, base: Path) -> Policy:
    """Relative model/attestation paths in the policy are relative to the policy file."""

    def fix(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    m = policy.model
    updates = {
        k: fix(getattr(m, k)) for k in ("dir", "attestation", "public_key") if getattr(m, k) is not None
    }
    if updates:
        policy = policy.model_copy(update={"model": m.model_copy(update=updates)})
    if policy.approvals.signing_key is not None:
        a = policy.approvals
        policy = policy.model_copy(
            update={"approvals": a.model_copy(update={"signing_key": fix(a.signing_key)})}
        )
    return policy


def default_policy_path() -> Path:
    return Path(__file__).parent / "policies" / "default.yaml"
