"""Helpers of the batch tests: the command line in a subprocess, image crops, results.jsonl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

CLI = [sys.executable, "-m", "gencurve_desktop.cli.entry"]
DEMO = ["--model", "demo", "--device", "cpu", "--steps", "6"]


def gencurve(*args, timeout=600, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout, **kw)


def crops(rgb: np.ndarray, n: int) -> list[np.ndarray]:
    """``n`` different 64 x 64 images cut from ``rgb`` (128 x 128), flipped for variety."""
    out = []
    for k in range(n):
        y, x = (k % 3) * 32, (k // 3 % 3) * 32
        crop = rgb[y : y + 64, x : x + 64]
        out.append(np.ascontiguousarray(crop[:, ::-1] if k >= 9 else crop))
    return out


def results(outdir: Path) -> list[dict]:
    return [json.loads(line) for line in (outdir / "results.jsonl").read_text().splitlines() if line.strip()]
