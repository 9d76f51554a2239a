"""Build the demo directories for ``make demo``: one clean model and one that mixes benign files with
generated malicious ones (every payload would create ``CANARY-EXECUTED`` beside them if anything ever
ran it — the demo checks that it never does).

    python -m tests.samples.build_demo OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from tests.samples import containers, tensors
from tests.samples.templates import ssti_payloads


def clean_model(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    tensors.st_numpy(d / "model.safetensors", metadata={"format": "pt"})
    (d / "config.json").write_text(
        json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 4})
    )
    (d / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": tensors.BENIGN_TEMPLATE, "eos_token": "</s>"})
    )
    (d / "generation_config.json").write_text(json.dumps({"do_sample": False}))
    (d / "README.md").write_text("# A clean example model\n")


def suspicious_model(d: Path, canary: Path) -> None:
    clean_model(d)
    # remote code: auto_map pulling a class from another repository, plus a local module that shells out
    (d / "config.json").write_text(
        json.dumps(
            {
                "model_type": "llama",
                "auto_map": {
                    "AutoConfig": "configuration_llama.LlamaConfig",
                    "AutoModelForCausalLM": "someone-else/helpers--modeling_evil.EvilForCausalLM",
                },
            }
        )
    )
    (d / "configuration_llama.py").write_text(
        "import os\nfrom transformers import PretrainedConfig\n\n"
        f"os.system('touch {canary}')\n\nclass LlamaConfig(PretrainedConfig):\n    model_type = 'llama'\n"
    )
    # a chat template that escapes the Jinja sandbox
    payload = ssti_payloads(canary)["cycler-init-globals-os"]
    (d / "tokenizer_config.json").write_text(json.dumps({"chat_template": payload, "eos_token": "</s>"}))
    # a PyTorch checkpoint (odd zip flag bits, like the picklescan bypasses) whose data.pkl runs code
    (d / "pytorch_model.bin").write_bytes(containers.malicious_torch_zip(canary, flags=0x0808))
    # a pickle disguised as safetensors
    (d / "adapter_model.safetensors").write_bytes(containers.malicious_pickle(canary, protocol=4))
    # a real safetensors file with bytes smuggled after the tensors
    (d / "model-extra.safetensors").write_bytes(tensors.trailing_payload_safetensors())
    # a numpy file with object dtype: loading it with allow_pickle=True unpickles the payload
    import io

    buf = io.BytesIO()
    np.save(
        buf, np.array([containers._Exec(containers.canary_code(canary))], dtype=object), allow_pickle=True
    )
    (d / "embeddings.npy").write_bytes(buf.getvalue())
    # an archive with path traversal and a symlink out of the model
    (d / "extras.tar").write_bytes(
        containers.build_tar([("../../outside.txt", b"x"), containers.tar_link("link", "/etc/passwd")])
    )
    # a Keras model with a Lambda layer carrying bytecode
    (d / "classifier.keras").write_bytes(containers.keras_zip(containers.keras_v3_lambda_layer(canary)))
    # a GGUF export whose metadata chat template escapes the sandbox
    (d / "model-q8_0.gguf").write_bytes(tensors.gguf_with_template(payload))


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "demo-out")
    canary = out / "CANARY-EXECUTED"
    clean_model(out / "clean-model")
    suspicious_model(out / "suspicious-model", canary)
    print(f"built {out}/clean-model and {out}/suspicious-model (canary: {canary})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
