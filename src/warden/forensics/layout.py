"""A checkpoint's residual-stream layout: d_model, layers, writers per layer, readers, embedding."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from warden.forensics.checkpoint import Checkpoint
from warden.forensics.roles import ArchSpec, Role, TensorRole, arch_spec, classify, guess_family


@dataclass(frozen=True)
class Layout:
    d_model: int | None
    n_layers: int
    spec: ArchSpec | None  # None: unknown architecture
    declared: str | None  # model_type / general.architecture as declared
    guessed: bool  # roles inferred from names without a known declared architecture
    roles: dict[str, TensorRole]
    writers: dict[int, dict[str, tuple[str, ...]]]  # layer -> {"attn": names, "mlp": names}
    readers: tuple[str, ...]
    embedding: str | None
    lm_head: str | None
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (tensor, why it was left out)
    unreadable: int = 0  # tensors left out because gguf cannot dequantize their type

    @property
    def known(self) -> bool:
        return self.spec is not None and bool(self.writers)

    @property
    def writers_unreadable(self) -> bool:
        """A known architecture with no residual writer left: every one is in an unreadable type."""
        return self.spec is not None and not self.writers and self.unreadable > 0

    @property
    def layer_norm(self) -> bool:
        return bool(self.spec and self.spec.layer_norm)


def build_layout(ck: Checkpoint) -> Layout:
    shapes = {n: i.shape for n, i in ck.tensors.items() if i.is_float and n not in ck.unreadable}
    d = ck.d_model or _infer_d(ck, shapes)
    roles = {n: classify(n, s, d) for n, s in shapes.items()}
    spec = arch_spec(ck.model_type)
    guessed = False
    if spec is None:
        fam = guess_family(roles)
        spec = arch_spec(fam) if fam else None
        guessed = spec is not None
        if spec is not None and _has_layernorm_bias(roles, shapes):
            spec = ArchSpec(spec.family, layer_norm=True)
    writers: dict[int, dict[str, list[str]]] = {}
    readers: list[str] = []
    skipped = [(n, f"stored as {t}, which gguf cannot dequantize") for n, t in ck.unreadable.items()]
    embedding = lm_head = None
    for name in sorted(roles):
        r = roles[name]
        if r.role in (Role.NORM, Role.OTHER, Role.POS_EMBEDDING, Role.ROUTER):
            continue
        if r.residual_axis is None or d is None:
            skipped.append((name, "residual axis unknown"))
            continue
        if shapes[name][r.residual_axis] != d:
            skipped.append((name, f"axis {r.residual_axis} is {shapes[name][r.residual_axis]}, not d={d}"))
            continue
        if r.role.writes and r.layer is not None:
            slot = "attn" if r.role is Role.ATTN_OUT else "mlp"
            writers.setdefault(r.layer, {}).setdefault(slot, []).append(name)
        elif r.role.reads:
            readers.append(name)
        elif r.role is Role.EMBEDDING and embedding is None:
            embedding = name
        elif r.role is Role.LM_HEAD and lm_head is None:
            lm_head = name
    n_layers = (max(writers) + 1) if writers else 0
    return Layout(
        d_model=d,
        n_layers=n_layers,
        spec=spec,
        declared=ck.model_type,
        guessed=guessed,
        roles=roles,
        writers={k: {s: tuple(v) for s, v in slots.items()} for k, slots in sorted(writers.items())},
        readers=tuple(readers),
        embedding=embedding,
        lm_head=lm_head,
        skipped=tuple(skipped),
        unreadable=len(ck.unreadable),
    )


def _infer_d(ck: Checkpoint, shapes: dict[str, tuple[int, ...]]) -> int | None:
    for name, shape in shapes.items():
        r = classify(name, shape)
        if r.role is Role.EMBEDDING and len(shape) == 2:
            return shape[1]
    counts: Counter[int] = Counter()
    for name, shape in shapes.items():
        r = classify(name, shape)
        if r.role.writes and r.residual_axis is not None and len(shape) == 2:
            counts[shape[r.residual_axis]] += 1
    return counts.most_common(1)[0][0] if counts else None


def _has_layernorm_bias(roles: dict[str, TensorRole], shapes: dict[str, tuple[int, ...]]) -> bool:
    """LayerNorm (mean-subtracting) carries a bias; RMSNorm does not."""
    return any(r.role is Role.NORM and n.endswith(".bias") for n, r in roles.items())
