"""Python source shipped with a model: the custom modeling/tokenizer code ``trust_remote_code`` runs.

Every ``*.py`` in a model repository is code a user may execute by loading the model (auto_map,
custom pipelines, sentence-transformers modules). It is parsed with :mod:`ast` — never imported,
compiled or executed — and checked for what modeling code has no business doing:

- process execution (``os.system``, ``subprocess.*``, ``os.popen``, ``pty``, ``os.exec*``/``spawn*``)
  and dynamic code (``eval``/``exec``/``compile`` of non-literal code, ``types.CodeType``), critical
  when the code comes out of base64/zlib/hex decoding → ``REMOTE-CODE-EXEC``;
- network clients (``socket``, ``urllib``, ``requests``, ``httpx``, ``http.client``, ``ftplib``,
  ``smtplib`` ...) → ``REMOTE-CODE-NETWORK``; combined with environment or credential-file reads in
  the same file → ``REMOTE-CODE-ENV-EXFIL``;
- imports by computed name (``__import__``/``importlib.import_module`` with non-literal arguments,
  ``spec_from_file_location``, ``runpy``) → ``REMOTE-CODE-DYNAMIC-IMPORT``;
- deserialisers that run code (``pickle``/``marshal``/``dill``/``joblib`` loads, ``torch.load``
  without ``weights_only=True``, ``yaml.load`` without a safe loader, ``numpy.load(allow_pickle=True)``)
  → ``REMOTE-CODE-DESERIALIZE``;
- file writes to absolute or home paths (``~/.bashrc``, ``~/.ssh``, ``/etc``, site-packages) →
  ``REMOTE-CODE-FILE-WRITE``; native libraries via ``ctypes``/``cffi`` → ``REMOTE-CODE-NATIVE``.

Each finding carries line numbers and whether the call runs at import time (module or class body:
``from_pretrained`` runs it) or only when a function is called. Bandit (``bandit.core.manager``, run
on a temporary copy with ``# nosec`` ignored) adds its general checks as ``REMOTE-CODE-BANDIT`` with
the test id and CWE, deduplicated against the findings above by line.

The call-resolution walk (aliases, ``from x import y as z``, ``getattr(os, "system")``,
``__import__("os").system``) is hand-written: bandit reports per-call patterns but neither resolves
these indirections nor relates environment reads to network use, nor knows ML loaders.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from warden.errors import LimitExceeded
from warden.formats.interface import FormatScanner, ScanContext
from warden.report.model import Finding, Location, Severity
from warden.rules import Rule, rule

PYTHON_MALFORMED = rule(
    "PYTHON-MALFORMED",
    Severity.MEDIUM,
    "Python file does not parse",
    "The file is not valid Python for the interpreter Warden runs on, so it could not be analysed. "
    "Loaders on the same Python would fail to import it too, but it may be valid for a newer Python "
    "(new syntax), in which case it runs there unchecked. High when suspicious names appear in it.",
    "Review the file by hand or re-scan with a newer Python; do not load the model with "
    "trust_remote_code=True until it has been checked.",  # safe: remediation text, not a call
)
REMOTE_CODE_EXEC = rule(
    "REMOTE-CODE-EXEC",
    Severity.CRITICAL,
    "Model code executes processes or dynamic code",
    "The Python shipped with the model starts processes (os.system, subprocess, popen, exec*/spawn*) "
    "or executes code built at run time (eval/exec/compile, code objects), possibly decoded from an "
    "embedded blob. With trust_remote_code=True this runs on the loading machine.",  # safe: rule text, not a call
    "Do not load the model with trust_remote_code=True. Remove the call or replace the code with a "  # safe: text
    "native transformers architecture.",
)
REMOTE_CODE_NETWORK = rule(
    "REMOTE-CODE-NETWORK",
    Severity.HIGH,
    "Model code opens network connections",
    "The Python shipped with the model uses network clients (socket, urllib, requests, httpx, "
    "http.client, ftplib, smtplib ...). Modeling code needs none; it can download further code or "
    "send data out.",
    "Review where it connects and why; block network egress when loading untrusted models.",
)
REMOTE_CODE_ENV_EXFIL = rule(
    "REMOTE-CODE-ENV-EXFIL",
    Severity.CRITICAL,
    "Model code reads secrets and uses the network",
    "The same file reads environment variables or credential files (HF_TOKEN, ~/.ssh, ~/.aws ...) "
    "and opens network connections: the shape of credential exfiltration.",
    "Do not load the model; rotate any credentials present where it was loaded.",
)
REMOTE_CODE_DYNAMIC_IMPORT = rule(
    "REMOTE-CODE-DYNAMIC-IMPORT",
    Severity.HIGH,
    "Model code imports modules by computed name or from file paths",
    "__import__/importlib.import_module with a non-literal name, getattr on os/subprocess/builtins "
    "with a computed name, spec_from_file_location, runpy: what gets imported is decided at run time.",
    "Review the computed names; replace with plain imports.",
)
REMOTE_CODE_DESERIALIZE = rule(
    "REMOTE-CODE-DESERIALIZE",
    Severity.HIGH,
    "Model code uses a deserialiser that can run code",
    "pickle/marshal/dill/joblib loads, torch.load without weights_only=True, yaml.load without a safe "
    "loader or numpy.load(allow_pickle=True) execute code embedded in the data they read.",
    "Load tensors with safetensors, torch.load(weights_only=True) or yaml.safe_load.",  # safe: remediation text
)
REMOTE_CODE_FILE_WRITE = rule(
    "REMOTE-CODE-FILE-WRITE",
    Severity.MEDIUM,
    "Model code writes outside the model directory",
    "The code writes, moves or deletes files at absolute or home-directory paths. High for shell "
    "start-up files, SSH keys, cron, /etc and site-packages (.pth files run on every Python start).",
    "Review the written paths; run untrusted model code only in a disposable sandbox.",
)
REMOTE_CODE_NATIVE = rule(
    "REMOTE-CODE-NATIVE",
    Severity.HIGH,
    "Model code loads native libraries",
    "ctypes/cffi loading a shared library runs native code that no Python-level review covers.",
    "Find out which library is loaded and from where; prefer pure-PyTorch implementations.",
)
REMOTE_CODE_OBFUSCATED = rule(
    "REMOTE-CODE-OBFUSCATED",
    Severity.MEDIUM,
    "Model code decodes a large embedded blob",
    "A long base64/hex/compressed literal is decoded at run time. Legitimate modeling code has no "
    "reason to hide content this way.",
    "Decode the blob offline and review what it contains.",
)
REMOTE_CODE_BANDIT = rule(
    "REMOTE-CODE-BANDIT",
    Severity.MEDIUM,
    "Bandit reports a security issue in model code",
    "Bandit's general Python security checks flagged this line (test id and CWE in evidence).",
    "Review the line; see the Bandit documentation for the test id.",
)

# ---- vocabulary -----------------------------------------------------------------------------------

_EXEC_EXACT = {
    "os.system", "os.popen", "os.popen2", "os.popen3", "os.popen4", "os.startfile", "os.forkpty",
    "pty.spawn", "pty.fork", "commands.getoutput", "commands.getstatusoutput", "platform.popen",
    "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell", "pexpect.spawn", "pexpect.run",
}  # fmt: skip
_EXEC_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn")
_SUBPROCESS = {
    "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
    "subprocess.getoutput", "subprocess.getstatusoutput", "subprocess.Popen",
}  # fmt: skip
_CODE_CALLS = {
    "eval", "exec", "compile", "execfile", "builtins.eval", "builtins.exec", "builtins.compile",
    "types.CodeType", "types.FunctionType", "code.InteractiveInterpreter", "code.InteractiveConsole",
}  # fmt: skip
_IMPORT_BY_NAME = {"__import__", "builtins.__import__", "importlib.import_module", "importlib.__import__"}
_IMPORT_FROM_FILE = {
    "imp.load_source", "imp.load_module", "imp.load_compiled", "importlib.util.spec_from_file_location",
    "importlib.machinery.SourceFileLoader", "importlib.machinery.SourcelessFileLoader", "runpy.run_path",
    "runpy.run_module", "zipimport.zipimporter",
}  # fmt: skip
_DESERIALIZE = {
    "pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads", "_pickle.load",
    "_pickle.loads", "dill.load", "dill.loads", "cloudpickle.load", "cloudpickle.loads", "joblib.load",
    "marshal.load", "marshal.loads", "shelve.open", "jsonpickle.decode", "pandas.read_pickle",
    "yaml.unsafe_load", "yaml.full_load", "torch.load", "yaml.load", "numpy.load",
}  # fmt: skip
_NETWORK_PREFIXES = (
    "socket.", "urllib.request.", "urllib.urlopen", "urllib2.", "urllib3.", "requests.", "httpx.",
    "http.client.", "httplib.", "ftplib.", "smtplib.", "telnetlib.", "aiohttp.", "websocket.",
    "websockets.", "paramiko.", "pycurl.", "xmlrpc.client.", "poplib.", "imaplib.", "nntplib.",
)  # fmt: skip
_NATIVE = {"ctypes.CDLL", "ctypes.PyDLL", "ctypes.WinDLL", "ctypes.OleDLL", "ctypes.cdll.LoadLibrary",
           "ctypes.windll.LoadLibrary", "ctypes.pydll.LoadLibrary", "ctypes.util.find_library", "cffi.FFI"}  # fmt: skip
_DECODERS = (
    "base64.", "codecs.decode", "zlib.decompress", "bz2.decompress", "lzma.decompress", "gzip.decompress",
    "binascii.", "bytes.fromhex", "marshal.loads",
)  # fmt: skip
_WRITE_CALLS = {
    "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree", "shutil.move", "shutil.rmtree",
    "os.remove", "os.unlink", "os.rename", "os.replace", "os.chmod", "os.chown", "os.symlink", "os.link",
    "os.makedirs", "os.mkdir", "os.rmdir", "os.removedirs", "os.truncate",
}  # fmt: skip
_DANGEROUS_MODULES = {"os", "subprocess", "builtins", "sys", "importlib", "socket", "pty", "shutil", "ctypes"}
_SENSITIVE_PATH_RE = re.compile(
    r"\.bashrc|\.bash_profile|\.profile|\.zshrc|\.ssh|authorized_keys|id_rsa|id_ed25519|crontab|/etc/"
    r"|site-packages|dist-packages|sitecustomize|usercustomize|\.pth$|\.aws|\.netrc|\.git-credentials"
    r"|\.kube|\.docker/config|\.config/gcloud|\.huggingface|\.cache/huggingface/token|/var/spool/cron",
    re.IGNORECASE,
)
_SECRET_FILE_RE = re.compile(
    r"\.ssh|id_rsa|id_ed25519|\.aws/credentials|\.netrc|\.git-credentials|\.kube/config|\.docker/config"
    r"|\.huggingface/token|/etc/passwd|/etc/shadow|\.config/gcloud|\.pgpass|\.npmrc|\.pypirc",
    re.IGNORECASE,
)
_FALLBACK_RE = re.compile(
    r"\b(?:os\.system|os\.popen|subprocess|pty\.spawn|eval\s*\(|exec\s*\(|__import__|import_module|marshal\.loads"
    r"|pickle\.loads?|socket\.|urllib|requests\.|httpx\.|b64decode|ctypes|os\.environ|getenv)"
)
_BLOB_MIN = 512  # characters of an encoded literal worth a finding
# Bandit tests that are noise in modeling code (asserts, special-token strings taken for passwords,
# random numbers for augmentation, md5 for cache keys) or that the checks above already cover with better resolution.
_BANDIT_SKIP = {"B101", "B105", "B106", "B107", "B110", "B112", "B311", "B324", "B403", "B404"}


@dataclass(frozen=True)
class _Hit:
    rule: Rule
    severity: Severity
    line: int
    evidence: tuple[tuple[str, Any], ...]


class _Analysis:
    """Resolves names and walks the tree once (iteratively: deep expressions do not recurse here)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.aliases: dict[str, str] = {}
        self.parent: dict[int, ast.AST] = {}
        self.assigned: dict[str, list[ast.AST]] = {}
        self.hits: list[_Hit] = []
        self.env_lines: list[int] = []
        self.secret_lines: list[int] = []
        self.network_lines: list[int] = []

    # ---- setup ----

    def prepare(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases.setdefault(top, top)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name != "*":
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        self.assigned.setdefault(t.id, []).append(node.value)
                        q = self.qualname(node.value, depth=1)  # system = os.system
                        if (
                            q
                            and isinstance(node.value, (ast.Attribute, ast.Name))
                            and t.id not in self.aliases
                        ):
                            self.aliases[t.id] = q

    def qualname(self, node: ast.AST, depth: int = 0) -> str | None:
        if depth > 30:
            return None
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value, depth + 1)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            func = self.qualname(node.func, depth + 1)
            first = node.args[0] if node.args else None
            if func in _IMPORT_BY_NAME and isinstance(first, ast.Constant) and isinstance(first.value, str):
                return first.value
            if func == "getattr" and len(node.args) >= 2:
                name = node.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    base = self.qualname(node.args[0], depth + 1)
                    return f"{base}.{name.value}" if base else None
            if func in {"vars", "globals", "locals"}:
                return "builtins"
            return None
        if isinstance(node, ast.Subscript):  # os.__dict__['system'], __builtins__['exec']
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                value = node.value
                if isinstance(value, ast.Attribute) and value.attr == "__dict__":
                    base = self.qualname(value.value, depth + 1)
                    return f"{base}.{key.value}" if base else None
                base = self.qualname(value, depth + 1)
                if base in {"__builtins__", "builtins"}:
                    return key.value
        return None

    def at_import(self, node: ast.AST) -> bool:
        cur: ast.AST | None = node
        while cur is not None:
            if isinstance(cur, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return False
            cur = self.parent.get(id(cur))
        return True

    def add(self, rule_: Rule, node: ast.AST, severity: Severity | None = None, **evidence: Any) -> None:
        line = getattr(node, "lineno", 0) or 0
        evidence.setdefault("runs_at_import", self.at_import(node))
        self.hits.append(_Hit(rule_, severity or rule_.severity, line, tuple(sorted(evidence.items()))))

    # ---- the walk ----

    def run(self) -> None:
        self.prepare()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                self.call(node)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                if self.qualname(node) == "os.environ":
                    self.env_lines.append(node.lineno)
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _SECRET_FILE_RE.search(node.value)
            ):
                self.secret_lines.append(node.lineno)
        if self.network_lines and (self.env_lines or self.secret_lines):
            line = min(self.network_lines)
            self.hits.append(
                _Hit(
                    REMOTE_CODE_ENV_EXFIL,
                    Severity.CRITICAL,
                    line,
                    (
                        ("environment_reads", tuple(sorted(set(self.env_lines))[:20])),
                        ("network_lines", tuple(sorted(set(self.network_lines))[:20])),
                        ("secret_file_lines", tuple(sorted(set(self.secret_lines))[:20])),
                    ),
                )
            )

    def call(self, node: ast.Call) -> None:
        name = self.qualname(node.func)
        if not name:
            if isinstance(node.func, ast.Attribute) and node.func.attr in {"write_text", "write_bytes"}:
                self.file_write(node, node.func.value, f".{node.func.attr}")
            return
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        if name in _EXEC_EXACT or name in _SUBPROCESS or name.startswith(_EXEC_PREFIXES):
            shell = kwargs.get("shell")
            shell_true = isinstance(shell, ast.Constant) and shell.value is True
            self.add(REMOTE_CODE_EXEC, node, call=name, shell=shell_true, command=_literal(node.args[:1]))
            return
        if name in _CODE_CALLS:
            decoded = self.decoded_source(node.args[:1])
            literal = bool(node.args) and isinstance(node.args[0], ast.Constant)
            sev = Severity.CRITICAL if (decoded or not literal) else Severity.HIGH
            self.add(REMOTE_CODE_EXEC, node, sev, call=name, decoded_payload=decoded, literal_source=literal)
            return
        if name in _IMPORT_BY_NAME:
            if node.args and not isinstance(node.args[0], ast.Constant):
                self.add(
                    REMOTE_CODE_DYNAMIC_IMPORT, node, call=name, argument=ast.unparse(node.args[0])[:120]
                )
            return
        if name in _IMPORT_FROM_FILE:
            self.add(REMOTE_CODE_DYNAMIC_IMPORT, node, call=name, argument=_literal(node.args[:2]))
            return
        if name == "getattr" and len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant):
            base = self.qualname(node.args[0])
            if base and base.split(".")[0] in _DANGEROUS_MODULES:
                self.add(
                    REMOTE_CODE_DYNAMIC_IMPORT,
                    node,
                    call=f"getattr({base}, …)",
                    argument=ast.unparse(node.args[1])[:120],
                )
            return
        if name in _DESERIALIZE:
            self.deserialize(node, name, kwargs)
            return
        if name.startswith(_NETWORK_PREFIXES) or name in {"urllib.urlopen", "urllib.request"}:
            self.network_lines.append(node.lineno)
            self.add(REMOTE_CODE_NETWORK, node, call=name, target=_literal(node.args[:1]))
            return
        if name in _NATIVE or name.startswith(("ctypes.cdll.", "ctypes.windll.")):
            self.add(REMOTE_CODE_NATIVE, node, call=name, library=_literal(node.args[:1]))
            return
        if name in {"os.getenv", "os.environ.get", "os.getenvb"}:
            self.env_lines.append(node.lineno)
        if name.startswith(_DECODERS):
            self.blob(node, name)
        if name in {"open", "io.open", "builtins.open", "codecs.open"}:
            mode = node.args[1] if len(node.args) > 1 else kwargs.get("mode")
            if (
                isinstance(mode, ast.Constant)
                and isinstance(mode.value, str)
                and set(mode.value) & set("wax+")
            ):
                if node.args:
                    self.file_write(node, node.args[0], name, mode=mode.value)
            elif node.args:
                self.secret_read(node.args[0])
            return
        if name == "os.open" and len(node.args) >= 2:
            flags = {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
            if flags & {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}:
                self.file_write(node, node.args[0], name)
            return
        if name in _WRITE_CALLS and node.args:
            target = (
                node.args[1]
                if name.startswith(
                    ("shutil.copy", "shutil.move", "os.rename", "os.replace", "os.symlink", "os.link")
                )
                and len(node.args) > 1
                else node.args[0]
            )
            self.file_write(node, target, name)
            return
        if name.endswith((".write_text", ".write_bytes")) and isinstance(node.func, ast.Attribute):
            self.file_write(node, node.func.value, name)

    def deserialize(self, node: ast.Call, name: str, kwargs: Mapping[str, ast.AST]) -> None:
        if name == "torch.load":
            wo = kwargs.get("weights_only")
            if isinstance(wo, ast.Constant) and wo.value is True:
                return
            explicit_false = isinstance(wo, ast.Constant) and wo.value is False
            self.add(
                REMOTE_CODE_DESERIALIZE,
                node,
                Severity.HIGH if explicit_false else Severity.MEDIUM,
                call=name,
                weights_only="False" if explicit_false else "unset (defaults to True only on torch>=2.6)",
            )
            return
        if name == "yaml.load":
            loader = kwargs.get("Loader") or (node.args[1] if len(node.args) > 1 else None)
            lname = self.qualname(loader) if loader is not None else None
            if lname and lname.split(".")[-1] in {"SafeLoader", "CSafeLoader", "BaseLoader"}:
                return
            self.add(REMOTE_CODE_DESERIALIZE, node, call=name, loader=lname or "default")
            return
        if name == "numpy.load":
            ap = kwargs.get("allow_pickle")
            if not (isinstance(ap, ast.Constant) and ap.value is True):
                return
        self.add(REMOTE_CODE_DESERIALIZE, node, call=name)

    def decoded_source(self, args: list[ast.expr], depth: int = 0) -> bool:
        """Does the code argument come out of a decoder (directly or via a variable)?"""
        for arg in args:
            for sub in ast.walk(arg):
                if isinstance(sub, ast.Call):
                    q = self.qualname(sub.func)
                    if q and q.startswith(_DECODERS):
                        return True
                    if isinstance(sub.func, ast.Attribute) and sub.func.attr in {"decode", "decompress"}:
                        inner = (
                            self.qualname(sub.func.value) if isinstance(sub.func.value, ast.Call) else None
                        )
                        if inner and inner.startswith(_DECODERS):
                            return True
                if isinstance(sub, ast.Name) and depth < 4:
                    values = self.assigned.get(sub.id, [])[:8]
                    if values and self.decoded_source(values, depth + 1):  # type: ignore[arg-type]
                        return True
        return False

    def blob(self, node: ast.Call, name: str) -> None:
        for arg in node.args[:1]:
            values = [arg]
            if isinstance(arg, ast.Name):
                values = self.assigned.get(arg.id, [])[:4]  # type: ignore[assignment]
            for v in values:
                if (
                    isinstance(v, ast.Constant)
                    and isinstance(v.value, (str, bytes))
                    and len(v.value) >= _BLOB_MIN
                ):
                    self.add(REMOTE_CODE_OBFUSCATED, node, call=name, length=len(v.value))
                    return

    def path_kind(self, expr: ast.AST) -> tuple[str, list[str]] | None:
        strings = [
            n.value for n in ast.walk(expr) if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        calls = [self.qualname(n.func) or "" for n in ast.walk(expr) if isinstance(n, ast.Call)]
        subs = [
            n.slice.value
            for n in ast.walk(expr)
            if isinstance(n, ast.Subscript)
            and isinstance(n.slice, ast.Constant)
            and isinstance(n.slice.value, str)
        ]
        if any(_SENSITIVE_PATH_RE.search(s) for s in strings):
            return "sensitive", strings[:5]
        home = any(c.endswith(("expanduser", "Path.home", "expandvars")) for c in calls) or any(
            s.startswith("~") or s in {"HOME", "USERPROFILE", "APPDATA"} for s in strings + subs
        )
        if home:
            return "home", strings[:5]
        if any(s.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", s) for s in strings[:1]):
            return "absolute", strings[:5]
        return None

    def file_write(self, node: ast.Call, target: ast.AST, name: str, mode: str | None = None) -> None:
        kind = self.path_kind(target)
        if kind is None:
            return
        where, strings = kind
        sev = Severity.HIGH if where == "sensitive" else Severity.MEDIUM
        self.add(
            REMOTE_CODE_FILE_WRITE,
            node,
            sev,
            call=name,
            target=ast.unparse(target)[:160],
            path_kind=where,
            mode=mode,
        )

    def secret_read(self, target: ast.AST) -> None:
        for n in ast.walk(target):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and _SECRET_FILE_RE.search(n.value):
                self.secret_lines.append(n.lineno)


def _literal(args: list[ast.expr]) -> str | None:
    parts = []
    for a in args:
        try:
            parts.append(ast.unparse(a)[:160])
        except (ValueError, RecursionError):
            parts.append("…")
    return ", ".join(parts) if parts else None


# ---- bandit -----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _bandit_config() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bandit.core import config as b_config

        return b_config.BanditConfig()


def run_bandit(data: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """Bandit's issues for ``data`` (bandit needs a file: a temporary copy, ``# nosec`` ignored)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # stevedore's deprecation chatter while loading plugins
            from bandit.core import manager as b_manager
    except ImportError:
        return [], "bandit not installed"
    logger = logging.getLogger("bandit")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="warden-bandit-") as tmp:
            warnings.simplefilter("ignore")  # stevedore's deprecation chatter while loading plugins
            path = Path(tmp) / "module.py"
            path.write_bytes(data)
            mgr = b_manager.BanditManager(_bandit_config(), "file", quiet=True, ignore_nosec=True)
            mgr.discover_files([str(path)])
            mgr.run_tests()
            issues = mgr.get_issue_list()
            skipped = [reason for _, reason in mgr.get_skipped()]
    except Exception as exc:  # noqa: BLE001 - bandit is an extra signal; its failure must not hide ours
        return [], f"bandit failed: {type(exc).__name__}: {exc}"[:200]
    finally:
        logger.setLevel(level)
    out = []
    for issue in issues:
        cwe = getattr(getattr(issue, "cwe", None), "id", 0)
        out.append(
            {
                "test_id": issue.test_id,
                "test_name": issue.test,
                "severity": str(issue.severity),
                "confidence": str(issue.confidence),
                "cwe": f"CWE-{cwe}" if cwe else None,
                "text": issue.text,
                "line": issue.lineno,
            }
        )
    return out, ("; ".join(skipped) or None)


_BANDIT_SEVERITY = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
_DOWNGRADE = {Severity.HIGH: Severity.MEDIUM, Severity.MEDIUM: Severity.LOW, Severity.LOW: Severity.LOW}


# ---- scanner ----------------------------------------------------------------------------------------


def analyze_python(data: bytes, location: Location, *, bandit: bool = True) -> Iterator[Finding]:
    """Findings for one Python source file (bytes: ``ast.parse`` honours coding cookies and BOMs)."""
    try:
        tree = ast.parse(data, filename=location.display())
    except SyntaxError as exc:
        yield _malformed(data, location, exc.msg or "invalid syntax", exc.lineno)
        return
    except (ValueError, MemoryError, RecursionError) as exc:  # NUL bytes; absurd nesting
        yield _malformed(data, location, f"{type(exc).__name__}: {exc}"[:200], None)
        return
    analysis = _Analysis(tree)
    try:
        analysis.run()
    except RecursionError:
        raise LimitExceeded("Python source nested too deeply to analyse") from None
    seen: set[tuple[str, int, tuple[tuple[str, Any], ...]]] = set()
    own_lines: set[int] = set()
    for hit in sorted(analysis.hits, key=lambda h: (h.line, h.rule.id)):
        key = (hit.rule.id, hit.line, hit.evidence)
        if key in seen:
            continue
        seen.add(key)
        own_lines.add(hit.line)
        yield hit.rule(location.at(line=hit.line or None), dict(hit.evidence), severity=hit.severity)
    if not bandit:
        return
    issues, note = run_bandit(data)
    for issue in issues:
        if issue["test_id"] in _BANDIT_SKIP or issue["line"] in own_lines:
            continue
        severity = _BANDIT_SEVERITY.get(issue["severity"], Severity.LOW)
        if issue["confidence"] == "LOW":
            severity = _DOWNGRADE[severity]
        evidence = {k: v for k, v in issue.items() if k != "line"}
        yield REMOTE_CODE_BANDIT(location.at(line=issue["line"]), evidence, severity=severity)
    del note  # bandit skipping a file we parsed fine only means fewer extra signals


def _malformed(data: bytes, location: Location, message: str, line: int | None) -> Finding:
    text = data.decode("utf-8", "replace")
    suspicious: list[str] = []
    for lineno, content in enumerate(text.splitlines()[:200_000], start=1):
        for m in _FALLBACK_RE.finditer(content):
            suspicious.append(f"{lineno}: {m.group(0).strip()}")
            if len(suspicious) >= 20:
                break
        if len(suspicious) >= 20:
            break
    evidence: dict[str, Any] = {
        "error": message,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "note": "loaders on this Python fail to import it too; newer syntax may still run elsewhere",
    }
    if suspicious:
        evidence["suspicious_names"] = suspicious
    return PYTHON_MALFORMED(
        location.at(line=line) if line else location,
        evidence,
        severity=Severity.HIGH if suspicious else Severity.MEDIUM,
    )


class PythonSourceScanner(FormatScanner):
    name = "python"
    malformed_rule = PYTHON_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return PurePosixPath(name).name.lower().endswith((".py", ".pyw")) and b"\x00" not in head

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        limit = ctx.limits.max_text_file
        if size > limit:
            raise LimitExceeded(f"Python file is {size} bytes, limit {limit}", offset=limit)
        data = stream.read(limit + 1)
        yield from analyze_python(data, location)
