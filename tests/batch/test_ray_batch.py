"""``gencurve batch --ray-address local``: a real private Ray instance with two actors (no mocks). The batch gives
the same outputs as the embedded run and survives one actor being killed (SIGKILL) in the middle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
from batch_helpers import CLI, crops, gencurve, results
from PIL import Image

pytest.importorskip("ray")

ARGS = ["--probes", "8", "--t-min", "100", "--model", "demo", "--device", "cpu", "--steps", "10"]


@pytest.mark.slow  # a private Ray cluster starts a dozen processes: 30 s alone, 2 min beside another test process
def test_ray_batch_matches_the_embedded_run_and_survives_a_killed_actor(tmp_path, sample_rgb):
    folder = tmp_path / "images"
    folder.mkdir()
    for k, crop in enumerate(crops(sample_rgb, 8)):
        Image.fromarray(crop).save(folder / f"img{k}.png")
    # 1. the embedded run, for reference
    embedded = gencurve("batch", "saliency", folder, "-o", tmp_path / "embedded", *ARGS)
    assert embedded.returncode == 0, embedded.stderr
    # 2. the same batch on two Ray actors; one is killed once it has finished an item and taken the next
    out = tmp_path / "ray"
    cmd = ["batch", "saliency", folder, "-o", out, *ARGS, "--ray-address", "local", "--workers", "2"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", RAY_USAGE_STATS_ENABLED="0")
    proc = subprocess.Popen([*CLI, *map(str, cmd)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        end = time.monotonic() + 300
        while not ((out / "results.jsonl").exists() and (out / "results.jsonl").read_text().strip()):
            assert proc.poll() is None and time.monotonic() < end, proc.communicate()
            time.sleep(0.05)
        victim = int(results(out)[0]["worker"].rsplit(":", 1)[1])
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout + stderr[-3000:]
    summary = json.loads(stdout)
    assert (summary["done"], summary["failed"], summary["workers"]) == (8, 0, 2), summary
    lines = {rec["id"]: rec for rec in results(out)}
    assert len(lines) == 8 and all(rec["error"] is None for rec in lines.values())
    retried = [rec for rec in lines.values() if rec["attempts"] == 2]
    assert retried, "the killed actor's item was not run again"
    assert all(rec["worker"] != f"ray:{os.uname().nodename}:{victim}" for rec in retried)
    # 3. the same maps and figures as the embedded run (actors use one thread: float sums differ by ~1e-7)
    reference = {rec["id"]: rec for rec in results(tmp_path / "embedded")}
    for name, rec in lines.items():
        mine = np.array(Image.open(out / f"{name}_saliency.png"), dtype=int)
        theirs = np.array(Image.open(tmp_path / "embedded" / f"{name}_saliency.png"), dtype=int)
        assert np.abs(mine - theirs).max() <= 1, name
        np.testing.assert_allclose(
            rec["result"]["fluctuation_range"], reference[name]["result"]["fluctuation_range"], rtol=1e-5
        )
        assert rec["result"]["output"] == str((out / f"{name}_saliency.png").resolve())  # not the actor's temp path
