"""Scan benchmark (not a test): Warden vs picklescan and modelscan, and vs sha256sum of the same bytes.

Builds a corpus in a temp dir (GiB-scale safetensors shards, a dense multi-hundred-MB pickle, torch
zip checkpoints), then times, in one run:
  - sha256sum over every file                   (the floor: reading + hashing the bytes once)
  - warden scan (with manifest)                 target ≤ 1.3× sha256sum
  - warden's pickle walk of the dense pickle    target ≥ 3× faster than picklescan on the same file
  - picklescan / modelscan on the corpus        (installed from PyPI into benchmarks/.peers-venv)
and prints peak RSS of each process (memory must stay flat in file size).

Usage: python benchmarks/scan_bench.py [--gib 3] [--pickle-mb 300] [--keep DIR] [--no-peers]
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".peers-venv"


def build_corpus(base: Path, gib: float, pickle_mb: int) -> None:
    """base/weights: safetensors shards + torch zips; base/pickle: one dense pickle."""
    from safetensors.numpy import save_file

    root = base / "weights"
    root.mkdir(parents=True, exist_ok=True)
    (base / "pickle").mkdir(exist_ok=True)
    shard_bytes = 512 * 2**20
    n_shards = max(1, int(gib * 2**30 // shard_bytes))
    rng = np.random.default_rng(0)
    block = rng.standard_normal(2**20, dtype=np.float32)  # 4 MiB, tiled (content does not matter)
    for i in range(n_shards):
        tensors = {
            f"layer.{i}.{j}.weight": np.tile(block, 8).reshape(4096, 2048)
            for j in range(shard_bytes // (32 * 2**20))
        }
        save_file(tensors, str(root / f"model-{i:05d}-of-{n_shards:05d}.safetensors"))
    # A dense pickle: many small objects → many opcodes per byte (the pickle walker's worst case).
    target = pickle_mb * 2**20
    chunk = [(k, f"name{k}", float(k), [k, k + 1], {"a": k}) for k in range(200_000)]
    with (base / "pickle" / "dense.pkl").open("wb") as fh:
        while fh.tell() < target:
            pickle.dump(chunk, fh, protocol=4)
    try:
        import torch

        for i in range(3):
            sd = {f"w{j}": torch.randn(1024, 1024) for j in range(16)}
            torch.save(sd, root / f"ckpt{i}.pt")
    except ImportError:
        pass


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int, str]:
    """Run cmd; return (seconds, peak RSS in MiB — the process's VmHWM polled every 10 ms —, exit code, output tail)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _hwm_kib(proc.pid))
        time.sleep(0.01)
    dt = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    return dt, peak // 1024, proc.returncode, out[-300:]


def ensure_peers() -> Path | None:
    py = PEERS_VENV / "bin" / "python"
    if not py.exists():
        print("installing picklescan and modelscan into", PEERS_VENV, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        r = subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "picklescan", "modelscan"], capture_output=True, text=True
        )
        if r.returncode != 0:
            print("could not install peers:", r.stderr[-500:])
            return None
    return PEERS_VENV / "bin"


def walk_only_cmd(path: Path) -> list[str]:
    code = (
        "import sys; from pathlib import Path; from warden.scan.core import Scanner; "
        "from warden.formats.pickle import PickleScanner; "
        "s = Scanner([PickleScanner()]); p = Path(sys.argv[1]); "
        "print(len(list(s.scan_file(p, p.name, None))), 'findings')"
    )
    return [sys.executable, "-c", code, str(path)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=3.0, help="GiB of safetensors shards")
    ap.add_argument("--pickle-mb", type=int, default=300)
    ap.add_argument("--keep", type=Path, default=None, help="build/keep the corpus here")
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="warden-bench-"))
    if not any((root / "weights").glob("*.safetensors")):
        print(
            f"building corpus in {root} ({args.gib} GiB safetensors, {args.pickle_mb} MB dense pickle)…",
            flush=True,
        )
        build_corpus(root, args.gib, args.pickle_mb)
    weights = sorted(p for p in (root / "weights").iterdir() if p.is_file())
    dense = root / "pickle" / "dense.pkl"
    files = [*weights, dense]
    total = sum(p.stat().st_size for p in files)
    print(f"corpus: {len(files)} files, {total / 2**30:.2f} GiB ({len(weights)} weight files + dense.pkl)")
    warden = str(Path(sys.executable).parent / "warden")
    # warm the page cache once so every tool reads from memory
    subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL)

    def scan(path: Path) -> list[str]:
        return [
            warden,
            "scan",
            str(path),
            "--format",
            "json",
            "--output",
            os.devnull,
            "--quiet",
            "--fail-on",
            "never",
        ]

    rows: list[tuple[str, float, int, int]] = []
    t, m, rc, _ = timed(["sha256sum", *map(str, weights)])
    rows.append(("sha256sum (weights: safetensors + torch zips)", t, m, rc))
    sha_w = t
    t, m, rc, out = timed(scan(root / "weights"))
    rows.append(("warden scan + manifest (weights)", t, m, rc))
    warden_w = t
    t, m, rc, _ = timed(["sha256sum", *map(str, files)])
    rows.append(("sha256sum (weights + dense.pkl)", t, m, rc))
    sha = t
    t, m, rc, out = timed(scan(root))
    rows.append(("warden scan + manifest (weights + dense.pkl)", t, m, rc))
    warden_t = t
    t, m, rc, _ = timed(["sha256sum", str(dense)])
    rows.append(("sha256sum (dense.pkl)", t, m, rc))
    t, m, rc, out = timed(walk_only_cmd(dense))
    rows.append(("warden pickle walk (dense.pkl)", t, m, rc))
    walk_t = t
    peers = None if args.no_peers else ensure_peers()
    ps_t = None
    if peers:
        t, m, rc, out = timed([str(peers / "picklescan"), "--path", str(dense)])
        rows.append(("picklescan (dense.pkl)", t, m, rc))
        ps_t = t
        t, m, rc, out = timed([str(peers / "picklescan"), "--path", str(root / "weights")])
        rows.append(("picklescan (weights)", t, m, rc))
        t, m, rc, out = timed([str(peers / "modelscan"), "-p", str(root / "weights")])
        rows.append(("modelscan (weights)", t, m, rc))
        t, m, rc, out = timed([str(peers / "modelscan"), "-p", str(dense)])
        rows.append(("modelscan (dense.pkl)", t, m, rc))

    print(f"\n{'tool':48s} {'seconds':>9s} {'peak MiB':>9s} {'rc':>4s}")
    for name, t, m, rc in rows:
        print(f"{name:48s} {t:9.2f} {m:9d} {rc:4d}")
    print(f"\nwarden scan / sha256sum, weights            = {warden_w / sha_w:.2f}×   (target ≤ 1.3×)")
    print(
        f"warden scan / sha256sum, weights + dense.pkl = {warden_t / sha:.2f}×   (target ≤ 1.3×; walk-bound)"
    )
    if ps_t:
        print(f"picklescan / warden pickle walk (dense.pkl)  = {ps_t / walk_t:.2f}×   (target ≥ 3×)")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
