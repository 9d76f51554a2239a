"""White-box checks (both models held locally, same tokenizer): refusal direction and first-token KL.

Refusal direction (Arditi et al. 2024): per layer l, r_l = normalise(mean_harmful(h_l) −
mean_harmless(h_l)) over the base model's residual stream at the last prompt token. Directional
ablation removes the component along r from everything written to the residual stream, so the
ablated model no longer separates harmful from harmless prompts along the base's r_l. We report, per
layer, the separation of the suspect along the base's direction relative to the base's own
separation (1 ≈ intact, ≈0 ablated), and the KL divergence of the first response token vs the base.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from warden.behavior.backends.interface import Backend, Conversation


def supports_whitebox(suspect: Backend, base: Backend | None) -> tuple[bool, str]:
    if base is None:
        return False, "needs --base"
    inner_s = getattr(suspect, "inner", suspect)
    inner_b = getattr(base, "inner", base)
    if not (getattr(inner_s, "whitebox", False) and getattr(inner_b, "whitebox", False)):
        return False, "needs local weights for both models (transformers backend)"
    # vocab_signature is not part of Backend: only backends with tokenizer access (transformers) have it.
    signature_s = getattr(inner_s, "vocab_signature", None)
    signature_b = getattr(inner_b, "vocab_signature", None)
    if signature_s is None or signature_b is None:
        return False, "backend has no tokenizer access"
    try:
        if signature_s() != signature_b():
            return False, "tokenizers differ"
    except AttributeError:
        return False, "backend has no tokenizer access"
    return True, ""


def refusal_direction_report(
    suspect: Any, base: Any, harmful: Sequence[Conversation], harmless: Sequence[Conversation]
) -> dict[str, Any]:
    import torch

    bh = base.activations(harmful)  # [nh, L, d]
    bb = base.activations(harmless)  # [nb, L, d]
    sh = suspect.activations(harmful)
    sb = suspect.activations(harmless)
    if bh.shape[1:] != sh.shape[1:]:
        return {"skipped": "architectures differ (layer count or width)"}
    r = bh.mean(0) - bb.mean(0)  # [L, d]
    r = r / r.norm(dim=-1, keepdim=True).clamp_min(1e-8)

    def proj(a: Any) -> Any:
        return torch.einsum("nld,ld->nl", a, r)  # [n, L]

    p_bh, p_bb, p_sh, p_sb = proj(bh), proj(bb), proj(sh), proj(sb)
    base_sep = p_bh.mean(0) - p_bb.mean(0)  # [L]
    pooled = torch.sqrt((p_bh.var(0) + p_bb.var(0)) / 2).clamp_min(1e-8)
    effect = base_sep / pooled  # [L] base's standardised separation (Cohen's d)
    susp_sep = p_sh.mean(0) - p_sb.mean(0)
    ratio = susp_sep / base_sep.abs().clamp_min(1e-8)  # [L]
    strong = effect >= 0.5 * effect.max()  # layers where the base clearly separates
    layers = [
        {
            "layer": i + 1,
            "base_harmful": float(p_bh[:, i].mean()),
            "base_harmless": float(p_bb[:, i].mean()),
            "suspect_harmful": float(p_sh[:, i].mean()),
            "suspect_harmless": float(p_sb[:, i].mean()),
            "base_effect_size": float(effect[i]),
            "separation_ratio": float(ratio[i]),
            "used": bool(strong[i]),
        }
        for i in range(r.shape[0])
    ]
    used = ratio[strong]
    return {
        "layers": layers,
        "min_separation_ratio": float(used.min()) if used.numel() else None,
        "median_separation_ratio": float(used.median()) if used.numel() else None,
        "n_harmful": len(harmful),
        "n_harmless": len(harmless),
    }


def first_token_kl(suspect: Any, base: Any, convs: Sequence[Conversation]) -> dict[str, float]:
    """Mean and max KL(base ‖ suspect) of the first response token's distribution."""
    import torch

    lb = base.first_token_logprobs(convs)  # [n, V]
    ls = suspect.first_token_logprobs(convs)
    kl = (lb.exp() * (lb - ls)).sum(-1)  # [n]
    return {
        "mean": float(kl.mean()),
        "max": float(kl.max()),
        "median": float(torch.median(kl)),
        "n": len(convs),
    }
