"""Base-free activation signal: does the model still *use* the direction that separates harmful prompts?

The weight-energy search (``basefree``) sees an ablation as a residual direction whose writer energy
shrank by (1 - w)^2; at w ~ 2 (Heretic's weights reach past 1) the direction is *reflected* and no
energy is lost. This signal runs the model instead (transformers, CPU, its own chat template) on
harmful and harmless prompts from Warden's built-in suites and measures, at the last prompt token:

  (a) per residual index l: the refusal direction r_l = normalise(mean_harmful - mean_harmless) and
      the projection gap along it (d' = mean difference / pooled standard deviation);
  (b) per output matrix (o_proj, down_proj) of layer l: its write-in along r_{l+1}, signed (the
      writer's own harmful - harmless mean output projected on r, as a z-score against uniformly
      random directions: mean 0, sd ||delta|| / sqrt(d)) and in weight energy (||r^T W||^2 against
      its mean over random directions, ||W||_F^2 / d, as a natural log);
  (c) consistency: add the mean difference m_l to every position of the harmless prompts at residual
      index l and compare the change of the first-token distribution with the harmful - harmless
      difference of that distribution (cosine). A model trained as a whole routes its harmful
      direction to its harmful-prompt behaviour (cos ~ 1); once the writers of a band of layers are
      edited along a direction (removed, partly removed or reflected) while the readers are not, the
      direction the stream carries no longer produces the behaviour difference the model shows.

The score is 1 - min_l cos over the steered indices. Its threshold is calibrated per family (an
architecture shape: model_type, layers, width) on clean models of that family (CALIBRATION.md); for a
family without a clean null the score is reported and gives no verdict. (a) and (b) are reported, not thresholded: on the organisms they did not separate
edited from clean models (CALIBRATION.md has the numbers).

Inputs: a model directory (config.json, safetensors, tokenizer with a chat template) or a .gguf file
(transformers' GGUF loader, which reads it with the ``gguf`` package and dequantises to float32; only
the architectures that loader supports). Anything else is skipped with a ``skipped: <reason>``.

Safety: the model is loaded with ``trust_remote_code=False``, ``local_files_only=True`` and (for a
directory) ``use_safetensors=True`` (never a pickle); a config with ``auto_map`` is refused before
anything is loaded; the chat template is rendered by transformers' ``apply_chat_template``, which uses
jinja2's ImmutableSandboxedEnvironment.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from warden.forensics.config import ActivationConfig

WRITER_NAMES = ("o_proj", "down_proj", "out_proj", "dense_4h_to_h", "fc2")


@dataclass(frozen=True)
class LayerActivation:
    index: int  # residual index: the input of decoder layer ``index`` (the output of layer index - 1)
    gap: float  # d' of harmful vs harmless along r_index
    attn_write_z: float | None = None  # layer (index - 1)'s attention writer, signed, along r_index
    mlp_write_z: float | None = None
    attn_weight_log_energy: float | None = None  # log(||r^T W||^2 / (||W||_F^2 / d))
    mlp_weight_log_energy: float | None = None
    consistency: float | None = None  # cos(first-token change when steered, harmful - harmless)


@dataclass(frozen=True)
class ActivationResult:
    ran: bool
    reason: str = ""  # why it did not run ("skipped: ...")
    n_harmful: int = 0
    n_harmless: int = 0
    n_layers: int = 0
    layers: tuple[LayerActivation, ...] = ()
    output_tv: float = 0.0  # total variation between harmful and harmless first-token distributions
    score: float = 0.0  # 1 - min consistency over the steered indices
    family: str = ""  # model_type/layers/width: the calibration key
    threshold: float | None = None  # the family's; None: no clean null for it, no verdict
    flagged: bool = False

    @property
    def inconsistent_indices(self) -> tuple[int, ...]:
        t = self.threshold
        if t is None:
            return ()
        return tuple(
            la.index for la in self.layers if la.consistency is not None and 1.0 - la.consistency >= t
        )


def family_threshold(model_type: str, n_layers: int, width: int, cfg: ActivationConfig) -> float | None:
    for mt, nl, w, thr in cfg.calibrated_families:
        if (mt, nl, w) == (model_type, n_layers, width):
            return thr
    return None


def skipped(reason: str) -> ActivationResult:
    return ActivationResult(ran=False, reason=f"skipped: {reason}")


def _cluster_parity(cluster: str) -> int:
    return hashlib.sha256(cluster.encode()).digest()[0] % 2


def suite_split(suite: str, detector: bool = True) -> list[str]:
    """Prompts of a built-in suite on the detector's side (clusters whose SHA-256 starts with an even
    byte) or on the other side (held out: tests measure refusal on these). Whole clusters, so the two
    sides share no request, only phrasing patterns."""
    from warden.behavior.suites import load_suite

    want = 0 if detector else 1
    return [p.prompt for p in load_suite(suite) if _cluster_parity(p.cluster_id) == want]


def model_dir(path: str | Path) -> Path | None:
    """The Hugging Face model directory of ``path`` (itself, or the folder of a .safetensors file)."""
    p = Path(path)
    if p.is_file() and p.suffix == ".safetensors":
        p = p.parent
    return p if p.is_dir() and (p / "config.json").is_file() else None


LOAD_ERRORS = (
    OSError,
    ValueError,
    KeyError,
    TypeError,
    RuntimeError,
    NotImplementedError,
    AttributeError,
    ImportError,
)


def _load(path: str | Path, cfg: ActivationConfig) -> tuple[Any, Any] | str:
    """(model, tokenizer) loaded by transformers, or the reason it was not. A .gguf file goes through
    transformers' GGUF loader (the ``gguf`` package reads it; weights are dequantised to float32), only
    for the architectures that loader knows; anything else must be a model directory."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    cast("Callable[[], None]", hf_logging.set_verbosity_error)()  # unannotated in transformers
    p = Path(path)
    common: dict[str, Any] = {"trust_remote_code": False, "local_files_only": True}
    if p.is_file() and p.suffix == ".gguf":
        root, extra = p.parent, {"gguf_file": p.name}
    else:
        found = model_dir(p)
        if found is None:
            return "not a model directory with config.json (nor a .gguf file)"
        root, extra = found, {}
        try:
            config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return f"config.json unreadable: {exc}"
        if not isinstance(config, dict) or config.get("auto_map"):
            return "config.json names remote code (auto_map); Warden never runs trust_remote_code"
        if not any((root / n).is_file() for n in ("tokenizer.json", "tokenizer.model", "vocab.json")):
            return "no tokenizer files next to the weights"
    try:
        tok = AutoTokenizer.from_pretrained(str(root), **common, **extra)
        if not getattr(tok, "chat_template", None):
            return "the tokenizer has no chat template (not a chat model)"
        weights = {} if extra else {"use_safetensors": True}  # never a pickle
        model = AutoModelForCausalLM.from_pretrained(
            str(root), **common, **extra, **weights, dtype=torch.float32
        )
    except LOAD_ERRORS as exc:
        what = "GGUF file" if extra else "model"
        return f"transformers could not load the {what}: {str(exc)[:200]}"
    return model, tok


def run_activation(path: str | Path, n_params: int, cfg: ActivationConfig) -> ActivationResult:
    if not cfg.enabled:
        return skipped("disabled in the configuration")
    if n_params > cfg.max_params:
        return skipped(
            f"{n_params} parameters, over the CPU cap of {cfg.max_params} (ActivationConfig.max_params)"
        )
    loaded = _load(path, cfg)
    if isinstance(loaded, str):
        return skipped(loaded)
    model, tok = loaded
    module: torch.nn.Module = model
    module.eval()
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    harmful = _subsample(suite_split("harmful"), cfg.n_harmful, cfg.seed)
    harmless = _subsample(suite_split("benign"), cfg.n_harmless, cfg.seed)
    try:
        with torch.no_grad():
            return _analyse(model, tok, harmful, harmless, cfg)
    except (RuntimeError, ValueError, IndexError) as exc:  # an architecture whose forward we misread
        return skipped(f"forward pass failed: {str(exc)[:200]}")


def _subsample(xs: list[str], n: int, seed: int) -> list[str]:
    import random

    if len(xs) <= n:
        return xs
    idx = sorted(random.Random(seed).sample(range(len(xs)), n))
    return [xs[i] for i in idx]


def _decoder_layers(model: Any) -> torch.nn.ModuleList | None:
    n = getattr(model.config, "num_hidden_layers", None)
    for mod in model.modules():
        if isinstance(mod, torch.nn.ModuleList) and len(mod) == n:
            return mod
    return None


def _writers(layer: torch.nn.Module, d: int) -> dict[str, torch.nn.Linear]:
    """The layer's residual writers by slot ("attn" / "mlp"): Linear modules named like an output
    projection whose output width is d."""
    out: dict[str, torch.nn.Linear] = {}
    for name, mod in layer.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if isinstance(mod, torch.nn.Linear) and leaf in WRITER_NAMES and mod.out_features == d:
            slot = "attn" if ("attn" in name or "attention" in name) else "mlp"
            out.setdefault(slot, mod)
    return out


class _Tracer:
    """One batched forward pass with hooks: residuals at the last token (n, L + 1, d), each writer's
    output at the last token, first-token probabilities (n, vocab); optionally a vector added to every
    position of the residual stream at one index."""

    def __init__(self, model: Any, tok: Any, layers: torch.nn.ModuleList, cfg: ActivationConfig) -> None:
        self.model, self.tok, self.layers, self.cfg = model, tok, layers, cfg
        self.d = int(model.config.hidden_size)
        self.writers = [_writers(layer, self.d) for layer in layers]

    def encode(self, users: Sequence[str]) -> list[dict[str, torch.Tensor]]:
        texts = [
            str(
                self.tok.apply_chat_template(
                    [{"role": "user", "content": u}], add_generation_prompt=True, tokenize=False
                )
            )
            for u in users
        ]
        texts = [
            t
            for t in texts
            if len(self.tok(t, add_special_tokens=False)["input_ids"]) <= self.cfg.max_prompt_tokens
        ]
        bs = self.cfg.batch_size
        return [
            dict(self.tok(texts[i : i + bs], return_tensors="pt", padding=True, add_special_tokens=False))
            for i in range(0, len(texts), bs)
        ]

    def run(
        self, batches: list[dict[str, torch.Tensor]], steer: tuple[int, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[tuple[int, str], torch.Tensor], torch.Tensor]:
        """-> residuals (n, L + 1, d), writer outputs {(layer, slot): (n, d)}, probabilities (n, vocab)."""
        res_all, probs_all = [], []
        wr_all: dict[tuple[int, str], list[torch.Tensor]] = {}
        for enc in batches:
            res, probs = self._one(enc, steer, wr_all)
            res_all.append(res)
            probs_all.append(probs)
        wr = {k: torch.cat(v) for k, v in wr_all.items()}
        return torch.cat(res_all), wr, torch.cat(probs_all)

    def _one(
        self,
        enc: dict[str, torch.Tensor],
        steer: tuple[int, torch.Tensor] | None,
        wr_all: dict[tuple[int, str], list[torch.Tensor]],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        res: list[torch.Tensor] = []
        hooks = []

        def capture_in(_m: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            h = args[0] if args else kwargs["hidden_states"]
            res.append(h[:, -1].double())

        def capture_out(_m: Any, _a: Any, output: Any) -> None:
            h = output[0] if isinstance(output, tuple) else output
            res.append(h[:, -1].double())

        if steer is not None:
            idx, vec = steer

            def add(_m: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                if args:
                    return (args[0] + vec.to(args[0].dtype), *args[1:]), kwargs
                kwargs["hidden_states"] = kwargs["hidden_states"] + vec.to(kwargs["hidden_states"].dtype)
                return args, kwargs

            # registered first, so the capture below sees the steered stream
            hooks.append(self.layers[idx].register_forward_pre_hook(add, with_kwargs=True))
        hooks.append(self.layers[0].register_forward_pre_hook(capture_in, with_kwargs=True))
        for li, layer in enumerate(self.layers):
            hooks.append(layer.register_forward_hook(capture_out))
            for slot, mod in self.writers[li].items():

                def capture_w(_m: Any, _a: Any, output: Any, key: tuple[int, str] = (li, slot)) -> None:
                    wr_all.setdefault(key, []).append(output[:, -1].double())

                hooks.append(mod.register_forward_hook(capture_w))
        pos = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)  # left padding: count real tokens
        try:
            logits = self.model(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], position_ids=pos
            ).logits[:, -1]  # (batch, vocab)
        finally:
            for hk in hooks:
                hk.remove()
        return torch.stack(res, 1), torch.softmax(logits.double(), -1)  # (batch, L + 1, d), (batch, vocab)


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b) / max(float(a.norm() * b.norm()), 1e-30)


def steer_indices(n_layers: int, k: int) -> list[int]:
    """Up to k residual indices spread over the interior 1 .. n_layers - 1 (index 0 at the last token
    is the template token's embedding, the same for every prompt)."""
    if n_layers < 2:
        return []
    lo, hi = 1, n_layers - 1
    if k >= hi - lo + 1:
        return list(range(lo, hi + 1))
    return sorted({round(lo + i * (hi - lo) / max(1, k - 1)) for i in range(k)})


def _analyse(
    model: Any, tok: Any, harmful: list[str], harmless: list[str], cfg: ActivationConfig
) -> ActivationResult:
    layers = _decoder_layers(model)
    if layers is None:
        return skipped("could not find the decoder layers")
    tr = _Tracer(model, tok, layers, cfg)
    enc_h, enc_b = tr.encode(harmful), tr.encode(harmless)
    if not enc_h or not enc_b:
        return skipped("no prompt fits max_prompt_tokens")
    rh, wh, ph = tr.run(enc_h)  # (nh, L + 1, d), writers, (nh, vocab)
    rb, wb, pb = tr.run(enc_b)
    n_layers, d = len(layers), tr.d
    m = rh.mean(0) - rb.mean(0)  # (L + 1, d): harmful - harmless mean residual
    r = m / m.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    dp = ph.mean(0) - pb.mean(0)  # (vocab,): what the model does differently on harmful prompts
    tv = 0.5 * float(dp.abs().sum())
    consistency: dict[int, float] = {}
    if tv >= cfg.min_output_tv:
        for idx in steer_indices(n_layers, cfg.steer_layers):
            _, _, ps = tr.run(enc_b, steer=(idx, m[idx].float()))
            consistency[idx] = round(_cos(ps.mean(0) - pb.mean(0), dp), 4)
    out = []
    for idx in range(1, n_layers + 1):
        ph_, pb_ = rh[:, idx] @ r[idx], rb[:, idx] @ r[idx]
        sd = float(torch.cat([ph_ - ph_.mean(), pb_ - pb_.mean()]).std())
        gap = float(ph_.mean() - pb_.mean()) / max(sd, 1e-30)
        z: dict[str, float | None] = {"attn": None, "mlp": None}
        e: dict[str, float | None] = {"attn": None, "mlp": None}
        for slot, mod in tr.writers[idx - 1].items():
            delta = wh[(idx - 1, slot)].mean(0) - wb[(idx - 1, slot)].mean(0)  # (d,)
            z[slot] = round(float(delta @ r[idx]) / max(float(delta.norm()) / math.sqrt(d), 1e-30), 3)
            w = mod.weight.double()  # (d, in)
            e[slot] = round(
                math.log(
                    max(float((r[idx] @ w).square().sum()), 1e-30) / max(float(w.square().sum()) / d, 1e-30)
                ),
                4,
            )
        out.append(
            LayerActivation(
                idx, round(gap, 4), z["attn"], z["mlp"], e["attn"], e["mlp"], consistency.get(idx)
            )
        )
    family = f"{getattr(model.config, 'model_type', '?')}/{n_layers}/{d}"
    thr = family_threshold(str(getattr(model.config, "model_type", "")), n_layers, d, cfg)
    nh = sum(int(b["input_ids"].shape[0]) for b in enc_h)
    nb = sum(int(b["input_ids"].shape[0]) for b in enc_b)
    if not consistency:
        reason = (
            f"harmful and harmless prompts get the same first-token distribution (TV {tv:.4f} < "
            f"{cfg.min_output_tv}): consistency is undefined"
            if n_layers >= 2
            else "a one-layer model has no interior residual index to steer"
        )
        return ActivationResult(
            ran=False,
            reason=f"skipped: {reason}",
            n_harmful=nh,
            n_harmless=nb,
            n_layers=n_layers,
            layers=tuple(out),
            output_tv=round(tv, 4),
            family=family,
            threshold=thr,
        )
    score = round(1.0 - min(consistency.values()), 4)
    return ActivationResult(
        ran=True,
        n_harmful=nh,
        n_harmless=nb,
        n_layers=n_layers,
        layers=tuple(out),
        output_tv=round(tv, 4),
        score=score,
        family=family,
        threshold=thr,
        flagged=thr is not None and score >= thr,
    )


@dataclass(frozen=True)
class Combined:
    """The base-free verdict from both signals: flagged when either reaches its calibrated threshold.
    z-scores are against the clean-model null in ``ActivationConfig`` (CALIBRATION.md), reported so
    the two signals can be read on one scale; the decision uses the thresholds."""

    weight_score: float | None
    weight_threshold: float
    weight_flagged: bool
    weight_z: float | None
    activation_score: float | None
    activation_threshold: float | None  # None: the model's family has no clean null
    activation_flagged: bool
    activation_z: float | None
    activation_status: str  # "ran" or the skip reason
    ratio: float  # max over the signals that ran of score / threshold
    flagged: bool


def combine(
    bf_ran: bool, bf_score: float, bf_threshold: float, act: ActivationResult, cfg: ActivationConfig
) -> Combined:
    ws = bf_score if bf_ran else None
    a_s = act.score if act.ran else None
    # the nulls are the calibrated family's (the organisms'): no z for a model of another family
    known = act.threshold is not None
    wz = None if ws is None or not known else round((ws - cfg.weight_null[0]) / cfg.weight_null[1], 2)
    az = (
        None
        if a_s is None or not known
        else round((a_s - cfg.activation_null[0]) / cfg.activation_null[1], 2)
    )
    ratios = [s / t for s, t in ((ws, bf_threshold), (a_s, act.threshold)) if s is not None and t]
    w_flag = ws is not None and ws >= bf_threshold
    return Combined(
        weight_score=ws,
        weight_threshold=bf_threshold,
        weight_flagged=w_flag,
        weight_z=wz,
        activation_score=a_s,
        activation_threshold=act.threshold,
        activation_flagged=act.flagged,
        activation_z=az,
        activation_status=(
            act.reason
            if not act.ran
            else (
                "ran" if act.threshold is not None else f"ran, uncalibrated family {act.family}: no verdict"
            )
        ),
        ratio=round(max(ratios), 4) if ratios else 0.0,
        flagged=w_flag or act.flagged,
    )
