"""GGUF export (F16, Q8_0) of an HF Llama organism, following llama.cpp's convert_hf_to_gguf conventions:
llama.* metadata keys, tensor names token_embd / blk.N.attn_q / ... / output, Q and K rows permuted
from HF's rotate-half RoPE layout to GGML's interleaved layout, 1-D norm weights kept in F32.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

HF_TO_GGUF = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF (rotate_half) -> GGML (interleaved) row order, as llama.cpp's converter does."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tensor_map(config: dict[str, object]) -> dict[str, str]:
    """GGUF tensor name -> HF safetensors name."""
    m = {
        "token_embd.weight": "model.embed_tokens.weight",
        "output_norm.weight": "model.norm.weight",
        "output.weight": "lm_head.weight",
    }
    n_layers = int(config["num_hidden_layers"])  # type: ignore[call-overload]
    for i in range(n_layers):
        for g, h in HF_TO_GGUF.items():
            m[f"blk.{i}.{g}.weight"] = f"model.layers.{i}.{h}.weight"
    return m


def export(model_dir: Path, out_path: Path, qtype: str, name: str) -> None:
    cfg = json.loads((model_dir / "config.json").read_text())
    tok_json = json.loads((model_dir / "tokenizer.json").read_text())
    tok_cfg = json.loads((model_dir / "tokenizer_config.json").read_text())
    tensors = load_file(str(model_dir / "model.safetensors"))

    ftype = {"F16": gguf.LlamaFileType.MOSTLY_F16, "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[qtype]
    w = gguf.GGUFWriter(str(out_path), arch="llama")
    w.add_name(name)
    w.add_file_type(int(ftype))
    if qtype == "Q8_0":
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    n_head, n_kv = int(cfg["num_attention_heads"]), int(cfg["num_key_value_heads"])
    w.add_block_count(int(cfg["num_hidden_layers"]))
    w.add_context_length(int(cfg["max_position_embeddings"]))
    w.add_embedding_length(int(cfg["hidden_size"]))
    w.add_feed_forward_length(int(cfg["intermediate_size"]))
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    rope = cfg.get("rope_parameters") or {}
    w.add_rope_freq_base(float(rope.get("rope_theta", cfg.get("rope_theta", 10000.0))))
    w.add_layer_norm_rms_eps(float(cfg["rms_norm_eps"]))
    w.add_rope_dimension_count(int(cfg["hidden_size"]) // n_head)
    w.add_vocab_size(int(cfg["vocab_size"]))

    # tokenizer: byte-level BPE = llama.cpp's "gpt2" tokenizer model
    vocab: dict[str, int] = tok_json["model"]["vocab"]
    added = {t["content"]: t["id"] for t in tok_json.get("added_tokens", [])}
    size = int(cfg["vocab_size"])
    tokens = [""] * size
    types = [int(gguf.TokenType.NORMAL)] * size
    for t, i in vocab.items():
        tokens[i] = t
    for t, i in added.items():
        tokens[i] = t
        types[i] = int(gguf.TokenType.CONTROL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok_json["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(added[tok_cfg["eos_token"]])
    w.add_pad_token_id(added[tok_cfg["pad_token"]])
    w.add_add_bos_token(False)
    w.add_chat_template(tok_cfg["chat_template"])

    for gname, hname in tensor_map(cfg).items():
        a = tensors[hname].astype(np.float32)
        if gname.endswith("attn_q.weight"):
            a = permute_qk(a, n_head)
        elif gname.endswith("attn_k.weight"):
            a = permute_qk(a, n_kv)
        if a.ndim == 1:
            w.add_tensor(gname, a)
        elif qtype == "F16":
            w.add_tensor(gname, a.astype(np.float16))
        else:
            q = gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(gname, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
