"""Batch sizes of JVP/VJP calls: from the tensor sizes and the free memory, and an estimate that holds."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gencurve_desktop.engine import memory
from gencurve_desktop.engine.curves import chunk_size
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.errors import BadInputError
from gencurve_desktop.paths import resources_dir

GiB = 2**30


@pytest.fixture(scope="module")
def sd21():
    """The SD 2.1-base U-Net from its shipped config, built on the meta device: the real architecture without the
    20 s of random initialisation (the estimate reads only the config, the dtype and the device)."""
    import torch
    from diffusers import UNet2DConditionModel

    config = UNet2DConditionModel.load_config(resources_dir() / "models" / "sd21-arch" / "unet")
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config)
    return DiffusionModel("sd21-arch", unet, None, None, None, torch.device("cpu"), torch.float32)


ITERATION = textwrap.dedent(
    """
    import json, torch
    from gencurve_desktop.engine.models import load_model
    from gencurve_desktop.engine.iteration_bench import iteration_memory

    torch.set_num_threads(1)
    model = load_model("demo", "cpu", "fp32")
    print(json.dumps([iteration_memory(model, (48, 48), 12, 6, task) for task in ("transfer", "saliency-down")]))
    """
)


@pytest.mark.slow  # four measured iterations in a subprocess (about 20 s)
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's resettable peak RSS")
def test_the_iteration_memory_model_predicts_the_measured_peak_within_30_percent():
    """engine/memory.py's model of one edit iteration (fitted on autograd's saved tensors at probe sizes) against
    the peak resident memory of a real iteration at a larger size, with and without checkpointing."""
    out = subprocess.run([sys.executable, "-c", ITERATION], capture_output=True, text=True, check=True).stdout
    for row in json.loads(out):
        kept, rebuilt = row["no_checkpointing"], row["checkpointing"]
        for mode in (kept, rebuilt):
            assert 0.7 <= mode["predicted_over_measured"] <= 1.3, row
        assert rebuilt["peak_mb"] < kept["peak_mb"] / 2  # checkpointing holds one step, not six
        assert rebuilt["unet_passes"] > kept["unet_passes"]  # and pays for it in recomputed forward passes


def test_checkpointing_is_chosen_only_when_the_chain_would_not_fit(demo_model):
    need = memory.iteration_bytes(demo_model, (64, 64), 20, "transfer", checkpointing=False)
    assert not memory.use_checkpointing(demo_model, (64, 64), 20, "transfer", free=int(4 * need))
    assert memory.use_checkpointing(demo_model, (64, 64), 20, "transfer", free=int(need))
    assert memory.iteration_bytes(demo_model, (64, 64), 20, "transfer", checkpointing=True) < need / 4


def test_small_images_keep_the_speed_cap_and_no_memory_still_runs(sd21, demo_model):
    assert memory.directions_per_call(demo_model, (16, 16), "jvp", free=20 * GiB) == memory.SPEED_CAP["jvp"]["cpu"]
    assert memory.directions_per_call(demo_model, (16, 16), "vjp", free=20 * GiB) == memory.SPEED_CAP["vjp"]["cpu"]
    assert memory.directions_per_call(sd21, (128, 128), "jvp", free=1 * GiB) == 1


def test_an_explicit_chunk_wins_and_is_checked(demo_model):
    assert chunk_size(demo_model, 3, (16, 16)) == 3
    with pytest.raises(BadInputError):
        chunk_size(demo_model, 0, (16, 16))


def test_free_memory_is_read_from_the_host(demo_model):
    free = memory.free_bytes(demo_model.device)
    assert free is None or free > 0


MEASURE = textwrap.dedent(
    """
    import gc, sys, torch
    from gencurve_desktop.engine.models import DiffusionModel, load_model
    from gencurve_desktop.engine.hspace import jvp_norms
    from gencurve_desktop.engine.memory import bytes_per_direction

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024

    model, hw = load_model("demo", "cpu", "fp32"), 64
    x, t = torch.randn(1, 4, hw, hw), torch.tensor([500])
    peaks = {}
    for k in (1, 9):
        tangents = torch.zeros(k, 1, 4, hw, hw)
        tangents[:, 0, 0, hw // 2, hw // 2] = 1
        gc.collect()
        open("/proc/self/clear_refs", "w").write("5")  # reset the peak resident size
        base = status("VmRSS:")
        jvp_norms(model, x, t, tangents)
        peaks[k] = status("VmHWM:") - base
    print((peaks[9] - peaks[1]) / 8, bytes_per_direction(model, (hw, hw)))
    """
)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's resettable peak RSS")
def test_the_estimate_is_not_below_the_measured_cost_of_a_direction():
    out = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True, check=True).stdout
    measured, estimate = map(float, out.split())
    assert 0 < measured <= estimate, (measured, estimate)
