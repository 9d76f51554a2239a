"""Builders for container samples (zip, torch zip, keras, tar, hdf5, onnx), benign and malicious.

Malicious builders take a ``canary`` path: their payload would create that file if anything ever
ran it (unpickled, unmarshalled, executed). Nothing here runs a payload: ``pickle.dumps`` and
``marshal.dumps`` only serialize, and ``compile`` builds a code object that is never called.

``build_zip`` is a hand-written zip writer so tests can craft what ``zipfile`` refuses to write:
wrong CRCs, local names that differ from central ones, members missing from the central directory,
odd flag bits, symlink modes.
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import marshal
import pickle
import struct
import tarfile
import types
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warden.formats.interface import FormatScanner, Limits
from warden.report.model import Finding
from warden.scan.core import Scanner

# ----------------------------------------------------------------------------------------------
# Payloads


class _Exec:
    """Pickles as ``builtins.exec(code)``: a classic malicious-pickle payload."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (builtins.exec, (self.code,))


def canary_code(canary: Path) -> str:
    return f"open({str(canary)!r}, 'w').write('executed')"


def malicious_pickle(canary: Path, protocol: int = 2) -> bytes:
    """A pickle whose loading would create ``canary``."""
    return pickle.dumps(_Exec(canary_code(canary)), protocol=protocol)


def benign_pickle(protocol: int = 2) -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0, 3.0], "name": "layer"}, protocol=protocol)


def lambda_bytecode_b64(canary: Path) -> str:
    """base64(marshal(code of ``lambda x: ...``)) as Keras' func_dump writes it; calling it would
    create ``canary``."""
    module = compile(f"lambda x: ({canary_code(canary)}, x)[1]", "<lambda>", "eval")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return base64.b64encode(marshal.dumps(code)).decode("ascii")


# ----------------------------------------------------------------------------------------------
# Zip


@dataclass
class Entry:
    """One member for ``build_zip``. Defaults give a plain, valid stored member."""

    name: str | bytes
    data: bytes
    method: int = 0  # 0 stored, 8 deflate
    flags: int = 0
    local_flags: int | None = None  # default: same as ``flags``
    local_name: str | bytes | None = None  # default: same as ``name``
    crc: int | None = None  # override the CRC written to both headers
    external_attr: int = 0
    create_system: int = 3  # unix
    in_central: bool = True  # False: present only as a local header (hidden member)
    data_descriptor: bool = False  # sizes/CRC after the data (flag bit 3), zero in the local header


def _b(name: str | bytes) -> bytes:
    return name.encode("utf-8") if isinstance(name, str) else name


def build_zip(entries: Sequence[Entry], comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    central: list[bytes] = []
    for e in entries:
        name = _b(e.name)
        local_name = _b(e.local_name) if e.local_name is not None else name
        if e.method == 8:
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = comp.compress(e.data) + comp.flush()
        else:
            payload = e.data
        crc = e.crc if e.crc is not None else zlib.crc32(e.data)
        flags = e.flags | (0x08 if e.data_descriptor else 0)
        local_flags = (e.local_flags if e.local_flags is not None else e.flags) | (
            0x08 if e.data_descriptor else 0
        )
        offset = out.tell()
        lcrc, lcsize, lusize = (0, 0, 0) if e.data_descriptor else (crc, len(payload), len(e.data))
        out.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                local_flags,
                e.method,
                0,
                0x21,
                lcrc,
                lcsize,
                lusize,
                len(local_name),
                0,
            )
        )
        out.write(local_name)
        out.write(payload)
        if e.data_descriptor:
            out.write(struct.pack("<4sIII", b"PK\x07\x08", crc, len(payload), len(e.data)))
        if e.in_central:
            central.append(
                struct.pack(
                    "<4sBBHHHHHIIIHHHHHII",
                    b"PK\x01\x02",
                    20,
                    e.create_system,
                    20,
                    flags,
                    e.method,
                    0,
                    0x21,
                    crc,
                    len(payload),
                    len(e.data),
                    len(name),
                    0,
                    0,
                    0,
                    0,
                    e.external_attr,
                    offset,
                )
                + name
            )
    cd_offset = out.tell()
    for c in central:
        out.write(c)
    cd_size = out.tell() - cd_offset
    out.write(
        struct.pack(
            "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), cd_size, cd_offset, len(comment)
        )
    )
    out.write(comment)
    return out.getvalue()


def torch_entries(pickle_bytes: bytes, top: str = "archive") -> list[Entry]:
    """The members torch.save writes (data.pkl first, then the records), as stored entries."""
    return [
        Entry(f"{top}/data.pkl", pickle_bytes),
        Entry(f"{top}/.format_version", b"1"),
        Entry(f"{top}/byteorder", b"little"),
        Entry(f"{top}/data/0", struct.pack("<3f", 1.0, 2.0, 3.0)),
        Entry(f"{top}/version", b"3\n"),
    ]


def malicious_torch_zip(canary: Path, **tweaks: Any) -> bytes:
    """A torch zip whose data.pkl runs a payload; ``tweaks`` are applied to the data.pkl Entry."""
    entries = torch_entries(malicious_pickle(canary))
    for key, value in tweaks.items():
        setattr(entries[0], key, value)
    return build_zip(entries)


def real_torch_zip() -> bytes:
    """A genuine torch.save() of a small state dict."""
    import torch

    torch.set_num_threads(1)
    buf = io.BytesIO()
    torch.save(
        {"linear.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3), "linear.bias": torch.zeros(2)},
        buf,
    )
    return buf.getvalue()


def real_npz(compressed: bool = False) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    arrays = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(4, dtype=np.float64)}
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def zip_bomb(size: int = 64 << 20) -> bytes:
    """One deflated member of ``size`` zero bytes (ratio ~1000:1)."""
    return build_zip([Entry("zeros.bin", bytes(size), method=8)])


# ----------------------------------------------------------------------------------------------
# Keras


def _dense(name: str) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": name,
            "units": 2,
            "activation": "relu",
            "use_bias": True,
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": None},
                "registered_name": None,
            },
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
    }


def keras_v3_config(extra_layers: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    layers = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"},
            "registered_name": None,
        },
        _dense("dense"),
        *extra_layers,
    ]
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "trainable": True, "layers": layers},
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
        "compile_config": None,
    }


def keras_v3_lambda_layer(canary: Path) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "trainable": True,
            "function": {
                "class_name": "__lambda__",
                "config": {"code": lambda_bytecode_b64(canary), "defaults": None, "closure": None},
            },
            "arguments": {},
        },
        "registered_name": None,
    }


def weights_h5(model_config: dict[str, Any] | None = None) -> bytes:
    """A small HDF5 file with weights; with ``model_config`` it is a legacy Keras .h5 model."""
    import h5py
    import numpy as np

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        group = f.create_group("model_weights/dense")
        group.create_dataset("kernel", data=np.ones((4, 2), dtype=np.float32))
        group.create_dataset("bias", data=np.zeros(2, dtype=np.float32))
        if model_config is not None:
            f.attrs["model_config"] = json.dumps(model_config)
            f.attrs["keras_version"] = "2.15.0"
            f.attrs["backend"] = "tensorflow"
    return buf.getvalue()


def keras_zip(config: dict[str, Any]) -> bytes:
    """A .keras (Keras v3) archive as keras.saving writes it (config, metadata, weights)."""
    metadata = {"keras_version": "3.6.0", "date_saved": "2025-01-01@00:00:00"}
    return build_zip(
        [
            Entry("metadata.json", json.dumps(metadata).encode(), method=8),
            Entry("config.json", json.dumps(config).encode(), method=8),
            Entry("model.weights.h5", weights_h5()),
        ]
    )


def keras2_h5_lambda(canary: Path) -> bytes:
    """A legacy Keras 2 .h5 model whose Lambda layer carries marshalled bytecode."""
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu"}},
                {
                    "class_name": "Lambda",
                    "config": {
                        "name": "lambda",
                        "function": [lambda_bytecode_b64(canary), None, None],
                        "function_type": "lambda",
                        "module": "__main__",
                        "output_shape": None,
                        "output_shape_type": "raw",
                        "arguments": {},
                    },
                },
            ],
        },
    }
    return weights_h5(config)


def keras2_h5_benign() -> bytes:
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu"}},
                {"class_name": "TFOpLambda", "config": {"name": "tf.math.add", "function": "math.add"}},
            ],
        },
    }
    return weights_h5(config)


# ----------------------------------------------------------------------------------------------
# Tar


def build_tar(members: Sequence[tuple[str, bytes] | tarfile.TarInfo]) -> bytes:
    """A tar of (name, data) regular files and prepared TarInfo entries (links, devices)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_link(name: str, target: str, *, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def legacy_torch_tar(canary: Path) -> bytes:
    """Pre-1.6 torch.save tar layout with a malicious 'pickle' member."""
    return build_tar(
        [
            ("sys_info", pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2)),
            ("pickle", malicious_pickle(canary)),
            ("storages", pickle.dumps(0, protocol=2)),
            ("tensors", pickle.dumps(0, protocol=2)),
        ]
    )


# ----------------------------------------------------------------------------------------------
# ONNX


def onnx_model(*, custom_domain: str | None = None, external: str | None = None) -> Any:
    """A tiny ONNX model: y = x + W (+ a node from ``custom_domain``); with ``external`` the
    initializer W points at external data at that location."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(1, 4), name="W")
    if external is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        for key, value in (("location", external), ("offset", "0"), ("length", "16")):
            entry = weight.external_data.add()
            entry.key, entry.value = key, value
    nodes = [helper.make_node("Add", ["x", "W"], ["y"], name="add")]
    opsets = [helper.make_opsetid("", 17)]
    outputs = "y"
    if custom_domain is not None:
        nodes.append(helper.make_node("Pwn", ["y"], ["z"], name="pwn", domain=custom_domain))
        opsets.append(helper.make_opsetid(custom_domain, 1))
        outputs = "z"
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(outputs, TensorProto.FLOAT, [1, 4])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=opsets, producer_name="warden-tests")
    model.ir_version = 8
    if custom_domain is None and external is None:
        onnx.checker.check_model(model)  # the benign baseline is a valid model
    return model


def onnx_bytes(**kwargs: Any) -> bytes:
    return bytes(onnx_model(**kwargs).SerializeToString())


# ----------------------------------------------------------------------------------------------
# Scanning helpers


def container_scanners(with_pickle: bool = False) -> list[FormatScanner]:
    from warden.formats.hdf5 import HDF5Scanner
    from warden.formats.onnx import OnnxScanner
    from warden.formats.tar import TarScanner
    from warden.formats.zipfile import ZipScanner

    scanners: list[FormatScanner] = [ZipScanner(), TarScanner(), HDF5Scanner(), OnnxScanner()]
    if with_pickle:
        from warden.formats.pickle import PickleScanner  # type: ignore[import-not-found]

        scanners.append(PickleScanner())
    return scanners


def scan_bytes(
    tmp_path: Path, name: str, data: bytes, *, with_pickle: bool = False, limits: Limits | None = None
) -> list[Finding]:
    """Write ``data`` to ``tmp_path/name`` and scan it as a model directory holding that file."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return scan_path(tmp_path, name, with_pickle=with_pickle, limits=limits)


def scan_path(
    root: Path, rel: str, *, with_pickle: bool = False, limits: Limits | None = None
) -> list[Finding]:
    scanner = Scanner(container_scanners(with_pickle), limits)
    return list(scanner.scan_file(root / rel, rel, root))


CONTAINER_PREFIXES = ("ZIP-", "TORCH-", "TAR-", "KERAS-", "HDF5-", "ONNX-", "SCAN-")


def ids(findings: Sequence[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def own(findings: Sequence[Finding]) -> list[Finding]:
    """Findings from the container scanners and the core (not from parsers of nested members)."""
    return [f for f in findings if f.rule_id.startswith(CONTAINER_PREFIXES)]
