"""TensorFlow protobufs written by a tiny protobuf wire encoder of our own (no TensorFlow, and not
the scanner's message classes, so a wrong field number on either side shows up).

Field numbers are those of TensorFlow's published ``.proto`` files: ``SavedModel`` (1 schema version,
2 meta_graphs), ``MetaGraphDef`` (1 meta_info_def, 2 graph_def), ``GraphDef`` (1 node, 2 library,
4 versions), ``NodeDef`` (1 name, 2 op, 3 input, 4 device, 5 attr map), ``AttrValue`` (2 s, 3 i,
6 type, 10 func), ``FunctionDefLibrary`` (1 function), ``FunctionDef`` (1 signature OpDef, 3 node_def),
``OpDef`` (1 name) and Keras' ``SavedMetadata`` (1 nodes) / ``SavedObject`` (2 node_id, 3 node_path,
4 identifier, 5 metadata, 6 version).
"""

from __future__ import annotations

import base64
import json
import marshal
from pathlib import Path


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def vint(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def ld(field: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def attr_s(key: str, value: str) -> bytes:
    return ld(5, ld(1, key) + ld(2, ld(2, value)))  # map entry {key, AttrValue{s}}


def attr_type(key: str, dtype: int) -> bytes:
    return ld(5, ld(1, key) + ld(2, vint(6, dtype)))


def node(name: str, op: str, *inputs: str, attrs: bytes = b"", device: str = "") -> bytes:
    body = ld(1, name) + ld(2, op) + b"".join(ld(3, i) for i in inputs)
    if device:
        body += ld(4, device)
    return ld(1, body + attrs)  # as GraphDef.node (field 1)


def function(name: str, *node_defs: bytes) -> bytes:
    # FunctionDef.node_def is field 3; node() wraps in field 1, so rewrap the body
    body = ld(1, ld(1, name))  # signature OpDef{name}
    for nd in node_defs:
        body += b"\x1a" + nd[1:]  # same length-delimited payload, tag 3 instead of 1
    return ld(1, body)  # FunctionDefLibrary.function


def graph_def(nodes: list[bytes], functions: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    out = b"".join(nodes)
    if functions:
        out += ld(2, b"".join(functions))
    return out + ld(4, vint(1, 1987))  # versions {producer}


def saved_model(graph: bytes) -> bytes:
    meta_info = ld(1, ld(4, "serve"))  # MetaInfoDef.tags
    return vint(1, 1) + ld(2, meta_info + ld(2, graph))


def benign_graph() -> bytes:
    """A small serving graph with the standard saver subgraph."""
    return graph_def(
        [
            node("x", "Placeholder", attrs=attr_type("dtype", 1)),
            node("w", "VariableV2", attrs=attr_type("dtype", 1)),
            node("y", "MatMul", "x", "w"),
            node("saver_filename", "Placeholder", attrs=attr_type("dtype", 7)),
            node(
                "save/SaveV2", "SaveV2", "saver_filename", "save/tensor_names", "save/shape_and_slices", "w"
            ),
            node(
                "save/RestoreV2", "RestoreV2", "saver_filename", "save/tensor_names", "save/shape_and_slices"
            ),
            node("print", "PrintV2", "y", attrs=attr_s("output_stream", "stderr")),
        ],
        [function("__inference_serve_12", node("relu", "Relu", "x"), node("add", "AddV2", "relu", "x"))],
    )


def py_func_graph(canary: Path | str, *, in_function: bool = False, op: str = "PyFunc") -> bytes:
    """A graph whose op calls a registered Python function; the token names one that would create
    ``canary`` (the function itself is never in the file)."""
    token = f"pyfunc_touch_{Path(canary).name}"
    pf = node("evil", op, "x", attrs=attr_s("token", token))
    if in_function:
        return graph_def([node("x", "Placeholder")], [function("__inference_f_7", pf)])
    return graph_def([node("x", "Placeholder"), pf])


def file_op_graph(canary: Path | str, op: str = "WriteFile") -> bytes:
    return graph_def(
        [
            node("path", "Const", attrs=attr_s("value_s", str(canary))),
            node("contents", "Const"),
            node("io", op, "path", "contents"),
        ]
    )


def print_to_file_graph(canary: Path | str) -> bytes:
    return graph_def(
        [
            node("x", "Placeholder"),
            node("p", "PrintV2", "x", attrs=attr_s("output_stream", f"file://{canary}")),
        ]
    )


def keras_metadata(canary: Path | str, *, lambda_layer: bool = True) -> bytes:
    """keras_metadata.pb: one SavedObject per layer with its JSON config."""
    dense = {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu"}}
    nodes = [ld(1, vint(2, 1) + ld(3, "root.layer-0") + ld(4, "_tf_keras_layer") + ld(5, json.dumps(dense)))]
    if lambda_layer:
        code = compile(f"open({str(canary)!r}, 'w').close()", "<lambda>", "exec")
        fn = base64.b64encode(marshal.dumps(code)).decode()
        lam = {
            "class_name": "Lambda",
            "config": {"name": "lambda", "function": [fn, None, None], "function_type": "lambda"},
        }
        nodes.append(
            ld(1, vint(2, 2) + ld(3, "root.layer-1") + ld(4, "_tf_keras_layer") + ld(5, json.dumps(lam)))
        )
    return b"".join(nodes)
