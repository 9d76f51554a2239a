"""ONNX models (``.onnx``): a protobuf ``ModelProto`` with no magic bytes.

The model is parsed with the ``onnx`` package (``ModelProto.ParseFromString``: pure protobuf, no
operator is loaded or run; external data is never read). Checks:

- tensors whose ``external_data`` location is absolute or climbs out of the model directory
  (``onnx.load`` and runtimes open that path: CVE-2022-25882, CVE-2024-27318), or resolves outside it
  through a symlink — and locations that point at files that are not there;
- operators from non-standard domains, which need a native custom-op library registered with the
  runtime (``register_custom_ops_library``) — unless a model-local function defines them;
- the same inside model-local functions and control-flow subgraphs.

What is hand-written: only the sniff. With no magic, a stream is taken for ONNX when it starts with
field 1 (``ir_version``, tag 0x08) followed by plausible ``ModelProto`` fields, a bounded walk over
the first bytes; the ``.onnx`` name is enough once the first field fits.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.interface import FormatScanner, ScanContext
from warden.formats.zipfile import escapes_root
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "com.microsoft"})
_PROTOBUF_MAX = 2**31 - 1  # protobuf cannot encode a larger message
_MAX_SUBGRAPH_DEPTH = 64
_MAX_LISTED = 50
# ModelProto field number → protobuf wire type (0 varint, 2 length-delimited).
_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2}

ONNX_MALFORMED = rule(
    "ONNX-MALFORMED",
    Severity.MEDIUM,
    "Malformed ONNX model",
    "The file looks like an ONNX model but does not parse as a ModelProto, so it was not checked.",
    "Do not load the model; re-export it from a trusted source.",
)
ONNX_NOT_CHECKED = rule(
    "ONNX-NOT-CHECKED",
    Severity.INFO,
    "ONNX model not checked (onnx is not installed)",
    "The file looks like an ONNX model but the onnx package is missing, so its external data and "
    "operator domains could not be checked.",
    "Install onnx and scan again.",
)
ONNX_EXTERNAL_DATA_ESCAPE = rule(
    "ONNX-EXTERNAL-DATA-ESCAPE",
    Severity.HIGH,
    "ONNX external data points outside the model directory",
    "A tensor's external_data location is absolute, climbs with '..' or resolves through a symlink "
    "to a file outside the model directory: loading the model reads that file (e.g. /etc/passwd "
    "or credentials) into a tensor.",
    "Do not load the model; external data must be files next to the model.",
)
ONNX_EXTERNAL_DATA_MISSING = rule(
    "ONNX-EXTERNAL-DATA-MISSING",
    Severity.MEDIUM,
    "ONNX external data file is missing or too short",
    "A tensor's external data file does not exist in the model directory, or is shorter than the "
    "offset/length it names: the model cannot load as shipped, and whatever file appears there later "
    "will be read.",
    "Ship every external data file with the model.",
)
ONNX_CUSTOM_OP_DOMAIN = rule(
    "ONNX-CUSTOM-OP-DOMAIN",
    Severity.MEDIUM,
    "ONNX model uses operators from a non-standard domain",
    "Nodes use a custom operator domain. Running them needs a native custom-op library registered "
    "with the runtime (register_custom_ops_library), i.e. native code from outside the model.",
    "Find out which library implements the domain and review it before registering it.",
)


def _varint(buf: bytes, pos: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < len(buf) and shift < 64:
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None


def looks_like_model_proto(head: bytes, named_onnx: bool) -> bool:
    """Bounded structural sniff of a serialized ModelProto."""
    if len(head) < 2 or head[0] != 0x08:
        return False
    first = _varint(head, 1)
    if first is None or not 1 <= first[0] <= 64:
        return False
    if named_onnx:
        return True
    pos, seen = first[1], {1}
    while pos < len(head):
        tag = _varint(head, pos)
        if tag is None:
            return False
        field, wire = tag[0] >> 3, tag[0] & 7
        if _MODEL_FIELDS.get(field) != wire:
            return False
        pos = tag[1]
        value = _varint(head, pos)
        if value is None:
            break  # cut by the head: fine
        pos = value[1] + (value[0] if wire == 2 else 0)
        seen.add(field)
        if field == 7:
            break  # the graph runs past the head; what came before fits
    return bool(seen & {7, 8})


class OnnxScanner(FormatScanner):
    name = "onnx"
    malformed_rule = ONNX_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        return looks_like_model_proto(head, name.lower().endswith(".onnx"))

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        try:
            import onnx
            from google.protobuf.message import DecodeError
        except ImportError:
            yield ONNX_NOT_CHECKED(location, {"reason": "onnx is not installed"})
            return
        cap = min(_PROTOBUF_MAX, ctx.limits.max_member_size)
        if size > cap:
            raise LimitExceeded(f"ONNX model is {size} bytes; a protobuf message is at most {cap}", offset=0)
        data = stream.read(size)
        model = onnx.ModelProto()
        try:
            model.ParseFromString(data)
        except (DecodeError, ValueError, RuntimeError) as exc:
            raise FormatError(f"not a valid ONNX ModelProto: {exc}"[:300], offset=0) from None
        del data
        walk = _Walk(onnx)
        walk.model(model)
        yield from self._external(walk.external, location, ctx)
        local_functions = {(_text(f.domain), _text(f.name)) for f in model.functions}
        opsets = {_text(o.domain): o.version for o in model.opset_import}
        for domain in sorted(walk.ops):
            if domain in STANDARD_DOMAINS:
                continue
            ops = walk.ops[domain]
            native = sorted(op for op in ops if (domain, op) not in local_functions)
            if not native:
                continue  # every op in this domain is a function defined inside the model
            yield ONNX_CUSTOM_OP_DOMAIN(
                location,
                {
                    "domain": domain,
                    "op_types": native[:_MAX_LISTED],
                    "nodes": sum(ops[o] for o in native),
                    "opset_version": opsets.get(domain),
                    "where": sorted(walk.where[domain])[:10],
                },
            )

    def _external(
        self, refs: dict[str, tuple[list[str], int]], location: Location, ctx: ScanContext
    ) -> Iterator[Finding]:
        model_dir = _model_dir(ctx, location)
        for loc_str, (tensors, need) in sorted(refs.items()):
            evidence: dict[str, Any] = {"location": loc_str, "tensors": tensors}
            norm = loc_str.replace("\\", "/")
            if (
                not loc_str
                or norm.startswith("/")
                or re.match(r"^[A-Za-z]:", norm)
                or "://" in norm
                or escapes_root(norm)
                or "\x00" in loc_str
            ):
                yield ONNX_EXTERNAL_DATA_ESCAPE(location, {**evidence, "reason": "absolute or escaping path"})
                continue
            if model_dir is None:
                continue  # a member of an archive: no directory to check against
            target = model_dir / norm
            real_dir = os.path.realpath(model_dir)
            real = os.path.realpath(target)
            if os.path.commonpath([real_dir, real]) != real_dir:
                yield ONNX_EXTERNAL_DATA_ESCAPE(
                    location, {**evidence, "reason": "resolves outside the model directory", "resolved": real}
                )
                continue
            if not os.path.isfile(real):
                yield ONNX_EXTERNAL_DATA_MISSING(location, {**evidence, "reason": "file not found"})
                continue
            actual = os.path.getsize(real)
            if need > actual:
                yield ONNX_EXTERNAL_DATA_MISSING(
                    location,
                    {**evidence, "reason": f"offset+length {need} is past the end of the {actual}-byte file"},
                )


def _model_dir(ctx: ScanContext, location: Location) -> Path | None:
    if ctx.root is None or location.member:
        return None
    root = Path(ctx.root)
    if root.is_file():
        return root.parent
    return (root / location.file).parent


class _Walk:
    """Collects operator domains and external-data references across the graph, its subgraphs
    and model-local functions."""

    def __init__(self, onnx_mod: Any) -> None:
        self.onnx = onnx_mod
        self.ops: dict[str, dict[str, int]] = {}
        self.where: dict[str, set[str]] = {}
        self.external: dict[str, tuple[list[str], int]] = {}  # location → (tensor names, bytes needed)

    def model(self, model: Any) -> None:
        self.graph(model.graph, "graph", 0)
        for fn in model.functions:
            where = f"function {_text(fn.domain)}:{_text(fn.name)}"
            self.nodes(fn.node, where, 0)
            for attr in fn.attribute_proto:
                self.attribute(attr, where, 0)

    def graph(self, graph: Any, where: str, depth: int) -> None:
        if depth > _MAX_SUBGRAPH_DEPTH:
            raise LimitExceeded(f"ONNX subgraphs nested deeper than {_MAX_SUBGRAPH_DEPTH}")
        for tensor in graph.initializer:
            self.tensor(tensor, where)
        for sparse in graph.sparse_initializer:
            self.tensor(sparse.values, where)
            self.tensor(sparse.indices, where)
        self.nodes(graph.node, where, depth)

    def nodes(self, nodes: Any, where: str, depth: int) -> None:
        for node in nodes:
            domain, op_type = _text(node.domain), _text(node.op_type)
            ops = self.ops.setdefault(domain, {})
            ops[op_type] = ops.get(op_type, 0) + 1
            self.where.setdefault(domain, set()).add(where)
            for attr in node.attribute:
                self.attribute(attr, f"{where}/{_text(node.name) or op_type}", depth)

    def attribute(self, attr: Any, where: str, depth: int) -> None:
        if attr.HasField("t"):
            self.tensor(attr.t, where)
        for tensor in attr.tensors:
            self.tensor(tensor, where)
        if attr.HasField("sparse_tensor"):
            self.tensor(attr.sparse_tensor.values, where)
            self.tensor(attr.sparse_tensor.indices, where)
        for sparse in attr.sparse_tensors:
            self.tensor(sparse.values, where)
            self.tensor(sparse.indices, where)
        if attr.HasField("g"):
            self.graph(attr.g, f"{where}.{_text(attr.name)}", depth + 1)
        for i, sub in enumerate(attr.graphs):
            self.graph(sub, f"{where}.{_text(attr.name)}[{i}]", depth + 1)

    def tensor(self, tensor: Any, where: str) -> None:
        if tensor.data_location != self.onnx.TensorProto.EXTERNAL and not len(tensor.external_data):
            return
        entries = {_text(e.key): _text(e.value) for e in tensor.external_data}
        offset, length = (_number(entries.get(k, "")) for k in ("offset", "length"))
        names, need = self.external.get(entries.get("location", ""), ([], 0))
        if len(names) < _MAX_LISTED:
            names.append(_text(tensor.name) or where)
        self.external[entries.get("location", "")] = (names, max(need, offset + length))


def _text(value: str | bytes) -> str:
    """protobuf hands back bytes for proto2 string fields that are not valid UTF-8."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) <= 20 else 0
