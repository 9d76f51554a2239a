"""Tensor-role map: which tensors write into the residual stream, which read it, and on which axis.

Ablation lives in the residual stream (width d): every matrix that WRITES into it (embedding, attention
output, MLP down projection, each MoE expert's down projection) is edited on its residual side. We give
every weight a role, its layer (and expert), the axis of the stored array that is the residual stream,
and a format-independent canonical key, so that HF safetensors and llama.cpp GGUF names line up.

Storage conventions (residual axis):
  torch Linear (out, in): writers (o_proj, down_proj) -> axis 0; readers (q/k/v, gate/up) -> axis 1.
  GPT-2 Conv1D (in, out): transposed, so c_proj (writer) -> axis 1, c_attn / c_fc (readers) -> axis 0.
  embedding / lm_head (vocab, d): axis 1.  GGUF stores every matrix in Linear orientation.
  packed MoE experts (E, d, ffn) / GGUF *_exps: the expert axis leads; residual axis is found by size.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Role(str, enum.Enum):
    EMBEDDING = "embedding"
    POS_EMBEDDING = "pos_embedding"
    ATTN_OUT = "attn_out"  # writes to the residual stream
    MLP_OUT = "mlp_out"  # writes to the residual stream
    ATTN_IN = "attn_in"
    MLP_IN = "mlp_in"
    ROUTER = "router"
    NORM = "norm"
    LM_HEAD = "lm_head"
    OTHER = "other"

    @property
    def writes(self) -> bool:
        return self in (Role.ATTN_OUT, Role.MLP_OUT)

    @property
    def reads(self) -> bool:
        return self in (Role.ATTN_IN, Role.MLP_IN)


@dataclass(frozen=True)
class TensorRole:
    role: Role
    kind: str  # "o", "down", "q", "qkv", "gate_up", "wte", ...
    layer: int | None = None
    expert: int | None = None  # per-expert tensors; packed experts have expert=None, packed=True
    residual_axis: int | None = None  # of the stored array, before any packed-expert axis is removed
    packed: bool = False

    @property
    def canonical(self) -> str:
        """Format-independent key: 'L3.mlp_out.down.e2', 'embedding.wte'."""
        parts = [f"L{self.layer}"] if self.layer is not None else []
        parts += [self.role.value, self.kind]
        if self.expert is not None:
            parts.append(f"e{self.expert}")
        return ".".join(parts)


@dataclass(frozen=True)
class ArchSpec:
    family: str
    layer_norm: bool  # mean-subtracting LayerNorm: the all-ones residual direction is invisible
    causal: bool = True


# model_type (config.json) or general.architecture (GGUF) -> family traits.
ARCHS: dict[str, ArchSpec] = {
    **{
        t: ArchSpec("llama", layer_norm=False)
        for t in (
            "llama",
            "mistral",
            "mixtral",
            "qwen2",
            "qwen3",
            "qwen2_moe",
            "qwen3_moe",
            "qwen2moe",
            "qwen3moe",
        )
    },
    **{t: ArchSpec("gemma", layer_norm=False) for t in ("gemma", "gemma2", "gemma3", "gemma3_text")},
    **{t: ArchSpec("phi3", layer_norm=False) for t in ("phi3", "phimoe")},
    "gpt2": ArchSpec("gpt2", layer_norm=True),
    **{t: ArchSpec("gpt_neox", layer_norm=True) for t in ("gpt_neox", "gptneox")},
    **{t: ArchSpec("bert", layer_norm=True, causal=False) for t in ("bert", "roberta", "xlm-roberta")},
}

_L = r"(?:^|\.)(?:layers|layer|h|blk)\.(?P<layer>\d+)\."
_E = r"(?:experts)\.(?P<expert>\d+)\."
# (pattern searched in the tensor name, role, kind, residual axis). Order matters: first match wins.
_P: list[tuple[str, Role, str, int | None]] = [
    # --- MoE experts (HF per-expert names; Mixtral w1/w3 in, w2 out) ---
    (_L + r"block_sparse_moe\." + _E + r"w2\.weight$", Role.MLP_OUT, "down", 0),
    (_L + r"block_sparse_moe\." + _E + r"w[13]\.weight$", Role.MLP_IN, "gate_up", 1),
    (_L + r"mlp\." + _E + r"down_proj\.weight$", Role.MLP_OUT, "down", 0),
    (_L + r"mlp\." + _E + r"(?:gate|up)_proj\.weight$", Role.MLP_IN, "gate_up", 1),
    (_L + r"mlp\.shared_expert\.down_proj\.weight$", Role.MLP_OUT, "down_shared", 0),
    (_L + r"mlp\.shared_expert\.(?:gate|up)_proj\.weight$", Role.MLP_IN, "gate_up_shared", 1),
    (_L + r"mlp\.experts\.down_proj$", Role.MLP_OUT, "down_packed", None),
    (_L + r"mlp\.experts\.gate_up_proj$", Role.MLP_IN, "gate_up_packed", None),
    (_L + r"(?:block_sparse_moe|mlp)\.gate\.weight$", Role.ROUTER, "router", 1),
    (_L + r"mlp\.shared_expert_gate\.weight$", Role.ROUTER, "router_shared", 1),
    # --- Llama family (Llama, Mistral, Qwen2/3, Gemma 2/3, Phi-3 fused) ---
    (_L + r"self_attn\.o_proj\.weight$", Role.ATTN_OUT, "o", 0),
    (_L + r"self_attn\.qkv_proj\.weight$", Role.ATTN_IN, "qkv", 1),
    (_L + r"self_attn\.q_proj\.weight$", Role.ATTN_IN, "q", 1),
    (_L + r"self_attn\.k_proj\.weight$", Role.ATTN_IN, "k", 1),
    (_L + r"self_attn\.v_proj\.weight$", Role.ATTN_IN, "v", 1),
    (_L + r"mlp\.down_proj\.weight$", Role.MLP_OUT, "down", 0),
    (_L + r"mlp\.gate_up_proj\.weight$", Role.MLP_IN, "gate_up", 1),
    (_L + r"mlp\.gate_proj\.weight$", Role.MLP_IN, "gate", 1),
    (_L + r"mlp\.up_proj\.weight$", Role.MLP_IN, "up", 1),
    # --- GPT-2 (Conv1D: stored (in, out)) ---
    (_L + r"attn\.c_proj\.weight$", Role.ATTN_OUT, "o", 1),
    (_L + r"attn\.c_attn\.weight$", Role.ATTN_IN, "qkv", 0),
    (_L + r"mlp\.c_proj\.weight$", Role.MLP_OUT, "down", 1),
    (_L + r"mlp\.c_fc\.weight$", Role.MLP_IN, "up", 0),
    # --- GPT-NeoX ---
    (_L + r"attention\.dense\.weight$", Role.ATTN_OUT, "o", 0),
    (_L + r"attention\.query_key_value\.weight$", Role.ATTN_IN, "qkv", 1),
    (_L + r"mlp\.dense_4h_to_h\.weight$", Role.MLP_OUT, "down", 0),
    (_L + r"mlp\.dense_h_to_4h\.weight$", Role.MLP_IN, "up", 1),
    # --- BERT / RoBERTa (MiniLM) ---
    (_L + r"attention\.output\.dense\.weight$", Role.ATTN_OUT, "o", 0),
    (_L + r"attention\.self\.query\.weight$", Role.ATTN_IN, "q", 1),
    (_L + r"attention\.self\.key\.weight$", Role.ATTN_IN, "k", 1),
    (_L + r"attention\.self\.value\.weight$", Role.ATTN_IN, "v", 1),
    (_L + r"intermediate\.dense\.weight$", Role.MLP_IN, "up", 1),
    (_L + r"output\.dense\.weight$", Role.MLP_OUT, "down", 0),
    # --- llama.cpp GGUF names (every matrix in Linear orientation) ---
    (_L + r"attn_output\.weight$", Role.ATTN_OUT, "o", 0),
    (_L + r"attn_qkv\.weight$", Role.ATTN_IN, "qkv", 1),
    (_L + r"attn_q\.weight$", Role.ATTN_IN, "q", 1),
    (_L + r"attn_k\.weight$", Role.ATTN_IN, "k", 1),
    (_L + r"attn_v\.weight$", Role.ATTN_IN, "v", 1),
    (_L + r"ffn_down_exps\.weight$", Role.MLP_OUT, "down_packed", None),
    (_L + r"ffn_(?:gate|up)_exps\.weight$", Role.MLP_IN, "gate_up_packed", None),
    (_L + r"ffn_down_shexp\.weight$", Role.MLP_OUT, "down_shared", 0),
    (_L + r"ffn_(?:gate|up)_shexp\.weight$", Role.MLP_IN, "gate_up_shared", 1),
    (_L + r"ffn_gate_inp(?:_shexp)?\.weight$", Role.ROUTER, "router", 1),
    (_L + r"ffn_down\.weight$", Role.MLP_OUT, "down", 0),
    (_L + r"ffn_gate\.weight$", Role.MLP_IN, "gate", 1),
    (_L + r"ffn_up\.weight$", Role.MLP_IN, "up", 1),
    # --- norms (any family) ---
    (r"(?:norm|layernorm|LayerNorm|ln_\w+|ln_f)\.(?:weight|bias)$", Role.NORM, "norm", None),
    (
        r"(?:^|\.)(?:attn_norm|ffn_norm|output_norm|attn_q_norm|attn_k_norm|post_attention_norm|"
        r"post_ffw_norm|token_embd_norm)\.(?:weight|bias)$",
        Role.NORM,
        "norm",
        None,
    ),
    # --- embeddings and heads ---
    (r"(?:^|\.)(?:embed_tokens|wte|embed_in|word_embeddings)\.weight$", Role.EMBEDDING, "tokens", 1),
    (r"^token_embd\.weight$", Role.EMBEDDING, "tokens", 1),
    (r"(?:^|\.)(?:wpe|position_embeddings|token_type_embeddings)\.weight$", Role.POS_EMBEDDING, "pos", 1),
    (r"^position_embd\.weight$", Role.POS_EMBEDDING, "pos", 1),
    (r"(?:^|\.)(?:lm_head|embed_out)\.weight$", Role.LM_HEAD, "head", 1),
    (r"^output\.weight$", Role.LM_HEAD, "head", 1),
]
_COMPILED = [(re.compile(p), role, kind, axis) for p, role, kind, axis in _P]


def classify(name: str, shape: tuple[int, ...], d_model: int | None = None) -> TensorRole:
    """The role of one tensor. Unknown names get Role.OTHER. ``d_model`` resolves packed experts."""
    for pat, role, kind, axis in _COMPILED:
        m = pat.search(name)
        if m is None:
            continue
        groups = m.groupdict()
        layer = int(groups["layer"]) if groups.get("layer") else _layer_of(name)
        expert = int(groups["expert"]) if groups.get("expert") else None
        packed = kind.endswith("_packed")
        if role is Role.NORM or len(shape) < 2:
            return TensorRole(Role.NORM if role is Role.NORM else role, kind, layer, expert, None)
        if packed:
            axis = _packed_axis(shape, d_model, writes=role.writes)
        return TensorRole(role, kind, layer, expert, axis, packed)
    return TensorRole(Role.OTHER, "other", _layer_of(name), None, None)


def _packed_axis(shape: tuple[int, ...], d_model: int | None, writes: bool) -> int | None:
    """(E, a, b): the residual axis is whichever of a, b equals d_model (writers prefer axis 1 on a tie)."""
    if len(shape) != 3:
        return None
    if d_model is None:
        return 1 if writes else 2
    hits = [ax for ax in (1, 2) if shape[ax] == d_model]
    if not hits:
        return None
    return hits[0] if writes else hits[-1]


_LAYER_ANY = re.compile(r"(?:^|\.)(?:layers|layer|h|blk)\.(\d+)\.")


def _layer_of(name: str) -> int | None:
    m = _LAYER_ANY.search(name)
    return int(m.group(1)) if m else None


def arch_spec(model_type: str | None) -> ArchSpec | None:
    return ARCHS.get((model_type or "").lower())


def guess_family(roles: dict[str, TensorRole]) -> str | None:
    """A family guess from names alone: 'llama'-like if every layer has a writer pair."""
    layers = {r.layer for r in roles.values() if r.role.writes and r.layer is not None}
    return "llama" if layers else None
