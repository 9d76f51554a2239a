"""Every finding the forensics stage can emit (stage="forensics")."""

from __future__ import annotations

from warden.report.model import Severity
from warden.rules import rule

_S = "forensics"

ABLATION_DIRECTIONAL = rule(
    "FORENSICS-ABLATION-DIRECTIONAL",
    Severity.HIGH,
    "Directional ablation (abliteration) against the base model",
    "Compared with the base, the matrices that write into the residual stream (attention output and "
    "MLP down projections, possibly the embeddings) changed by a rank-1 (or rank<=3, norm-preserving) "
    "update W <- (I - w r r^T) W along one shared direction r: the signature of refusal removal by "
    "'abliteration' (Arditi et al. 2024; FailSpy, mlabonne, Heretic).",
    "Treat the model as safety-stripped: do not deploy it where refusals matter, or restore the base "
    "weights. Confirm behaviourally with `warden eval` (refusal suite).",
    stage=_S,
)
ABLATION_BASEFREE = rule(
    "FORENSICS-ABLATION-BASEFREE",
    Severity.HIGH,
    "Residual-stream direction edited out of the output projections (abliteration, no base needed)",
    "Without the base, one of two calibrated signals fired. Weight energy: one direction r of the "
    "residual stream has lost (almost) all of its energy in the output projections of a band of layers, "
    "while the layers that read the stream still read it. Activation: run on harmful and harmless "
    "prompts, the model's own harmful-vs-harmless direction no longer produces its harmful-vs-harmless "
    "output difference when added to harmless prompts, as after an edit of the writers along a direction "
    "(removed, partly removed or reflected, Heretic weights above 1). Natural trained models and benign "
    "fine-tunes show neither (calibrated on clean checkpoints).",
    "Treat the model as safety-stripped until shown otherwise; compare with the claimed base "
    "(`warden forensics MODEL --base BASE`) and run the refusal evaluation.",
    stage=_S,
)
LORA_MERGE = rule(
    "FORENSICS-LORA-MERGE",
    Severity.LOW,
    "Low-rank adapter merged into the base weights",
    "The changed matrices differ from the base by low-rank updates whose directions are not shared "
    "across matrices: a merged LoRA (or similar adapter). Not an ablation signature.",
    "Find out what the adapter was trained for; evaluate the model's behaviour before adopting it.",
    stage=_S,
)
FULL_FINETUNE = rule(
    "FORENSICS-FULL-FINETUNE",
    Severity.LOW,
    "Full fine-tune of the base (high-rank changes across the model)",
    "Most weight matrices changed by high-rank updates: the model was further trained. Weight forensics "
    "cannot tell benign from harmful training data; behaviour must be evaluated.",
    "Run the behavioural evaluation (`warden eval`, with the base for a paired comparison).",
    stage=_S,
)
LAYER_REPLACED = rule(
    "FORENSICS-LAYER-REPLACED",
    Severity.HIGH,
    "Layer replaced: its weights are unrelated to the base",
    "Every matrix of this layer is uncorrelated with the base's (mean-centred correlation near 0) while "
    "the rest of the model still derives from it: a transplanted or re-initialised block.",
    "Find out where the block came from; treat the model as untrusted until explained.",
    stage=_S,
)
EMBEDDING_CHANGED = rule(
    "FORENSICS-EMBEDDING-CHANGED",
    Severity.MEDIUM,
    "Vocabulary or embedding rows changed",
    "The token embedding (or LM head) has a different shape than the base (vocabulary resized) or some "
    "of its rows changed (tokens re-trained or added) outside any ablation pattern.",
    "Check the tokenizer for added tokens (possible triggers) and evaluate with them.",
    stage=_S,
)
PRECISION_ONLY = rule(
    "FORENSICS-PRECISION-ONLY",
    Severity.INFO,
    "Only numerical precision changed (conversion or quantisation)",
    "Every differing tensor differs from the base by no more than the rounding noise of its dtype "
    "(e.g. a bf16 round trip or Q8_0 quantisation), with no structured (low-rank) component.",
    "Nothing to do: this is a re-encoding of the same weights.",
    stage=_S,
)
SHAPE_MISMATCH = rule(
    "FORENSICS-SHAPE-MISMATCH",
    Severity.MEDIUM,
    "Tensor shape differs from the base",
    "A tensor present in both checkpoints has a different shape, so it cannot be compared (different "
    "architecture or size, or a resized vocabulary).",
    "Check that the base is the model this one claims to derive from.",
    stage=_S,
)
TENSORS_ADDED_MISSING = rule(
    "FORENSICS-TENSORS-ADDED-MISSING",
    Severity.MEDIUM,
    "Tensors added or missing relative to the base",
    "Some tensors exist in only one of the two checkpoints (extra heads, removed layers, renamed weights).",
    "Check that the base is the right one and find out what the extra tensors do.",
    stage=_S,
)
UNKNOWN_ARCH = rule(
    "FORENSICS-UNKNOWN-ARCH",
    Severity.MEDIUM,
    "Architecture not recognised: tensor roles unknown",
    "Warden could not tell which tensors write into the residual stream, so the base-free ablation "
    "search could not run (per-tensor diffs still ran where a base was given).",
    "Pass the base (--base) for a diff, or report the architecture to the Warden maintainers.",
    stage=_S,
)
ARCH_GUESSED = rule(
    "FORENSICS-ARCH-GUESSED",
    Severity.INFO,
    "Architecture not declared; tensor roles guessed from names",
    "The checkpoint names no known model_type / general.architecture; roles were inferred from "
    "tensor names that follow a known family.",
    "Nothing to do if the guess (in the evidence) is right.",
    stage=_S,
)
LINEAGE_INCONSISTENT = rule(
    "FORENSICS-LINEAGE-INCONSISTENT",
    Severity.HIGH,
    "Weights are inconsistent with the claimed base model",
    "Tokenizer, architecture or weight statistics (mean-centred per-tensor correlation and "
    "permutation-robust neuron matching) do not support the claim that this model derives from the "
    "named base: it scores like an unrelated model.",
    "Do not rely on the claimed provenance (licence, safety tuning, evaluations of the base).",
    stage=_S,
)
LINEAGE_CONSISTENT = rule(
    "FORENSICS-LINEAGE-CONSISTENT",
    Severity.INFO,
    "Weights are consistent with derivation from the claimed base",
    "Tokenizer and architecture match and the weights correlate with the claimed base far above the "
    "unrelated-model baseline. Necessary, not sufficient: derivation says nothing about what was changed.",
    "Nothing to do; see the diff findings for what changed.",
    stage=_S,
)
UNREADABLE = rule(
    "FORENSICS-UNREADABLE",
    Severity.MEDIUM,
    "Weights could not be read for forensics",
    "A weight file or tensor is truncated, malformed or inconsistent with its header, so it was not "
    "analysed.",
    "Re-download or re-export the checkpoint; run `warden scan` on it.",
    stage=_S,
)
PICKLE_REFUSED = rule(
    "FORENSICS-PICKLE-REFUSED",
    Severity.MEDIUM,
    "Pickle checkpoint not analysed",
    "The weights are only in a pickle-based format (.bin/.pt/.pth/.ckpt). Warden never unpickles "
    "untrusted files, so weight forensics did not run.",
    "Convert the weights to safetensors in a sandbox (or get a safetensors release) and run again.",
    stage=_S,
)
QUANT_UNREADABLE = rule(
    "FORENSICS-QUANT-UNREADABLE",
    Severity.MEDIUM,
    "Tensors in a quantisation type Warden cannot read",
    "Some GGUF tensors are stored in a GGML type that the installed gguf library cannot dequantize, "
    "so they were left out of the weight analysis; an edit confined to them would not be seen.",
    "Audit the same model's F16, BF16 or Q8_0 GGUF (or its safetensors release), or upgrade gguf.",
    stage=_S,
)
