"""TensorFlow SavedModel graphs (``saved_model.pb``), frozen ``GraphDef`` files (``*.pb``) and Keras
SavedModel metadata (``keras_metadata.pb``), read without TensorFlow.

A SavedModel graph is data, but some of its ops run Python or touch the file system when the model
is loaded and called: ``PyFunc`` / ``PyFuncStateless`` / ``EagerPyFunc`` call a Python function
registered by token (``tf.py_function``/``tf.numpy_function``: the function itself is not in the
file, so the graph only works where matching code was registered, and that code runs); ``ReadFile``,
``WriteFile``, ``MatchingFiles``, file-based datasets, ``ImmutableConst``, summary writers and
``PrintV2`` to a file stream read or write paths of the graph's choosing. Every node of the graph and
of every function in its library is checked; the standard saver subgraph (``SaveV2``, ``RestoreV2``,
``MergeV2Checkpoints``, fed the checkpoint path by the loader) is not reported. A Keras
``keras_metadata.pb`` holds one JSON config per layer: each goes through the Keras config checks
(Lambda layers, custom objects) of ``warden.formats.hdf5``.

Parsing uses the ``protobuf`` package (upb) with the few messages needed — ``SavedModel``,
``MetaGraphDef``, ``GraphDef``, ``NodeDef``, ``AttrValue``, ``FunctionDefLibrary``, ``FunctionDef``,
``OpDef`` and Keras' ``SavedMetadata`` — declared programmatically with the field numbers of
TensorFlow's published ``.proto`` files; every other field is skipped as unknown. The file is read
whole (protobuf messages are capped at 2 GiB; larger files are reported, not parsed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from warden.errors import FormatError, LimitExceeded
from warden.formats.hdf5 import keras_config_findings
from warden.formats.interface import FormatScanner, ScanContext
from warden.report.model import Finding, Location, Severity
from warden.rules import rule

__all__ = ["TF_FILE_OP", "TF_MALFORMED", "TF_PYTHON_OP", "TensorFlowScanner", "graph_ops"]

TF_PYTHON_OP = rule(
    "TF-PYTHON-OP",
    Severity.CRITICAL,
    "TensorFlow graph calls Python (PyFunc / EagerPyFunc)",
    "The graph has a PyFunc, PyFuncStateless or EagerPyFunc op: running the model calls a Python "
    "function registered under the op's token in the loading process. Models built this way run "
    "arbitrary Python on the loading machine (the function comes from code loaded with the model).",
    "Do not load the model. Ask for a graph without py_function/numpy_function ops, or weights only.",
)
TF_FILE_OP = rule(
    "TF-FILE-OP",
    Severity.HIGH,
    "TensorFlow graph reads or writes files",
    "The graph has an op that reads, lists or writes files (ReadFile, WriteFile, MatchingFiles, file "
    "datasets, summary writers, ImmutableConst, PrintV2 to a file). Running the model touches paths "
    "the graph chose: it can read secrets into its outputs or overwrite files.",
    "Review which paths the ops use before running the model; prefer a weights-only export.",
)
TF_MALFORMED = rule(
    "TF-MALFORMED",
    Severity.MEDIUM,
    "TensorFlow protobuf could not be parsed",
    "The file is named like a TensorFlow SavedModel or graph but does not parse as one, so its ops "
    "could not be checked.",
    "Obtain an intact copy; do not load the model until it scans cleanly.",
)

_PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
_FILE_OPS: dict[str, str] = {
    "ReadFile": "reads a file",
    "WriteFile": "writes a file",
    "MatchingFiles": "lists files matching a pattern",
    "ImmutableConst": "memory-maps a file",
    "TextLineDataset": "reads files",
    "TextLineDatasetV2": "reads files",
    "TFRecordDataset": "reads files",
    "TFRecordDatasetV2": "reads files",
    "FixedLengthRecordDataset": "reads files",
    "FixedLengthRecordDatasetV2": "reads files",
    "FixedLengthRecordReaderV2": "reads files",
    "TextLineReaderV2": "reads files",
    "TFRecordReaderV2": "reads files",
    "WholeFileReaderV2": "reads whole files",
    "WholeFileReader": "reads whole files",
    "ReaderReadV2": "reads files through a reader",
    "LoadAndRemapMatrix": "reads a checkpoint file",
    "CreateSummaryFileWriter": "writes event files",
    "CreateSummaryDbWriter": "writes a database file",
    "SummaryWriter": "writes event files",
    "DebugIdentityV2": "writes debug dump files",
    "DebugIdentityV3": "writes debug dump files",
    "SaveDataset": "writes files",
    "SaveDatasetV2": "writes files",
    "DatasetToTFRecord": "writes a TFRecord file",
    "Save": "writes a checkpoint to a path of the graph's choosing",
    "SaveSlices": "writes a checkpoint to a path of the graph's choosing",
    "Restore": "reads a checkpoint from a path of the graph's choosing",
    "RestoreSlice": "reads a checkpoint from a path of the graph's choosing",
    "LoadDataset": "reads files",
    "ExperimentalLMDBDataset": "reads an LMDB file",
    "LMDBDataset": "reads an LMDB file",
    "ExperimentalSqlDataset": "opens a database file",
    "SqlDataset": "opens a database file",
}
_PRINT_OPS = frozenset({"PrintV2"})
_MAX_PB = (2 << 30) - 1
_MAX_FINDINGS = 50
_NAMES = {"saved_model.pb", "keras_metadata.pb", "fingerprint.pb"}


def _build_messages() -> dict[str, Any]:
    """Declare the messages (field numbers from tensorflow/core/framework/*.proto and
    tensorflow/core/protobuf/{saved_model,meta_graph}.proto, keras/protobuf/saved_metadata.proto)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    f = descriptor_pb2.FileDescriptorProto(
        name="warden_tf_subset.proto", package="warden_tf", syntax="proto3"
    )
    T = descriptor_pb2.FieldDescriptorProto  # noqa: N806

    def msg(name: str, *fields: tuple[str, int, int, int, str | None]) -> None:
        m = f.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            fd = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = f".warden_tf.{type_name}"

    opt, rep = T.LABEL_OPTIONAL, T.LABEL_REPEATED
    msg("NameAttrList", ("name", 1, T.TYPE_STRING, opt, None))
    msg("ListValue", ("s", 2, T.TYPE_BYTES, rep, None), ("func", 9, T.TYPE_MESSAGE, rep, "NameAttrList"))
    msg(
        "AttrValue",
        ("list", 1, T.TYPE_MESSAGE, opt, "ListValue"),
        ("s", 2, T.TYPE_BYTES, opt, None),
        ("i", 3, T.TYPE_INT64, opt, None),
        ("b", 5, T.TYPE_BOOL, opt, None),
        ("func", 10, T.TYPE_MESSAGE, opt, "NameAttrList"),
    )
    msg("AttrEntry", ("key", 1, T.TYPE_STRING, opt, None), ("value", 2, T.TYPE_MESSAGE, opt, "AttrValue"))
    msg(
        "NodeDef",
        ("name", 1, T.TYPE_STRING, opt, None),
        ("op", 2, T.TYPE_STRING, opt, None),
        ("input", 3, T.TYPE_STRING, rep, None),
        ("attr", 5, T.TYPE_MESSAGE, rep, "AttrEntry"),
    )
    msg("OpDef", ("name", 1, T.TYPE_STRING, opt, None))
    msg(
        "FunctionDef",
        ("signature", 1, T.TYPE_MESSAGE, opt, "OpDef"),
        ("node_def", 3, T.TYPE_MESSAGE, rep, "NodeDef"),
    )
    msg("FunctionDefLibrary", ("function", 1, T.TYPE_MESSAGE, rep, "FunctionDef"))
    msg(
        "GraphDef",
        ("node", 1, T.TYPE_MESSAGE, rep, "NodeDef"),
        ("library", 2, T.TYPE_MESSAGE, opt, "FunctionDefLibrary"),
    )
    msg("MetaGraphDef", ("graph_def", 2, T.TYPE_MESSAGE, opt, "GraphDef"))
    msg(
        "SavedModel",
        ("saved_model_schema_version", 1, T.TYPE_INT64, opt, None),
        ("meta_graphs", 2, T.TYPE_MESSAGE, rep, "MetaGraphDef"),
    )
    msg(
        "SavedObject",
        ("node_id", 2, T.TYPE_INT32, opt, None),
        ("node_path", 3, T.TYPE_STRING, opt, None),
        ("identifier", 4, T.TYPE_STRING, opt, None),
        ("metadata", 5, T.TYPE_STRING, opt, None),
    )
    msg("SavedMetadata", ("nodes", 1, T.TYPE_MESSAGE, rep, "SavedObject"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    names = ("GraphDef", "SavedModel", "SavedMetadata")
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"warden_tf.{n}")) for n in names}


_MESSAGES: dict[str, Any] | None = None


def _messages() -> dict[str, Any]:
    global _MESSAGES
    if _MESSAGES is None:
        _MESSAGES = _build_messages()
    return _MESSAGES


def graph_ops(graph: Any, where: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(op, node name, where, attrs of interest) for every node of ``graph`` and its functions."""
    for node in graph.node:
        yield node.op, node.name, where, _attrs(node)
    for fn in graph.library.function:
        fwhere = f"{where}/function {fn.signature.name}"
        for node in fn.node_def:
            yield node.op, node.name, fwhere, _attrs(node)


def _attrs(node: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in node.attr:
        if entry.key in {"token", "output_stream", "file_pattern", "filename", "memory_region_name"}:
            out[entry.key] = entry.value.s.decode("utf-8", "replace")[:300]
    return out


class TensorFlowScanner(FormatScanner):
    name = "tensorflow"
    malformed_rule = TF_MALFORMED

    def sniff(self, head: bytes, name: str) -> bool:
        base = PurePosixPath(name).name.lower()
        if base in _NAMES and base != "fingerprint.pb":
            return True
        # a frozen GraphDef: field 1 (node, length-delimited) first
        return base.endswith(".pb") and head[:1] == b"\x0a"

    def scan(self, stream: BinaryIO, size: int, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        if size > _MAX_PB:
            raise LimitExceeded(f"{size} bytes: over protobuf's 2 GiB message limit, not parsed")
        try:  # protobuf comes with onnx and transformers; without it the file cannot be checked
            from google.protobuf.message import DecodeError

            msgs = _messages()
        except ImportError as exc:
            raise FormatError(f"cannot parse TensorFlow protobufs: {exc}") from None
        data = stream.read(size)
        base = PurePosixPath(location.member or location.file).name.lower()
        try:
            if base == "keras_metadata.pb":
                yield from self._keras_metadata(msgs["SavedMetadata"].FromString(data), location, ctx)
                return
            if base == "saved_model.pb":
                saved = msgs["SavedModel"].FromString(data)
                graphs = [(mg.graph_def, f"meta_graph {i}") for i, mg in enumerate(saved.meta_graphs)]
            else:
                graphs = [(msgs["GraphDef"].FromString(data), "graph")]
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise FormatError(f"not a TensorFlow protobuf: {exc}"[:300]) from None
        yield from self._graph_findings(graphs, location)

    def _graph_findings(self, graphs: list[tuple[Any, str]], location: Location) -> Iterator[Finding]:
        n = 0
        for graph, where in graphs:
            for op, node, fwhere, attrs in graph_ops(graph, where):
                finding: Finding | None = None
                evidence = {"op": op, "node": node[:200], "where": fwhere, **attrs}
                if op in _PYTHON_OPS:
                    finding = TF_PYTHON_OP(
                        location, evidence, title=f"{TF_PYTHON_OP.title}: {op} {node[:80]}"
                    )
                elif op in _FILE_OPS:
                    evidence["why"] = _FILE_OPS[op]
                    finding = TF_FILE_OP(location, evidence, title=f"{TF_FILE_OP.title}: {op} {node[:80]}")
                elif op in _PRINT_OPS and attrs.get("output_stream", "").startswith("file://"):
                    evidence["why"] = "prints into a file"
                    finding = TF_FILE_OP(location, evidence, title=f"{TF_FILE_OP.title}: {op} to a file")
                if finding is not None:
                    n += 1
                    if n <= _MAX_FINDINGS:
                        yield finding

    def _keras_metadata(self, meta: Any, location: Location, ctx: ScanContext) -> Iterator[Finding]:
        for node in meta.nodes:
            if not node.metadata:
                continue
            source = f"keras_metadata.pb node {node.node_id} ({node.identifier[:60]}) {node.node_path[:120]}"
            yield from keras_config_findings(
                node.metadata, location, ctx.limits, container="h5", source=source
            )
