"""TorchScript archives (``torch.jit.save``): judged by what their code can reach, not by being one.

A TorchScript zip holds ``data.pkl`` / ``constants.pkl`` / ``*.debug_pkl`` pickles and the model's
code as TorchScript source under ``code/``. ``torch.load`` recognises the archive by its
``constants.pkl`` record and hands it to ``torch.jit.load``, whose C++ unpickler resolves only its
own globals: ``__torch__.*`` classes come from the archive's compilation unit, ``torch.jit._pickle``
builders make lists and tensors, ``torch._utils`` rebuilders make tensors; no Python import happens.
So those globals are not imports in the Python sense (``TORCHSCRIPT_RESOLVED``), and every other
global in such a pickle keeps the verdict the pickle policy gives it.

What the model runs is the code. TorchScript cannot import Python modules; it calls registered
operators (``torch.<op>``, ``ops.<namespace>.<op>``) and registered C++ classes
(``__torch__.torch.classes.<ns>.<cls>``). The code files are parsed with :mod:`ast` (never compiled
or run) and every operator reference is judged: operators that read or write files or load native
code (``from_file``, ``save``, ``load``, ``_load_for_mobile``, ``load_library``...) are critical;
operators outside the built-in namespaces (custom ops a native library registered) and custom classes
are medium (they run native code the loading process already has, chosen by name); everything else is
the plain tensor math every model has, reported once as a low-severity summary.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from warden.report.model import Finding, Location, Severity
from warden.rules import rule

__all__ = [
    "TORCHSCRIPT_CODE",
    "TORCHSCRIPT_CUSTOM_OP",
    "TORCHSCRIPT_FILE_OP",
    "TorchScriptRefs",
    "is_torchscript_resolved",
    "torchscript_code_refs",
    "torchscript_findings",
]

TORCHSCRIPT_CODE = rule(
    "TORCHSCRIPT-CODE",
    Severity.LOW,
    "TorchScript archive: model code runs on load",
    "The archive carries TorchScript code that torch.jit.load compiles and the model runs. Its "
    "operator references were checked and are built-in tensor operations only.",
    "Prefer a weights-only export (safetensors) when the code is not needed.",
)
TORCHSCRIPT_FILE_OP = rule(
    "TORCHSCRIPT-FILE-OP",
    Severity.CRITICAL,
    "TorchScript code calls an operator that touches files or loads code",
    "The TorchScript code references an operator that reads or writes files, loads another archive "
    "or loads a native library (torch.from_file, torch.save, torch.ops.load_library...). Running the "
    "model does that on the loading machine.",
    "Do not load the archive. Ask for weights as safetensors and review the model code.",
)
TORCHSCRIPT_CUSTOM_OP = rule(
    "TORCHSCRIPT-CUSTOM-OP",
    Severity.MEDIUM,
    "TorchScript code calls a custom operator or class",
    "The code references an operator outside torch's built-in namespaces or a custom C++ class. It "
    "runs whatever native code registered that name in the loading process.",
    "Find out which native library provides the operator and review it before loading the model.",
)

# Namespaces of torch's own operators (aten, prim and friends are registered by libtorch itself).
_BUILTIN_NAMESPACES = frozenset(
    {"aten", "prim", "quantized", "_quantized", "sparse", "_caffe2", "quantized_decomposed",
     "profiler", "cuda", "mkldnn", "mkldnn_prepacked", "_test", "onednn", "xnnpack", "rngprims",
     "higher_order", "inductor", "fbgemm", "torchvision", "image"}
)  # fmt: skip
# Operator names (the last component, any namespace) that touch the file system or load code.
_FILE_OPS = frozenset(
    {"from_file", "save", "load", "_load_for_mobile", "load_library", "_save_for_mobile",
     "_save_parameters", "_load_parameters", "_import_ir_module_from_package", "_jit_load",
     "import_ir_module", "import_ir_module_from_buffer", "_load_for_lite_interpreter", "system",
     "popen", "open"}
)  # fmt: skip
# Globals the TorchScript C++ unpickler resolves itself (torch/csrc/jit/serialization/unpickler.cpp).
_TS_PICKLE = frozenset(
    {"build_tensor_from_id", "restore_type_tag", "build_intlist", "build_tensorlist",
     "build_doublelist", "build_boollist"}
)  # fmt: skip
_MAX_CODE = 8 << 20
_MAX_REFS = 50


def is_torchscript_resolved(module: str, name: str) -> bool:
    """A global that torch.jit.load's unpickler resolves without importing Python."""
    if module == "torch.jit._pickle":
        return name in _TS_PICKLE
    if module == "__torch__" or module.startswith("__torch__."):
        # classes of the archive's own compilation unit; custom C++ classes are judged from the code
        dunder = name.startswith("__") and name.endswith("__")
        return not module.startswith("__torch__.torch.classes") and not dunder
    return False


@dataclass(frozen=True)
class TorchScriptRefs:
    """Operator references found in one code file: (dotted name, line)."""

    file_ops: tuple[tuple[str, int], ...]
    custom: tuple[tuple[str, int], ...]
    builtin: int
    error: str | None = None


def torchscript_code_refs(source: bytes) -> TorchScriptRefs:
    """Parse a TorchScript code file and classify every ``torch.*`` / ``ops.*`` reference."""
    if len(source) > _MAX_CODE:
        return TorchScriptRefs((), (), 0, f"code file over {_MAX_CODE} bytes: not parsed")
    try:
        tree = ast.parse(source.decode("utf-8", "replace"))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return TorchScriptRefs((), (), 0, f"not parseable: {type(exc).__name__}")
    file_ops: list[tuple[str, int]] = []
    custom: list[tuple[str, int]] = []
    builtin = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parts = _dotted(node)
        if parts is None:
            continue
        line = getattr(node, "lineno", 0)
        kind = _classify(parts)
        if kind == "file":
            file_ops.append((".".join(parts), line))
        elif kind == "custom":
            custom.append((".".join(parts), line))
        elif kind == "builtin":
            builtin += 1
    # an attribute chain is visited at each level; keep the longest spelling per line
    return TorchScriptRefs(_longest(file_ops), _longest(custom), builtin)


def _dotted(node: ast.Attribute) -> list[str] | None:
    parts: list[str] = []
    cur: ast.expr = node
    while isinstance(cur, ast.Attribute):
        parts.append(cur.attr)
        cur = cur.value
    if not isinstance(cur, ast.Name):
        return None
    parts.append(cur.id)
    return parts[::-1]


def _classify(parts: list[str]) -> str | None:
    if parts[0] == "torch" and len(parts) >= 2:
        if parts[1] == "ops" and len(parts) >= 3:
            return _classify(parts[1:])
        if parts[1] == "classes":
            return "custom"
        return "file" if parts[-1] in _FILE_OPS else "builtin"
    if parts[0] == "ops" and len(parts) >= 2:
        if parts[1] == "load_library" or parts[-1] in _FILE_OPS:
            return "file"
        if len(parts) >= 3:
            return "builtin" if parts[1] in _BUILTIN_NAMESPACES else "custom"
    if parts[0] == "__torch__" and len(parts) >= 3 and parts[1:3] == ["torch", "classes"]:
        return "custom"
    return None


def _longest(refs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    best: dict[int, str] = {}
    for name, line in refs:
        if len(name) > len(best.get(line, "")):
            best[line] = name
    return tuple((name, line) for line, name in sorted(best.items()))


def torchscript_findings(
    files: list[tuple[str, TorchScriptRefs]], location: Location, archive: str
) -> Iterator[Finding]:
    """Findings for the code files of one TorchScript archive."""
    n_builtin = 0
    flagged = False
    unparsed: list[str] = []
    for name, refs in files:
        loc = location.child(name)
        n_builtin += refs.builtin
        if refs.error is not None:
            unparsed.append(f"{name}: {refs.error}")
        flagged = flagged or bool(refs.file_ops or refs.custom)
        for op, line in refs.file_ops[:_MAX_REFS]:
            yield TORCHSCRIPT_FILE_OP(
                loc.at(line=line),
                {"operator": op, "archive": archive},
                title=f"{TORCHSCRIPT_FILE_OP.title}: {op}",
            )
        for op, line in refs.custom[:_MAX_REFS]:
            yield TORCHSCRIPT_CUSTOM_OP(
                loc.at(line=line),
                {"operator": op, "archive": archive},
                title=f"{TORCHSCRIPT_CUSTOM_OP.title}: {op}",
            )
    evidence = {"archive": archive, "code_files": len(files), "builtin_op_refs": n_builtin}
    if unparsed:
        evidence["not_parsed"] = unparsed[:_MAX_REFS]
        yield TORCHSCRIPT_CODE(
            location,
            evidence,
            severity=Severity.HIGH,
            title="TorchScript code that could not be checked",
        )
    elif not flagged:
        yield TORCHSCRIPT_CODE(location, evidence)
