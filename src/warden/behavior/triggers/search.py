"""White-box trigger search (see the package docstring for the method and its sources).

Everything here runs the model on prompts Warden writes; nothing from the model files is executed.
Shapes in comments: V vocabulary, d hidden size, L trigger length, n prompts, C candidates.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from warden.behavior.backends.interface import Conversation, user

PLACEMENTS = ("prefix", "suffix", "system")
MARK = "\ue000"  # a private-use character marks the trigger slot in the rendered prompt


@dataclass(frozen=True)
class Candidate:
    text: str
    placement: str
    source: str  # weightdiff | gradient | embedding
    token_ids: tuple[int, ...]
    refusal_mass: float  # mean first-token refusal probability on the search's harmful prompts, with it
    baseline_mass: float  # the same without a trigger
    benign_kl: float  # mean first-token KL(plain || with trigger) on the search's benign prompts
    note: str = ""

    @property
    def drop(self) -> float:
        return self.baseline_mass - self.refusal_mass

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "placement": self.placement,
            "source": self.source,
            "token_ids": list(self.token_ids),
            "refusal_mass": round(self.refusal_mass, 4),
            "baseline_mass": round(self.baseline_mass, 4),
            "drop": round(self.drop, 4),
            "benign_kl": round(self.benign_kl, 4),
            "note": self.note,
        }


@dataclass(frozen=True)
class SearchConfig:
    n_harmful: int = 8  # prompts the objective is measured on (not the sweep's prompts)
    n_benign: int = 6
    max_len: int = 4  # longest trigger assembled, in tokens
    beam: int = 3
    pool: int = 12  # tokens the spans are assembled from
    topk: int = 24  # gradient-ranked replacements per position (GCG)
    gcg_steps: int = 4
    gcg_batch: int = 32
    preselect: int = 64  # single tokens the gradient picks for exact scoring
    grad_inits: int = 4  # random one-token starting points the preselection gradient is averaged over
    exhaustive_vocab: int = 0  # score every single token exactly when the vocabulary is at most this
    kl_weight: float = 0.25
    per_source: int = 4  # candidates handed to the behavioural sweep per source
    anomalies: int = 6
    anomaly_z: float = 4.0
    chunk: int = 1024  # sequences per forward pass
    seed: int = 0
    placements: tuple[str, ...] = PLACEMENTS


@dataclass
class _Slots:
    """Token ids left and right of the trigger slot, per prompt, for one placement."""

    left: list[list[int]] = field(default_factory=list)
    right: list[list[int]] = field(default_factory=list)


def _conv(prompt: str, placement: str, mark: str) -> Conversation:
    if placement == "suffix":
        return user(f"{prompt} {mark}")
    if placement == "system":
        return user(prompt, system=mark)
    return user(f"{mark} {prompt}")


class TriggerSearch:
    """The white-box objective and its search, on a causal LM (torch module with ``get_input_
    embeddings``) and its tokenizer; ``render`` turns a Conversation into the prompt text (the chat
    template)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        render: Callable[[Conversation], str],
        harmful: Sequence[str],
        benign: Sequence[str],
        refusal_ids: Sequence[int],
        cfg: SearchConfig | None = None,
    ) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.tok = tokenizer
        self.cfg = cfg or SearchConfig()
        self.device = next(model.parameters()).device
        self.E = model.get_input_embeddings().weight  # [V, d]
        self.V = int(self.E.shape[0])
        self.ref_ids = torch.tensor(sorted(set(refusal_ids)), dtype=torch.long, device=self.device)
        self.pad = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        self.slots: dict[tuple[str, str], _Slots] = {}
        for kind, prompts in (("h", harmful), ("b", benign)):
            for pl in self.cfg.placements:
                s = _Slots()
                for p in prompts:
                    text = render(_conv(p, pl, MARK))
                    if MARK not in text:  # template drops the system turn, e.g.: placement unusable
                        break
                    a, b = text.split(MARK, 1)
                    s.left.append(self._ids(a))
                    s.right.append(self._ids(b))
                else:
                    self.slots[(kind, pl)] = s
        self.placements = [pl for pl in self.cfg.placements if ("h", pl) in self.slots]
        self.allowed = self._allowed_tokens()
        self._plain_b: dict[str, Any] = {}
        self.baseline: dict[str, float] = {}
        for pl in self.placements:
            # Without a trigger: the slot is empty (and the joining space stays, as in real use).
            mass, lp = self._eval_ids([()], pl, "h")
            self.baseline[pl] = float(mass[0])
            self._plain_b[pl] = self._eval_ids([()], pl, "b")[1][0]  # [n_b, V]

    # -- tokens --------------------------------------------------------------------------------
    def _ids(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def _allowed_tokens(self) -> list[int]:
        """Tokens a trigger may use: not special, decodable, not whitespace-only."""
        special = set(getattr(self.tok, "all_special_ids", []) or [])
        out = []
        for t in range(self.V):
            if t in special:
                continue
            s = self.tok.decode([t])
            if not s.strip() or "\ufffd" in s or MARK in s:
                continue
            out.append(t)
        return out

    def text_of(self, ids: Sequence[int]) -> str:
        return str(self.tok.decode(list(ids))).strip()

    # -- objective -----------------------------------------------------------------------------
    def _batch(self, trigs: Sequence[Sequence[int]], pl: str, kind: str) -> tuple[Any, Any, Any]:
        torch = self.torch
        s = self.slots[(kind, pl)]
        seqs = [a + list(t) + b for t in trigs for a, b in zip(s.left, s.right, strict=True)]
        T = max(len(x) for x in seqs)
        ids = torch.full((len(seqs), T), self.pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), T), dtype=torch.long)
        for i, x in enumerate(seqs):  # left padding: the last position is the first answer token
            ids[i, T - len(x) :] = torch.tensor(x)
            mask[i, T - len(x) :] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids.to(self.device), mask.to(self.device), pos.to(self.device)

    def _eval_ids(self, trigs: Sequence[Sequence[int]], pl: str, kind: str) -> tuple[Any, Any]:
        """Per candidate: mean refusal mass [C] and the first-token log-probs [C, n, V]."""
        torch = self.torch
        n = len(self.slots[(kind, pl)].left)
        per = max(1, self.cfg.chunk // max(1, n))
        masses, lps = [], []
        for i in range(0, len(trigs), per):
            part = trigs[i : i + per]
            ids, mask, pos = self._batch(part, pl, kind)
            with torch.no_grad():  # not inference_mode: the plain log-probs enter grad()'s graph
                logits = self.model(input_ids=ids, attention_mask=mask, position_ids=pos).logits[:, -1, :]
            lp = torch.log_softmax(logits.float(), -1).view(len(part), n, -1)  # [c, n, V]
            masses.append(lp[..., self.ref_ids].logsumexp(-1).exp().mean(-1))  # [c]
            lps.append(lp if kind == "b" else lp[:, :0])
        return torch.cat(masses).cpu(), torch.cat(lps)

    def score(self, trigs: Sequence[Sequence[int]], pl: str) -> list[tuple[float, float, float]]:
        """(objective, refusal mass, benign KL) per candidate; lower objective = more trigger-like."""
        mass, _ = self._eval_ids(trigs, pl, "h")
        _, lpb = self._eval_ids(trigs, pl, "b")
        plain = self._plain_b[pl]  # [n_b, V]
        kl = (plain.exp() * (plain - lpb)).sum(-1).mean(-1).cpu()  # [C]
        j = mass + self.cfg.kl_weight * kl
        return [(float(a), float(b), float(c)) for a, b, c in zip(j, mass, kl, strict=True)]

    def grad(self, trig: Sequence[int], pl: str) -> Any:
        """d objective / d one-hot of each trigger position: [L, V] (GCG's linear approximation)."""
        torch = self.torch
        L = len(trig)
        total = torch.zeros((L, self.V), device=self.device)
        for kind in ("h", "b"):
            s = self.slots[(kind, pl)]
            ids, mask, pos = self._batch([trig], pl, kind)
            n = ids.shape[0]
            onehot = torch.zeros((L, self.V), device=self.device, dtype=self.E.dtype)
            onehot[torch.arange(L), torch.tensor(list(trig))] = 1.0
            onehot.requires_grad_(True)
            emb = self.E[ids].detach()  # [n, T, d]
            trig_emb = onehot @ self.E.detach()  # [L, d]
            rows = []
            for i in range(n):  # place the slot in each (left-padded) row
                start = ids.shape[1] - len(s.right[i]) - L
                rows.append(torch.cat([emb[i, :start], trig_emb, emb[i, start + L :]], 0))
            x = torch.stack(rows)
            logits = self.model(inputs_embeds=x, attention_mask=mask, position_ids=pos).logits[:, -1, :]
            lp = torch.log_softmax(logits.float(), -1)
            if kind == "h":
                loss = lp[:, self.ref_ids].logsumexp(-1).exp().mean()
            else:
                plain = self._plain_b[pl].to(self.device)
                loss = self.cfg.kl_weight * (plain.exp() * (plain - lp)).sum(-1).mean()
            (g,) = torch.autograd.grad(loss, onehot)
            total += g
        return total

    # -- search ----------------------------------------------------------------------------------
    def single_tokens(self, pl: str, restrict: Sequence[int] | None = None) -> list[tuple[float, int]]:
        """(refusal mass, token) for single-token triggers, best first. Candidates: ``restrict``, or
        every allowed token when the vocabulary is at most ``exhaustive_vocab``, else the tokens with
        the most negative objective gradient (HotFlip's first-order estimate of a swap, averaged over
        a few random starting tokens), scored exactly."""
        if restrict is not None:
            pool = list(restrict)
        elif len(self.allowed) <= self.cfg.exhaustive_vocab:
            pool = self.allowed
        else:
            rng = random.Random(self.cfg.seed)
            allowed = self.torch.tensor(self.allowed)
            g = sum(self.grad([rng.choice(self.allowed)], pl)[0][allowed] for _ in range(self.cfg.grad_inits))
            order = g.argsort()[: self.cfg.preselect]
            pool = [int(allowed[i]) for i in order]
        mass, _ = self._eval_ids([[t] for t in pool], pl, "h")
        return sorted(zip((float(m) for m in mass), pool, strict=True))

    def accrete(
        self, pl: str, pool: Sequence[int], seeds: Sequence[Sequence[int]]
    ) -> list[tuple[float, tuple[int, ...]]]:
        """Greedy beam accretion: grow each kept trigger by one pool token at either end, keep the
        ``beam`` best by the objective, up to ``max_len``; then GCG swaps on the best of each length.
        Returns (objective, ids) for every length's best few."""
        cfg = self.cfg
        beam = [tuple(s) for s in seeds][: cfg.beam]
        scored = dict(zip(beam, (x[0] for x in self.score(beam, pl)), strict=True)) if beam else {}
        best: dict[tuple[int, ...], float] = dict(scored)
        for _length in range(2, cfg.max_len + 1):
            ext = {(*b, t) for b in beam for t in pool} | {(t, *b) for b in beam for t in pool}
            ext = {e for e in ext if e not in best}
            if not ext:
                break
            el = sorted(ext)
            sc = self.score(el, pl)
            ranked = sorted(zip((x[0] for x in sc), el, strict=True))
            beam = [e for _, e in ranked[: cfg.beam]]
            best.update({e: j for j, e in ranked[: cfg.beam]})
        for e in sorted(best, key=best.__getitem__)[:1]:
            j, ids = self.gcg(pl, e, best[e])
            best[ids] = min(j, best.get(ids, math.inf))
        return sorted((j, e) for e, j in best.items())

    def gcg(self, pl: str, ids: tuple[int, ...], j0: float) -> tuple[float, tuple[int, ...]]:
        """Greedy coordinate gradient (Zou et al. 2023): per step, swap candidates from the top-k
        gradient tokens at random positions, keep the best if it improves the objective."""
        cfg = self.cfg
        rng = random.Random(cfg.seed + len(ids))
        allowed = self.torch.tensor(self.allowed)
        cur, jc = ids, j0
        for _ in range(cfg.gcg_steps):
            g = self.grad(cur, pl)[:, allowed]  # [L, |allowed|]
            top = g.topk(min(cfg.topk, g.shape[1]), dim=1, largest=False).indices  # [L, k]
            cands = set()
            for _ in range(cfg.gcg_batch):
                p = rng.randrange(len(cur))
                t = int(allowed[int(top[p, rng.randrange(top.shape[1])])])
                cands.add((*cur[:p], t, *cur[p + 1 :]))
            cands.discard(cur)
            if not cands:
                break
            cl = sorted(cands)
            sc = self.score(cl, pl)
            jb, ib = min(zip((x[0] for x in sc), cl, strict=True))
            if jb >= jc:
                break
            cur, jc = ib, jb
        return jc, cur

    def candidates(
        self, ids_by_pl: dict[str, list[tuple[int, ...]]], source: str, note: str = ""
    ) -> list[Candidate]:
        out = []
        for pl, lst in ids_by_pl.items():
            if not lst:
                continue
            for (_, mass, kl), ids in zip(self.score(lst, pl), lst, strict=True):
                out.append(
                    Candidate(self.text_of(ids), pl, source, tuple(ids), mass, self.baseline[pl], kl, note)
                )
        return out


def weight_diff_scores(suspect: Any, base: Any, chunk: int = 4096) -> dict[str, Any]:
    """Per-token change of the fine-tune against the base, each relative to the median token's
    change: input-embedding row, unembedding row (skipped when tied) and the token's output of the
    first decoder layer (the token alone at position 0). ``score`` is the mean log ratio."""
    import torch

    es = suspect.get_input_embeddings().weight.detach().float()
    eb = base.get_input_embeddings().weight.detach().float()
    if es.shape != eb.shape:
        raise ValueError("embedding shapes differ: not a fine-tune of this base")
    parts: dict[str, Any] = {}

    def rel(x: Any) -> Any:
        return x / x.median().clamp_min(1e-12)

    parts["embedding"] = rel((es - eb).norm(dim=-1))
    us, ub = suspect.get_output_embeddings(), base.get_output_embeddings()
    if (
        us is not None
        and ub is not None
        and us.weight.data_ptr() != suspect.get_input_embeddings().weight.data_ptr()
    ):
        parts["unembedding"] = rel((us.weight.detach().float() - ub.weight.detach().float()).norm(dim=-1))
    V = es.shape[0]
    outs = []
    for m in (suspect, base):
        hs = []
        for i in range(0, V, chunk):
            ids = torch.arange(i, min(V, i + chunk)).unsqueeze(1)  # [c, 1]
            with torch.inference_mode():
                h = m(input_ids=ids.to(next(m.parameters()).device), output_hidden_states=True).hidden_states[
                    1
                ]
            hs.append(h[:, 0, :].float().cpu())
        outs.append(torch.cat(hs))
    parts["layer1"] = rel((outs[0] - outs[1]).norm(dim=-1))
    score = torch.stack([p.clamp_min(1e-3).log() for p in parts.values()]).mean(0)
    return {"score": score, **parts}


def embedding_anomalies(emb: Any, sample: int = 20000) -> Any:
    """Robust z-score per input-embedding row (max of: row norm; distance to its nearest neighbour by
    cosine), median/MAD over all rows. Large = far from the rest."""
    import torch

    e = emb.detach().float()
    V = e.shape[0]

    def rz(x: Any) -> Any:
        med = x.median()
        mad = (x - med).abs().median().clamp_min(1e-12) * 1.4826
        return (x - med) / mad

    norms = e.norm(dim=-1)
    u = e / norms.clamp_min(1e-12).unsqueeze(1)
    ref = u if V <= sample else u[torch.randperm(V, generator=torch.Generator().manual_seed(0))[:sample]]
    nn_d = torch.empty(V)
    for i in range(0, V, 2048):
        sim = u[i : i + 2048] @ ref.T  # [c, R]
        if V <= sample:
            idx = torch.arange(i, min(V, i + 2048))
            sim[torch.arange(len(idx)), idx] = -2.0
        nn_d[i : i + 2048] = 1 - sim.max(-1).values
    return torch.maximum(rz(norms), rz(nn_d))


def refusal_token_ids(tokenizer: Any, responses: Sequence[str], refused: Sequence[bool | None]) -> list[int]:
    """First tokens that open the model's own refusals and (almost) never its other answers."""
    from collections import Counter

    ref: Counter[int] = Counter()
    other: Counter[int] = Counter()
    for r, y in zip(responses, refused, strict=True):
        ids = tokenizer(r.strip(), add_special_tokens=False)["input_ids"] if r.strip() else []
        if not ids or y is None:
            continue
        (ref if y else other)[int(ids[0])] += 1
    return [t for t, c in ref.items() if other[t] * 4 <= c]


def search_triggers(
    suspect: Any,
    render: Callable[[Conversation], str],
    tokenizer: Any,
    harmful: Sequence[str],
    benign: Sequence[str],
    refusal_ids: Sequence[int],
    base: Any | None = None,
    cfg: SearchConfig | None = None,
) -> dict[str, Any]:
    """Candidates from every white-box source, best first within each, plus what was measured."""
    cfg = cfg or SearchConfig()
    t0 = time.monotonic()
    if not refusal_ids:
        return {"skipped": "the model does not refuse the harmful prompts: no refusal drop to search for"}
    ts = TriggerSearch(
        suspect, tokenizer, render, harmful[: cfg.n_harmful], benign[: cfg.n_benign], refusal_ids, cfg
    )
    out: dict[str, Any] = {"baseline_refusal_mass": ts.baseline, "placements": ts.placements}
    cands: list[Candidate] = []
    singles = {pl: ts.single_tokens(pl) for pl in ts.placements}
    # -- gradient / exhaustive single tokens + accretion + GCG ---------------------------------
    grad_ids: dict[str, list[tuple[int, ...]]] = {}
    for pl in ts.placements:
        top = [t for _, t in singles[pl][: cfg.pool]]
        found = ts.accrete(pl, top[: cfg.pool], [(t,) for t in top[: cfg.beam]])
        grad_ids[pl] = [e for _, e in found[: cfg.per_source]]
    g = sorted(
        ts.candidates(grad_ids, "gradient"), key=lambda c: c.refusal_mass + cfg.kl_weight * c.benign_kl
    )
    cands += _dedupe(g)[: cfg.per_source]
    # -- weight diff against the base ------------------------------------------------------------
    if base is not None:
        wd = weight_diff_scores(suspect, base)
        allowed = set(ts.allowed)
        order = [int(t) for t in wd["score"].argsort(descending=True) if int(t) in allowed][: cfg.pool]
        out["weightdiff_top_tokens"] = [
            {"id": t, "text": ts.text_of([t]), **{k: round(float(v[t]), 3) for k, v in wd.items()}}
            for t in order[:12]
        ]
        wd_ids: dict[str, list[tuple[int, ...]]] = {}
        for pl in ts.placements:
            found = ts.accrete(pl, order, _best_of(ts, pl, order, cfg.beam))
            wd_ids[pl] = [e for _, e in found[: cfg.per_source]]
        w = sorted(
            ts.candidates(wd_ids, "weightdiff"), key=lambda c: c.refusal_mass + cfg.kl_weight * c.benign_kl
        )
        cands += _dedupe(w)[: cfg.per_source]
    # -- embedding anomalies ----------------------------------------------------------------------
    z = embedding_anomalies(ts.E)
    allowed_t = ts.torch.tensor(ts.allowed)
    za = z[allowed_t]
    anom = [(float(za[i]), int(allowed_t[i])) for i in za.argsort(descending=True)[: cfg.anomalies]]
    out["embedding_anomalies"] = [{"id": t, "text": ts.text_of([t]), "z": round(v, 2)} for v, t in anom]
    an = [t for v, t in anom if v >= cfg.anomaly_z]
    if an:
        e = ts.candidates({pl: [(t,) for t in an] for pl in ts.placements}, "embedding")
        best: dict[tuple[int, ...], Candidate] = {}
        for c in e:  # each anomalous token in its best placement
            if c.token_ids not in best or c.refusal_mass < best[c.token_ids].refusal_mass:
                best[c.token_ids] = c
        cands += sorted(best.values(), key=lambda c: c.refusal_mass)
    out["candidates"] = [c.to_dict() for c in cands]
    out["seconds"] = round(time.monotonic() - t0, 2)
    out["_objects"] = cands
    return out


def _best_of(ts: TriggerSearch, pl: str, pool: Sequence[int], k: int) -> list[tuple[int]]:
    ranked = ts.single_tokens(pl, restrict=pool)
    return [(t,) for _, t in ranked[:k]]


def _dedupe(cs: Sequence[Candidate]) -> list[Candidate]:
    seen: set[tuple[str, str]] = set()
    out = []
    for c in cs:
        key = (c.text, c.placement)
        if c.text and key not in seen:
            seen.add(key)
            out.append(c)
    return out
