"""Write a tiny HF Llama state dict as GGUF the way llama.cpp's converter does (names, q/k row
permutation, F32 norms), with F32/F64/F16/BF16/Q8_0/Q4_0 matrices."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import torch

HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}  # fmt: skip


def permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF rotate-half row order -> GGML interleaved (llama.cpp convert_hf_to_gguf)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_name(hf: str) -> str | None:
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    parts = hf.split(".")
    if len(parts) >= 4 and parts[1] == "layers":
        sub = ".".join(parts[3:-1])
        if sub in HF_TO_GGUF:
            return f"blk.{parts[2]}.{HF_TO_GGUF[sub]}.{parts[-1]}"
    return None


def write_llama_gguf(
    sd: dict[str, torch.Tensor],
    cfg: dict[str, int],
    out: Path,
    qtype: str = "F16",
    tokens: list[str] | None = None,
    raw_types: dict[str, str] | None = None,
) -> Path:
    """``raw_types``: GGUF tensor name -> a GGML type whose blocks are written as zero bytes (for types
    gguf-py cannot quantize, to see how a reader copes with them)."""
    n_head, n_kv = int(cfg["num_attention_heads"]), int(cfg["num_key_value_heads"])
    w = gguf.GGUFWriter(str(out), arch="llama")
    w.add_block_count(int(cfg["num_hidden_layers"]))
    w.add_context_length(int(cfg.get("max_position_embeddings", 128)))
    w.add_embedding_length(int(cfg["hidden_size"]))
    w.add_feed_forward_length(int(cfg["intermediate_size"]))
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-6)
    if tokens is not None:
        w.add_tokenizer_model("gpt2")
        w.add_token_list(tokens)
    q = getattr(gguf.GGMLQuantizationType, qtype)
    for hf, t in sd.items():
        name = gguf_name(hf)
        if name is None:
            continue
        arr = t.float().numpy()
        if ".attn_q." in name:
            arr = permute_qk(arr, n_head)
        elif ".attn_k." in name:
            arr = permute_qk(arr, n_kv)
        if raw_types and name in raw_types:
            rq = getattr(gguf.GGMLQuantizationType, raw_types[name])
            block, size = gguf.GGML_QUANT_SIZES[rq]
            data = np.zeros((arr.shape[0], arr.shape[1] // block * size), dtype=np.uint8)
            w.add_tensor(name, data, raw_shape=data.shape, raw_dtype=rq)
        elif arr.ndim == 1 or qtype == "F32":
            w.add_tensor(name, arr.astype(np.float32))
        elif qtype == "F16":
            w.add_tensor(name, arr.astype(np.float16))
        elif qtype == "F64":
            w.add_tensor(name, arr.astype(np.float64))
        elif qtype == "BF16":
            data = gguf.quants.quantize(arr.astype(np.float32), q).view(np.uint8)  # raw_shape is in bytes
            w.add_tensor(name, data, raw_shape=data.shape, raw_dtype=q)
        else:
            data = gguf.quants.quantize(arr.astype(np.float32), q)
            w.add_tensor(name, data, raw_shape=data.shape, raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def unreadable_type(max_block: int = 64) -> str | None:
    """A GGML quantization type the installed gguf cannot dequantize, with blocks small enough for the
    tests' 64-wide matrices (Q8_1 with gguf 0.19): asked of gguf, so a newer release that learns it
    moves the tests to another type instead of breaking them. None when gguf reads every type."""
    from warden.forensics.checkpoint import gguf_type_readable

    for q in gguf.GGMLQuantizationType:
        size = gguf.GGML_QUANT_SIZES.get(q)
        if size and size[0] > 1 and 64 % size[0] == 0 and size[0] <= max_block:
            if not gguf_type_readable(int(q)):
                return q.name
    return None
