"""HDF5 files (Keras ``.h5`` models) and the Keras model-config checks shared with Keras v3 zips.

Keras stores the architecture as JSON: in ``.h5`` files in the root attributes ``model_config`` and
``training_config``, in ``.keras`` zips in ``config.json`` (see ``warden.formats.zipfile``). Loading
that JSON is where code runs: a ``Lambda`` layer carries marshalled Python bytecode (or names a Python
function to import), and any object whose ``module`` lies outside ``keras.*`` makes Keras import that
module (CVE-2024-3660, CVE-2025-1550). ``keras_config_findings`` walks the JSON *as data* — it never
unmarshals the bytecode or imports anything — and is shared by both containers.

The HDF5 container itself is parsed by h5py (the HDF5 C library: it reads structure, never runs a
payload) — in a child process, because libhdf5 segfaults and hangs on corrupted files (seen within a
few hundred random mutations of a Keras .h5): a crash becomes ``HDF5-PARSER-CRASH``, a hang
``SCAN-LIMIT-EXCEEDED``. Without h5py the file is reported as not checked (``HDF5-NOT-CHECKED``),
never passed silently. External links and external dataset storage (HDF5 pulling bytes from other
files on the loading machine) are reported too.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, Limits, ScanContext
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 allows a user block before the superblock: the signature sits at 0, 512, 1024, 2048, ...
_SIGNATURE_OFFSETS = (0, 512, 1024, 2048)
_MAX_WALK_NODES = 5_000_000  # JSON nodes visited in one Keras config
_MAX_STRINGS = 24  # printable strings quoted from one lambda's bytecode
_MAX_CODE_B64 = 16 * 2**20  # base64 bytecode decoded for evidence

HDF5_MALFORMED = rule(
    "HDF5-MALFORMED",
    Severity.MEDIUM,
    "Malformed HDF5 file",
    "The file starts with the HDF5 signature but the HDF5 library could not read it, so the model "
    "configuration it may carry was not checked.",
    "Do not load the file; re-export it from a trusted source.",
)
HDF5_NOT_CHECKED = rule(
    "HDF5-NOT-CHECKED",
    Severity.INFO,
    "HDF5 file not checked (h5py is not installed)",
    "The file is HDF5 (e.g. a Keras .h5 model) but h5py is missing, so its model configuration "
    "(Lambda layers, custom objects) could not be read.",
    "Install the keras extra (pip install 'warden[keras]') and scan again.",
)
HDF5_PARSER_CRASH = rule(
    "HDF5-PARSER-CRASH",
    Severity.HIGH,
    "HDF5 library crashed on this file",
    "The HDF5 C library (run isolated in a child process) crashed or was killed while opening the "
    "file. Loading it with h5py/Keras crashes the same way; memory corruption in a C parser can be "
    "exploitable, so the file may be crafted.",
    "Do not load the file; re-export the model from a trusted source.",
)
HDF5_EXTERNAL_REFERENCE = rule(
    "HDF5-EXTERNAL-REFERENCE",
    Severity.MEDIUM,
    "HDF5 file reads data from other files",
    "The file contains external links or datasets with external storage: opening them makes the "
    "HDF5 library read other files on the loading machine (possibly outside the model directory).",
    "Do not load the file unless every referenced file is part of the model and trusted.",
)
KERAS_LAMBDA_LAYER = rule(
    "KERAS-LAMBDA-LAYER",
    Severity.CRITICAL,
    "Keras model contains a Lambda function",
    "A Lambda (layer, activation, output_shape or mask) is stored in the model config. With "
    "marshalled bytecode, loading the model runs that code; with a function name, loading imports it.",
    "Do not load the model with safe_mode=False (or Keras 2/tf.keras). Rebuild the Lambda as a "
    "registered Layer subclass from reviewed source, or load only the weights into your own code.",
)
KERAS_CUSTOM_OBJECT = rule(
    "KERAS-CUSTOM-OBJECT",
    Severity.HIGH,
    "Keras model references code outside Keras",
    "An object in the model config names a Python module outside keras.* (or a registered custom "
    "object). Loading the model imports that module and calls into it (CVE-2025-1550 style).",
    "Review the referenced module and function; load only with custom_objects you control.",
)
KERAS_EXTERNAL_REFERENCE = rule(
    "KERAS-EXTERNAL-REFERENCE",
    Severity.HIGH,
    "Keras model config points at a file or URL",
    "A layer (e.g. StringLookup/TextVectorization vocabulary) names a path or URL that Keras reads "
    "or downloads while loading the model: local files can leak into the model, URLs are fetched.",
    "Ship vocabularies inside the model; do not load configs that point outside the model.",
)
KERAS_CONFIG_UNREADABLE = rule(
    "KERAS-CONFIG-UNREADABLE",
    Severity.MEDIUM,
    "Keras model config could not be read",
    "The model config is not valid JSON or exceeds the size limit, so Lambda layers and custom "
    "objects in it were not checked.",
    "Do not load the model until its config parses and scans cleanly.",
)

# Modules whose import by a config is an immediate code-execution primitive.
_DANGEROUS_MODULES = {
    "os",
    "posix",
    "nt",
    "subprocess",
    "builtins",
    "__builtin__",
    "sys",
    "shutil",
    "importlib",
    "runpy",
    "code",
    "codeop",
    "pickle",
    "_pickle",
    "marshal",
    "ctypes",
    "socket",
    "pty",
    "webbrowser",
    "pydoc",
    "multiprocessing",
    "commands",
    "platform",
    "types",
    "operator",
    "functools",
    "urllib",
    "requests",
    "http",
    "ftplib",
    "smtplib",
    "tempfile",
    "io",
    "asyncio",
}
# Functions inside keras itself that configs have abused (file download, turning safe_mode off).
_KERAS_GADGETS = {"get_file", "enable_unsafe_deserialization", "load_model", "load_weights", "save_model"}
# Known Keras ecosystem packages: importing them is expected, the finding is informative.
_KERAS_ECOSYSTEM = {"keras_hub", "keras_nlp", "keras_cv", "keras_rs", "tf_keras", "tensorflow"}
_PATHLIKE_KEYS = {"vocabulary", "vocabulary_file", "vocabulary_path", "filepath", "file_path", "origin"}
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{3,}")


def keras_config_findings(
    raw: bytes | str, location: Location, limits: Limits, *, container: str, source: str
) -> Iterator[Finding]:
    """Parse a Keras model config (JSON) and yield Lambda / custom-object / external-file findings.

    ``container`` is ``"keras"`` (v3 zip: safe_mode applies) or ``"h5"`` (legacy HDF5); ``source``
    names where the JSON came from (``config.json``, ``model_config``) and goes into the evidence."""
    if len(raw) > limits.max_json_header:
        error = f"config is {len(raw)} bytes, over max_json_header={limits.max_json_header}"
        yield KERAS_CONFIG_UNREADABLE(location, {"source": source, "error": error})
        return
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, huge ints, deep nesting
        yield KERAS_CONFIG_UNREADABLE(
            location, {"source": source, "error": f"{type(exc).__name__}: {exc}"[:300]}
        )
        return
    for finding in _walk_keras(config, location, container):
        yield dataclasses.replace(finding, evidence=_clean({"source": source, **finding.evidence}))


def _clean(value: Any) -> Any:
    """Evidence from untrusted JSON: strings capped and made encodable (JSON allows lone surrogates)."""
    if isinstance(value, str):
        return value[:500].encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _safe_mode_hint(container: str) -> str:
    if container == "keras":
        return (
            "Keras 3 refuses lambda bytecode under safe_mode=True (the default); it runs with "
            "safe_mode=False or after keras.config.enable_unsafe_deserialization()."
        )
    return (
        "Legacy .h5 loading: Keras 2 / tf.keras run the bytecode on load; Keras 3 before 3.11.3 "
        "ignored safe_mode for .h5 (CVE-2025-9905)."
    )


def _walk_keras(config: Any, location: Location, container: str) -> Iterator[Finding]:
    stack: list[tuple[Any, str]] = [(config, "")]
    reported: set[int] = set()  # id() of function dicts already reported as part of a Lambda layer
    visited = 0
    while stack:
        node, path = stack.pop()
        visited += 1
        if visited > _MAX_WALK_NODES:
            yield KERAS_CONFIG_UNREADABLE(
                location, {"error": f"config has more than {_MAX_WALK_NODES} nodes"}
            )
            return
        if isinstance(node, list):
            stack.extend((child, f"{path}/{i}") for i, child in reversed(list(enumerate(node))))
            continue
        if not isinstance(node, dict):
            continue
        class_name = node.get("class_name")
        if class_name == "Lambda" and isinstance(node.get("config"), dict):
            yield from _lambda_layer(node, path, location, container, reported)
        elif class_name == "__lambda__" and id(node) not in reported:
            reported.add(id(node))
            evidence = {"path": path or "/", "kind": "bytecode", **_code_evidence(node.get("config"))}
            evidence["safe_mode"] = _safe_mode_hint(container)
            yield KERAS_LAMBDA_LAYER(location, evidence, severity=Severity.CRITICAL)
        if isinstance(class_name, str) and id(node) not in reported:
            finding = _custom_object(node, class_name, path, location)
            if finding is not None:
                yield finding
        cfg = node.get("config")
        if isinstance(class_name, str) and isinstance(cfg, dict):
            for key in sorted(_PATHLIKE_KEYS & cfg.keys()):
                value = cfg[key]
                if isinstance(value, str) and _looks_like_path(value):
                    yield KERAS_EXTERNAL_REFERENCE(
                        location,
                        {"path": path or "/", "class_name": class_name, "key": key, "value": value[:300]},
                    )
        stack.extend((child, f"{path}/{key}") for key, child in reversed(list(node.items())))


def _lambda_layer(
    node: dict[str, Any], path: str, location: Location, container: str, reported: set[int]
) -> Iterator[Finding]:
    cfg = node["config"]
    fn = cfg.get("function")
    evidence: dict[str, Any] = {"path": path or "/", "layer": str(cfg.get("name", ""))[:200]}
    code: Any = None
    if isinstance(
        fn, dict
    ):  # Keras 3: {"class_name": "__lambda__", "config": {"code": ...}} or a function ref
        reported.add(id(fn))
        if fn.get("class_name") == "__lambda__":
            code = fn.get("config")
        else:
            evidence.update(
                {
                    "module": str(fn.get("module"))[:200],
                    "function": str(fn.get("config") or fn.get("class_name"))[:200],
                }
            )
    elif isinstance(fn, list) and fn and isinstance(fn[0], str):  # Keras 2: [b64 code, defaults, closure]
        code = fn
    elif isinstance(fn, str):  # Keras 2: function_type "lambda" (code) or "function" (a name)
        if cfg.get("function_type") == "lambda":
            code = fn
        else:
            evidence.update({"module": str(cfg.get("module"))[:200], "function": fn[:200]})
    evidence["safe_mode"] = _safe_mode_hint(container)
    if code is not None:
        evidence.update({"kind": "bytecode", **_code_evidence(code)})
        yield KERAS_LAMBDA_LAYER(location, evidence, severity=Severity.CRITICAL)
    else:
        evidence["kind"] = "named function" if "function" in evidence else "unknown"
        yield KERAS_LAMBDA_LAYER(
            location,
            evidence,
            severity=Severity.HIGH,
            title="Keras Lambda layer calls a named Python function",
        )


def _code_evidence(code: Any) -> dict[str, Any]:
    """Digest and printable strings of the marshalled bytecode, read as bytes (never unmarshalled)."""
    if isinstance(code, dict):
        code = code.get("code", code.get("value"))
    if isinstance(code, list) and code:
        code = code[0]
    if not isinstance(code, str):
        return {"code": "not a string"}
    text = code[:_MAX_CODE_B64]
    try:
        blob = base64.b64decode(text.encode("ascii", "replace"), validate=False)
    except (binascii.Error, ValueError):
        return {"code_chars": len(code), "code": "not base64"}
    strings = [s.decode("ascii") for s in _PRINTABLE_RUN.findall(blob)[:_MAX_STRINGS]]
    return {"code_bytes": len(blob), "code_sha256": hashlib.sha256(blob).hexdigest(), "code_strings": strings}


def _custom_object(node: dict[str, Any], class_name: str, path: str, location: Location) -> Finding | None:
    module = node.get("module")
    registered = node.get("registered_name")
    module_str = module if isinstance(module, str) else ""
    top = module_str.split(".", 1)[0]
    keras_module = module is None or top == "keras"
    registered_custom = (
        isinstance(registered, str)
        and ">" in registered
        and not registered.split(">", 1)[0].startswith("keras")
    )
    evidence = {"path": path or "/", "class_name": class_name[:200], "module": module_str[:200]}
    if isinstance(registered, str):
        evidence["registered_name"] = registered[:200]
    target = node.get("config") if class_name == "function" else class_name
    if keras_module:
        if class_name == "function" and isinstance(target, str) and target in _KERAS_GADGETS:
            evidence["function"] = target
            return KERAS_CUSTOM_OBJECT(
                location,
                evidence,
                severity=Severity.CRITICAL,
                title="Keras config calls a dangerous Keras function",
            )
        if not registered_custom:
            return None
        return KERAS_CUSTOM_OBJECT(location, evidence)
    if top in _DANGEROUS_MODULES:
        evidence["function"] = str(target)[:200]
        return KERAS_CUSTOM_OBJECT(
            location, evidence, severity=Severity.CRITICAL, title=f"Keras config imports from {top!r}"
        )
    if top in _KERAS_ECOSYSTEM:
        return KERAS_CUSTOM_OBJECT(location, evidence, severity=Severity.LOW)
    return KERAS_CUSTOM_OBJECT(location, evidence)


def _looks_like_path(value: str) -> bool:
    v = value.strip()
    return (
        "://" in v
        or v.startswith(("/", "~", "\\", ".."))
        or bool(re.match(r"^[A-Za-z]:[\\/]", v))
        or "/" in v
    )


class HDF5Scanner(FormatScanner):
    name = "hdf5"
    malformed_rule = HDF5_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return any(head[off : off + 8] == HDF5_SIGNATURE for off in _SIGNATURE_OFFSETS)

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        if importlib.util.find_spec("h5py") is None:
            yield HDF5_NOT_CHECKED(location, {"reason": "h5py is not installed"})
            return
        result = _inspect_isolated(stream, size, ctx.limits)
        if "crash" in result:
            yield HDF5_PARSER_CRASH(location, {"signal": result["crash"], "stderr": result.get("stderr", "")})
            return
        if result.get("missing"):
            yield HDF5_NOT_CHECKED(location, {"reason": "h5py cannot be imported in a child process"})
            return
        if "open_error" in result:
            raise FormatError(f"HDF5 library cannot open the file: {result['open_error']}", offset=0)
        for key in ("model_config", "training_config"):
            value = result["attrs"].get(key)
            if isinstance(value, int):
                error = f"{value} bytes, over max_json_header={ctx.limits.max_json_header}"
                yield KERAS_CONFIG_UNREADABLE(location, {"source": key, "error": error})
            elif isinstance(value, str):
                yield from keras_config_findings(value, location, ctx.limits, container="h5", source=key)
        for ref in result["refs"]:
            yield HDF5_EXTERNAL_REFERENCE(location, ref)
        if "error" in result:
            raise FormatError(f"HDF5 object tree unreadable: {result['error']}")


# The HDF5 C library crashes (SIGSEGV) and hangs on corrupted files — measured with mutated Keras
# .h5 files — so h5py never runs in the scanner's process: a child process opens the file read-only,
# reads the two root attributes (size-capped) and walks links, and prints JSON. The parent enforces a
# timeout; the child caps its own address space and CPU time.
CHILD_TIMEOUT_S = 60.0
CHILD_MEMORY = 4 * 2**30
_CHILD = r"""
import json, sys
path, cap, max_objects, memory, cpu = sys.argv[1], *map(int, sys.argv[2:6])
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
except (ImportError, ValueError, OSError):
    pass
try:
    import h5py
except ImportError:
    sys.stdout.write(json.dumps({"missing": True}))
    sys.exit(0)
out = {"attrs": {}, "refs": []}
try:
    h5 = h5py.File(path, "r")
except Exception as exc:
    out["open_error"] = f"{type(exc).__name__}: {exc}"[:300]
    sys.stdout.write(json.dumps(out))
    sys.exit(0)
try:
    for key in ("model_config", "training_config"):
        if key not in h5.attrs:
            continue
        stored = h5.attrs.get_id(key).get_storage_size()
        if stored > cap:
            out["attrs"][key] = int(stored)
            continue
        value = h5.attrs[key]
        if hasattr(value, "dtype") and value.dtype.kind == "S":
            value = value.tobytes()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        value = value if isinstance(value, str) else str(value)
        out["attrs"][key] = value if len(value) <= cap else len(value)
    stack, walked, seen = [h5], {h5.id}, 0
    while stack:
        group = stack.pop()
        for name in group:
            seen += 1
            if seen > max_objects:
                out["refs"].append({"object": group.name, "problem": f"more than {max_objects} objects; walk stopped"})
                stack = []
                break
            link = group.get(name, getlink=True)
            path_ = group.name.rstrip("/") + "/" + name
            if isinstance(link, h5py.ExternalLink):
                out["refs"].append({"object": path_, "kind": "external link", "file": str(link.filename)[:300],
                                    "target": str(link.path)[:300]})
                continue
            if isinstance(link, h5py.SoftLink):
                continue
            obj = group.get(name)
            if isinstance(obj, h5py.Group) and obj.id not in walked:
                walked.add(obj.id)
                stack.append(obj)
            elif isinstance(obj, h5py.Dataset) and obj.external:
                files = [str(entry[0])[:300] for entry in obj.external[:8]]
                out["refs"].append({"object": path_, "kind": "external dataset storage", "files": files})
except Exception as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"[:300]
sys.stdout.write(json.dumps(out))
"""


def _inspect_isolated(stream: BinaryIO, size: int, limits: Limits) -> dict[str, Any]:
    """Run ``_CHILD`` on the file behind ``stream`` (copied to a temp file when it is a member of
    an archive) and return its JSON answer, or {"crash": signal} if the HDF5 library crashed."""
    path = getattr(stream, "name", None)
    on_disk = isinstance(stream, io.BufferedReader) and isinstance(path, str) and os.path.isfile(path)
    tmp: str | None = None
    try:
        if not on_disk or os.path.getsize(str(path)) != size:
            fd, tmp = tempfile.mkstemp(prefix="warden-h5-", suffix=".h5")
            with os.fdopen(fd, "wb") as out:
                stream.seek(0)
                shutil.copyfileobj(stream, out, 1 << 20)
            path = tmp
        cmd = [
            sys.executable,
            "-c",
            _CHILD,
            str(path),
            str(limits.max_json_header),
            str(limits.max_members),
            str(CHILD_MEMORY),
            str(int(CHILD_TIMEOUT_S) + 1),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=CHILD_TIMEOUT_S, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise LimitExceeded(
                f"HDF5 library did not finish within {CHILD_TIMEOUT_S:g} s", offset=0
            ) from None
    finally:
        if tmp is not None:
            os.unlink(tmp)
    stderr = proc.stderr.decode("utf-8", "replace")[-500:]
    if proc.returncode != 0:
        signal = -proc.returncode if proc.returncode < 0 else None
        return {"crash": signal if signal is not None else f"exit status {proc.returncode}", "stderr": stderr}
    try:
        answer: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        return {"crash": "unreadable answer", "stderr": stderr}
    answer.setdefault("attrs", {})
    answer.setdefault("refs", [])
    return answer
