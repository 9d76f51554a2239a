"""Pickle scanner: attacks are detected with the callable and offset, benign ML pickles stay clean.

Every malicious sample would create the ``canary`` file if it were ever unpickled; the fixture
fails the test if it exists afterwards.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.samples import pickles as P
from tests.samples.pickles import scan_with_core
from warden.errors import FormatError, LimitExceeded
from warden.formats import _pickle_walk
from warden.formats._pickle_walk import LEGACY_TORCH_MAGIC, PickleWalker, looks_like_pickle
from warden.formats.interface import Limits
from warden.formats.pickle import PickleScanner
from warden.formats.pickle_policy import SAFE_GLOBALS, classify_global
from warden.report.model import Severity

torch.set_num_threads(1)


def rules(findings: list) -> list[str]:
    return [f.rule_id for f in findings]


def by_rule(findings: list, rule_id: str) -> list:
    return [f for f in findings if f.rule_id == rule_id]


def dangerous(findings: list) -> dict[str, object]:
    """resolved global name (Python 2 names mapped) → finding, for PICKLE-DANGEROUS-GLOBAL."""
    return {f.evidence["resolved_as"]: f for f in by_rule(findings, "PICKLE-DANGEROUS-GLOBAL")}


def walk(data: bytes) -> _pickle_walk.WalkReport:
    return PickleWalker(io.BytesIO(data), end=len(data)).walk_file()


# --------------------------------------------------------------------------------------------------
# real pickles of __reduce__ payloads, every protocol


@pytest.mark.parametrize("proto", range(6))
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (P.os_system, "posix.system"),
        (P.builtins_exec, "builtins.exec"),
        (P.subprocess_popen, "subprocess.Popen"),
    ],
)
def test_reduce_payload_every_protocol(canary: Path, make, expected: str, proto: int) -> None:
    data = make(canary, proto=proto)
    findings, scanner = scan_with_core(data)
    hit = dangerous(findings)[expected]
    assert hit.severity is Severity.CRITICAL
    assert data[hit.location.offset] in (ord("c"), 0x93)  # the GLOBAL / STACK_GLOBAL opcode
    # the call site is reported: REDUCE (or NEWOBJ for a class) at the offset of that opcode
    (call,) = hit.evidence["calls"]
    assert data[call["offset"]] in (ord("R"), 0x81)
    assert scanner.outcomes[-1].format == "pickle"


@pytest.mark.parametrize(("module", "name"), P.DANGEROUS_CALLABLES)
@pytest.mark.parametrize("proto", [0, 4])
def test_deny_list_is_critical(canary: Path, module: str, name: str, proto: int) -> None:
    findings, _ = scan_with_core(P.dangerous_call(module, name, canary, proto=proto))
    (hit,) = by_rule(findings, "PICKLE-DANGEROUS-GLOBAL")
    assert hit.severity is Severity.CRITICAL
    assert hit.evidence["global"] == f"{module}.{name}"
    assert hit.evidence["call_count"] == 1


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (P.pip_main, "pip.main"),
        (P.runpy_run_code, "runpy._run_code"),
        (P.torch_dynamo_gadget, "torch._dynamo.guards.GuardBuilder.get"),
        (P.torch_inductor_compile_file, "torch._inductor.codecache.compile_file"),
        (P.stack_global_via_memo, "os.system"),
        (P.memo_confusion, "os.system"),
        (P.stack_global_classic_strings, "os.system"),
        (P.inst_opcode, "os.system"),
        (P.obj_opcode, "os.system"),
        (P.newobj_ex, "subprocess.Popen"),
        (P.nested_pickle_loads, "_pickle.loads"),
    ],
)
def test_crafted_payloads(canary: Path, make, expected: str) -> None:
    findings, _ = scan_with_core(make(canary))
    assert expected in dangerous(findings)


def test_public_poc_memo_out_of_order(canary: Path) -> None:
    findings, _ = scan_with_core(P.ctf_memo_out_of_order(canary))
    assert set(dangerous(findings)) == {"os.system"}
    assert not by_rule(findings, "PICKLE-UNAUDITED-GLOBAL")


def test_public_poc_build_setattr_strings(canary: Path) -> None:
    """modelscan issue 85: attributes of numpy.prod overwritten, read back, used as STACK_GLOBAL
    operands: the mutation and the unresolvable import are both critical."""
    findings, _ = scan_with_core(P.build_setattr_strings(canary))
    assert [f.evidence["target"] for f in by_rule(findings, "PICKLE-GLOBAL-MUTATION")] == ["numpy.prod"] * 2
    (unresolved,) = by_rule(findings, "PICKLE-UNRESOLVED-GLOBAL")
    assert unresolved.severity is Severity.CRITICAL and unresolved.evidence["call_count"] == 1


def test_stack_global_with_bytes_operand_fails_like_cpython(canary: Path) -> None:
    """modelscan issue 338 (type confusion): CPython refuses non-str operands, so the load stops
    there; the walker reports a malformed pickle instead of crashing."""
    data = P.Ops(4).raw(b"C\x02os").ustr("system").raw(b"\x93").mark().ustr(f"touch {canary}").tuple_()
    findings, _ = scan_with_core(data.reduce().stop().bytes())
    (bad,) = by_rule(findings, "PICKLE-MALFORMED")
    assert "requires str" in bad.evidence["error"]


@pytest.mark.parametrize(
    ("module_op", "name_op"),
    [
        (b"V\\u006fs\n", b"Vsy\\u0073tem\n"),  # UNICODE: raw-unicode-escape
        (b"S'\\x6fs'\n", b'S"sys\\x74em"\n'),  # STRING: Python 2 escapes, either quote
        (b"T\x02\x00\x00\x00os", b"U\x06system"),  # BINSTRING / SHORT_BINSTRING
    ],
)
def test_escaped_strings_resolve(canary: Path, module_op: bytes, name_op: bytes) -> None:
    data = b"\x80\x04" + module_op + name_op + b"\x93(V" + f"touch {canary}".encode() + b"\ntR."
    assert "os.system" in dangerous(scan_with_core(data)[0])


def test_memo_confusion_resolves_like_cpython(canary: Path) -> None:
    """MEMOIZE numbers by memo size: the safe strings land on keys 2 and 3, os/system stay 0 and 1."""
    rep = walk(P.memo_confusion(canary))
    assert [g.path for g in rep.imports] == ["os.system"]


def test_pydoc_locate_chain_reports_the_indirect_call(canary: Path) -> None:
    findings, _ = scan_with_core(P.pydoc_locate_chain(canary))
    assert "pydoc.locate" in dangerous(findings)
    (indirect,) = by_rule(findings, "PICKLE-INDIRECT-CALL")
    assert indirect.evidence["callee"] == "result of calling pydoc.locate"
    assert indirect.severity is Severity.HIGH


def test_getattr_gadget(canary: Path) -> None:
    findings, _ = scan_with_core(P.getattr_gadget(canary))
    assert {"builtins.getattr", "builtins.__import__"} <= set(dangerous(findings))
    assert by_rule(findings, "PICKLE-INDIRECT-CALL")


def test_computed_stack_global_is_unresolved_critical(canary: Path) -> None:
    findings, _ = scan_with_core(P.stack_global_computed(canary))
    (hit,) = by_rule(findings, "PICKLE-UNRESOLVED-GLOBAL")
    assert hit.severity is Severity.CRITICAL
    assert "not literal strings" in hit.evidence["reason"]
    assert hit.evidence["call_count"] == 1


def test_ext_opcode_is_unresolved(canary: Path) -> None:
    findings, _ = scan_with_core(P.ext_code_call(canary))
    (hit,) = by_rule(findings, "PICKLE-UNRESOLVED-GLOBAL")
    assert hit.severity is Severity.HIGH
    assert "extension registry" in hit.evidence["reason"]


def test_build_on_an_imported_class_is_a_mutation(canary: Path) -> None:
    findings, _ = scan_with_core(P.global_mutation(canary))
    (mut,) = by_rule(findings, "PICKLE-GLOBAL-MUTATION")
    assert mut.evidence["target"] == "collections.OrderedDict"
    assert mut.severity is Severity.CRITICAL
    assert "os.system" in dangerous(findings)


def test_global_with_crlf_is_not_passed(canary: Path) -> None:
    findings, _ = scan_with_core(P.global_crlf(canary))
    (hit,) = by_rule(findings, "PICKLE-UNAUDITED-GLOBAL")
    assert hit.evidence["module"] == "os\r"
    assert hit.severity is Severity.HIGH


def test_overlong_global_line_is_unresolved(canary: Path) -> None:
    findings, _ = scan_with_core(P.global_long_name(canary))
    (hit,) = by_rule(findings, "PICKLE-UNRESOLVED-GLOBAL")
    assert "longer than" in hit.evidence["reason"]


def test_protocol_mismatch_is_nonstandard(canary: Path) -> None:
    findings, _ = scan_with_core(P.protocol_mismatch(canary))
    (ns,) = by_rule(findings, "PICKLE-NONSTANDARD-OPCODE")
    assert {"MEMOIZE", "STACK_GLOBAL"} <= set(ns.evidence["opcodes"])
    assert "os.system" in dangerous(findings)


def test_benign_pickles_use_no_nonstandard_opcodes(canary: Path) -> None:
    for proto in range(6):
        findings, _ = scan_with_core(
            pickle.dumps({"a": [1, 2.5, "x", b"y", (1, 2)], "b": None}, protocol=proto)
        )
        assert findings == [], proto


def test_nested_pickle_payload_is_scanned(canary: Path) -> None:
    data = P.nested_pickle_loads(canary)
    findings, _ = scan_with_core(data)
    inner = [f for f in findings if f.location.member and f.location.member.startswith("<bytes@")]
    assert [f.evidence["global"] for f in inner] == ["posix.system"]


# --------------------------------------------------------------------------------------------------
# every pickle in the file


def test_malicious_sixth_pickle_after_five_benign(canary: Path) -> None:
    data = P.five_then_malicious(canary)
    findings, _ = scan_with_core(data)
    hit = dangerous(findings)["posix.system"]
    assert hit.evidence["pickle_index"] == 5
    assert len(walk(data).pickles) == 6


def test_many_pickles_no_limit(canary: Path) -> None:
    data = b"".join(pickle.dumps(i, protocol=2) for i in range(40)) + P.os_system(canary)
    assert dangerous(scan_with_core(data)[0])["posix.system"].evidence["pickle_index"] == 40


def test_reused_unpickler_memo_is_followed(canary: Path) -> None:
    """Pickle 1 memoizes "os"/"system"; pickle 2 fetches them with BINGET. pickle.load on pickle 2
    fails, but an Unpickler reused across loads resolves os.system."""
    first = P.Ops(4).ustr("os").memoize().ustr("system").memoize().raw(b"\x86").stop().bytes()
    second = (
        P.Ops(4)
        .binget(0)
        .binget(1)
        .raw(b"\x93")
        .mark()
        .ustr(f"touch {canary}")
        .tuple_()
        .reduce()
        .stop()
        .bytes()
    )
    findings, _ = scan_with_core(first + second)
    assert "os.system" in dangerous(findings)


def test_reused_unpickler_memoize_numbering(canary: Path) -> None:
    """Pickle 2 memoizes a harmless module name; with a fresh memo BINGET 0 is "torch", but with the
    memo continued (reused Unpickler) key 0 is pickle 1's "os"."""
    first = P.Ops(4).ustr("os").memoize().ustr("system").memoize().raw(b"\x86").stop().bytes()
    second = (
        P.Ops(4)
        .ustr("torch")
        .memoize()
        .ustr("Size")
        .memoize()
        .pop()
        .pop()
        .binget(0)
        .binget(1)
        .raw(b"\x93")
        .mark()
        .ustr(f"touch {canary}")
        .tuple_()
        .reduce()
        .stop()
        .bytes()
    )
    findings, _ = scan_with_core(first + second)
    assert "os.system" in dangerous(findings)
    assert "reused" in dangerous(findings)["os.system"].evidence["context"]


def test_trailing_garbage_is_low(canary: Path) -> None:
    data = pickle.dumps([1, 2, 3], protocol=4) + b"\x00\x01not a pickle"
    findings, _ = scan_with_core(data)
    assert rules(findings) == ["PICKLE-TRAILING-DATA"]
    assert findings[0].severity is Severity.LOW
    assert findings[0].location.offset == len(pickle.dumps([1, 2, 3], protocol=4))


def test_truncated_trailing_pickle_with_import_is_reported(canary: Path) -> None:
    bad = P.os_system(canary, proto=0)[:-3]
    findings, _ = scan_with_core(pickle.dumps(1, protocol=2) + bad)
    assert "posix.system" in dangerous(findings)
    assert "PICKLE-MALFORMED" in rules(findings)


def test_truncated_pickle_keeps_detection_and_offset(canary: Path) -> None:
    data = P.os_system(canary, proto=2)
    findings, scanner = scan_with_core(data[:-1])
    assert "posix.system" in dangerous(findings)
    (bad,) = by_rule(findings, "PICKLE-MALFORMED")
    assert bad.location.offset == len(data) - 1
    assert scanner.outcomes[-1].status == "malformed"


# --------------------------------------------------------------------------------------------------
# legacy torch


def test_legacy_torch_state_dict_is_clean(canary: Path) -> None:
    data = P.legacy_torch_bytes(P.benign_state_dict())
    findings, _ = scan_with_core(data, "pytorch_model.bin")
    assert findings == []
    rep = walk(data)
    assert rep.legacy_torch and rep.storages == 6 and len(rep.pickles) == 5 and rep.trailing is None


def test_legacy_torch_whole_module_is_clean(canary: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.LayerNorm(3))
    findings, _ = scan_with_core(P.legacy_torch_bytes(model), "model.pt")
    assert findings == []


def test_malicious_pickle_after_legacy_storages(canary: Path) -> None:
    benign = P.legacy_torch_bytes(P.benign_state_dict())
    data = P.legacy_torch_then_malicious(canary)
    findings, _ = scan_with_core(data, "pytorch_model.bin")
    hit = dangerous(findings)["posix.system"]
    assert hit.location.offset > len(benign) - 1
    assert hit.evidence["format"] == "legacy torch.save"


def test_legacy_torch_main_pickle_poisoned(canary: Path) -> None:
    findings, _ = scan_with_core(P.legacy_torch_main_poisoned(canary), "model.pt")
    assert {"os.system", "posix.system"} <= set(dangerous(findings))


def test_legacy_torch_storage_past_end_is_malformed(canary: Path) -> None:
    data = P.legacy_torch_bytes(P.benign_state_dict())
    findings, _ = scan_with_core(data[:-10], "model.pt")
    (bad,) = by_rule(findings, "PICKLE-MALFORMED")
    assert "runs past the end" in bad.evidence["error"]


def test_legacy_magic_value() -> None:
    rep = walk(P.legacy_torch_bytes({"x": torch.zeros(1)}))
    assert rep.legacy_torch and LEGACY_TORCH_MAGIC == 0x1950A86A20F9469CFC6C


# --------------------------------------------------------------------------------------------------
# benign look-alikes


@pytest.mark.parametrize("proto", [2, 3, 4, 5])
def test_pickled_ordered_dict_of_tensors_is_clean(canary: Path, proto: int) -> None:
    data = pickle.dumps(P.benign_state_dict(), protocol=proto)
    findings, _ = scan_with_core(data, "weights.pkl")
    assert findings == []
    rep = walk(data)
    assert rep.blobs and all(b.nested for b in rep.blobs)  # each storage's torch.save bytes went back


@pytest.mark.parametrize("proto", [2, 3, 4, 5])
def test_pickled_numpy_arrays_are_clean(canary: Path, proto: int) -> None:
    obj = {
        "f": np.arange(12.0).reshape(3, 4),
        "i": np.arange(5, dtype=np.int8),
        "s": np.zeros(2, dtype=[("x", "<f4"), ("y", "<i8", (2,))]),
        "scalar": np.float64(0.5),
        "rng": np.random.default_rng(0),
    }
    findings, _ = scan_with_core(pickle.dumps(obj, protocol=proto))
    assert findings == []


def test_lookalike_module_is_unaudited_not_dangerous(canary: Path) -> None:
    findings, _ = scan_with_core(P.dangerous_call("osprey.tools", "run", canary))
    (hit,) = findings
    assert hit.rule_id == "PICKLE-UNAUDITED-GLOBAL" and hit.severity is Severity.HIGH
    assert classify_global("ossaudiodev", "open").kind == "unaudited"
    assert classify_global("subprocess_utils", "run").kind == "unaudited"


def test_allowlist_is_exact() -> None:
    assert classify_global("torch._utils", "_rebuild_tensor_v2").kind == "safe"
    assert classify_global("torch._utils", "_rebuild_tensor_v2.__globals__").kind == "dangerous"
    assert classify_global("torch.nn.modules.module", "torch.load").kind == "dangerous"
    assert classify_global("builtins", "set").kind == "safe"
    assert classify_global("__builtin__", "set").kind == "safe"
    assert classify_global("copy_reg", "_reconstructor").kind == "safe"
    assert classify_global("commands", "getoutput").kind == "dangerous"
    assert classify_global("uuid", "UUID").kind == "safe"
    assert classify_global("uuid", "_get_command_stdout").kind == "dangerous"
    assert not any(p.startswith(("builtins.getattr", "builtins.eval", "os.")) for p in SAFE_GLOBALS)


def test_joblib_layout_is_clean(canary: Path) -> None:
    obj = {
        "w": np.arange(10.0),
        "m": np.zeros((3, 4), dtype=np.int8),
        "s": np.zeros(2, dtype=[("x", "<f4"), ("y", "<i8", (2,))]),
        "o": np.array(["a", None], dtype=object),
        "u": np.array(["abc"]),
        "e": np.zeros((0, 3)),
    }
    for proto in (2, 3, 4, 5):
        for align in (True, False):
            data = P.joblib_like_dump(obj, protocol=proto, align=align)
            findings, _ = scan_with_core(data, "model.joblib")
            assert findings == [], (proto, align)
            assert walk(data).joblib_arrays == 6


def test_joblib_object_array_payload(canary: Path) -> None:
    import os

    arr = np.array([P._Reduce(os.system, (f"touch {canary}",))], dtype=object)
    findings, _ = scan_with_core(P.joblib_like_dump({"a": np.arange(3.0), "o": arr}), "model.joblib")
    assert "joblib object array" in dangerous(findings)["posix.system"].evidence["context"]


def test_joblib_array_bytes_read_as_opcodes(canary: Path) -> None:
    """Parser differential: plain pickle.load reads a joblib array's bytes as opcodes. An "array"
    whose bytes are os.system(...) opcodes must be reported though joblib.load skips them."""
    payload = np.frombuffer(f"cos\nsystem\n(S'touch {canary}'\ntR0".encode(), dtype=np.uint8).copy()
    findings, _ = scan_with_core(P.joblib_like_dump([payload], align=False, protocol=2), "model.pkl")
    assert "plain pickle.load" in dangerous(findings)["os.system"].evidence["context"]


# --------------------------------------------------------------------------------------------------
# sniffing by bytes


@pytest.mark.parametrize("name", ["model.safetensors", "weights.bin", "notes.txt", "README", "x.json"])
def test_pickle_recognised_whatever_the_name(canary: Path, name: str) -> None:
    for proto in (0, 2, 4):
        findings, scanner = scan_with_core(P.os_system(canary, proto=proto), name)
        assert scanner.outcomes[-1].format == "pickle"
        assert "posix.system" in dangerous(findings)


@pytest.mark.parametrize(
    "text",
    [
        b"N.B. this is a text file\n",
        b"class Foo:\n    pass\n",
        b"cat\ndog\nbird\n",
        b'{"architectures": ["LlamaForCausalLM"]}',
        b"import torch\n",
        b"def f():\n    return 1\n",
        b"",
    ],
)
def test_text_is_not_a_pickle(canary: Path, text: bytes) -> None:
    assert not PickleScanner().sniff(text, "notes.txt")


def test_broken_pickle_named_pkl_is_malformed_not_unrecognised(canary: Path) -> None:
    data = b"\x80\x04\x95garbage"
    assert PickleScanner().sniff(data, "model.pkl")
    findings, _ = scan_with_core(data, "model.pkl")
    assert rules(findings) == ["PICKLE-MALFORMED"]


def test_sniff_looks_past_a_tiny_benign_first_pickle(canary: Path) -> None:
    data = b"N." + P.os_system(canary, proto=0)
    findings, scanner = scan_with_core(data, "notes.txt")
    assert scanner.outcomes[-1].format == "pickle"
    assert "posix.system" in dangerous(findings)


def test_sniff_accepts_protocol0_call_that_fails_later(canary: Path) -> None:
    data = P.os_system(canary, proto=0)[:-1] + b"\xff\xff"  # REDUCE runs, then garbage
    assert looks_like_pickle(data[:4096])


# --------------------------------------------------------------------------------------------------
# streaming, buffers, limits


@pytest.mark.parametrize("pad", range(0, 140, 7))
def test_global_across_buffer_boundaries(canary: Path, monkeypatch: pytest.MonkeyPatch, pad: int) -> None:
    monkeypatch.setattr(_pickle_walk, "CHUNK", 64)
    data = P.global_after_padding(canary, pad)
    hit = dangerous(scan_with_core(data)[0])["os.system"]
    assert hit.location.offset == data.index(b"cos\nsystem")


@pytest.mark.parametrize("chunk", [16, 64, 1 << 20])
def test_small_chunks_same_result(canary: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(_pickle_walk, "CHUNK", chunk)
    data = P.legacy_torch_then_malicious(canary)
    rep = walk(data)
    assert rep.legacy_torch and rep.storages == 6
    assert [g.path for g in rep.imports if g.path == "posix.system"] == ["posix.system"]


def test_bulk_payloads_are_skipped_not_held(canary: Path) -> None:
    big = b"\x00" * (8 << 20)
    data = pickle.dumps([big, "x" * (3 << 20), bytearray(2 << 20)], protocol=5) + P.os_system(canary)
    rep = walk(data)
    assert {g.path for g in rep.imports} == {"posix.system"}
    assert rep.blobs == []  # zeros have no file magic


def test_stack_limit(canary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pickle_walk, "CHUNK", 64)
    data = b"\x80\x02" + b"N" * 5000 + b"."
    with pytest.raises(LimitExceeded):
        PickleWalker(io.BytesIO(data), end=len(data), limits=Limits(max_pickle_stack=1000)).walk_file()
    findings, _ = scan_with_core(data, limits=Limits(max_pickle_stack=1000))
    assert rules(findings) == ["SCAN-LIMIT-EXCEEDED"]


def test_memo_limit_forgets_and_never_resolves(canary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pickle_walk, "CHUNK", 32)
    ops = P.Ops(4)
    for k in range(60):
        ops.ustr(f"junk{k}").memoize().pop()
    ops.ustr("os").memoize().ustr("system").memoize().pop().pop()
    ops.raw(b"j" + (60).to_bytes(4, "little")).raw(b"j" + (61).to_bytes(4, "little")).raw(b"\x93")
    data = ops.mark().ustr(f"touch {canary}").tuple_().reduce().stop().bytes()
    findings, _ = scan_with_core(data, limits=Limits(max_pickle_memo=10))
    (hit,) = by_rule(findings, "PICKLE-UNRESOLVED-GLOBAL")
    assert "memo limit" in hit.evidence["reason"]


def test_malformed_inputs_raise_format_error_with_offset(canary: Path) -> None:
    cases = {
        b"\x80\x09.": "unsupported pickle protocol",
        b"\x80\x02(": "no STOP",
        b"\x80\x02.": "underflow",
        b"\x80\x02h\x05.": "memo key 5",
        b"\x80\x02K\x01K\x02u.": "SETITEMS without MARK",
        b"\x80\x02\xfe.": "invalid pickle opcode",
        b"\x80\x02X\xff\xff\xff\x00abc.": "runs past the end",
        b"S'abc\n.": "must be quoted",
    }
    for data, message in cases.items():
        with pytest.raises(FormatError) as info:
            walk(data)
        assert message in info.value.message, data
        assert info.value.offset is not None


def test_walker_is_faster_than_genops_baseline(canary: Path) -> None:
    """Sanity check of the hot loop, not a benchmark (benchmarks/scan_bench.py compares with
    picklescan): walking must not be slower than merely listing opcodes with pickletools."""
    import pickletools
    import time

    chunk = [(k, f"name{k}", float(k), [k, k + 1], {"a": k}) for k in range(20_000)]
    data = pickle.dumps(chunk, protocol=4)
    t0 = time.process_time()
    ops = sum(1 for _ in pickletools.genops(io.BytesIO(data)))
    t1 = time.process_time()
    walk(data)
    t2 = time.process_time()
    assert ops > 300_000
    assert (t2 - t1) < 1.5 * (t1 - t0)


# --------------------------------------------------------------------------------------------------
# the walker API


def test_walk_report_call_sites(canary: Path) -> None:
    data = pickle.dumps(OrderedDict(a=1), protocol=2)
    rep = walk(data)
    (g,) = rep.imports
    assert g.path == "collections.OrderedDict" and g.opcode == "GLOBAL"
    assert g.calls == [(data.index(b"R"), "REDUCE")]
