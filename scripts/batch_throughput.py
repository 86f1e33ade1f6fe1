"""Items per minute of ``gencurve batch saliency``: embedded (one process) vs Ray with N workers.

    python3 scripts/batch_throughput.py [--images 12] [--size 128] [--workers 2] [--model demo] [--steps 20]

Makes ``--images`` crops of the bundled samples in a temporary folder, runs the batch both ways into fresh output
folders and prints one row per run: items per minute over the items (model loading and Ray start-up excluded, as
the summary's ``items_per_minute``) and the wall-clock time of the whole command.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def make_images(folder: Path, count: int, size: int) -> None:
    samples = [np.array(Image.open(p).convert("RGB")) for p in sorted((ROOT / "resources" / "samples").glob("*.png"))]
    rng = np.random.default_rng(0)
    for k in range(count):
        rgb = samples[k % len(samples)]
        y, x = (int(rng.integers(0, max(1, rgb.shape[i] - size))) for i in (0, 1))
        Image.fromarray(np.ascontiguousarray(rgb[y : y + size, x : x + size])).save(folder / f"img{k:03d}.png")


def run(args: list[str]) -> tuple[dict, float]:
    start = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "gencurve_desktop.cli.entry", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"),
    )
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    return json.loads(r.stdout), time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=12)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model", default="demo")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--probes", type=int, default=16)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "images"
        images.mkdir()
        make_images(images, a.images, a.size)
        common = ["--model", a.model, "--steps", str(a.steps), "--probes", str(a.probes), "--device", "cpu"]
        rows = []
        for label, extra in (
            ("embedded", []),
            (f"ray x{a.workers}", ["--ray-address", "local", "--workers", str(a.workers)]),
        ):
            summary, wall = run(["batch", "saliency", str(images), "-o", str(Path(tmp) / label), *common, *extra])
            rows.append((label, summary["workers"], summary["done"], summary["items_per_minute"], wall))
    print(
        f"batch saliency, {a.images} images {a.size}x{a.size}, --model {a.model} --steps {a.steps} --probes {a.probes}"
    )
    print("| run | workers | items | items/min (items only) | whole command, s |")
    print("|---|---|---|---|---|")
    for label, workers, done, per_min, wall in rows:
        print(f"| {label} | {workers} | {done} | {per_min:.1f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
