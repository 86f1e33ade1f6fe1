"""Non-finite results never pass as success: exit 1 with one line, and JSON never holds NaN/Infinity."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from gencurve_desktop.commands.checks import require_finite
from gencurve_desktop.errors import NonFiniteError


def strict_json(text: str):
    def refuse(name):
        raise ValueError(f"non-finite constant {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def gencurve(*args, timeout=300):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "gencurve_desktop.cli", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_require_finite():
    require_finite("curve", [0.5, 1.0])
    for bad in ([0.5, float("nan")], [float("inf")]):
        with pytest.raises(NonFiniteError, match="non-finite"):
            require_finite("curve", bad)


def test_fp16_curve_is_finite_valid_json(small_png):
    r = gencurve("curve", str(small_png), "--at", "20,20", "--model", "demo", "--dtype", "fp16", "--steps", "4")
    assert r.returncode == 0, r.stderr
    out = strict_json(r.stdout)
    assert out["prediction_type"] == "epsilon" and len(out["curves"][0]["rates"]) == 4


@pytest.fixture(scope="module")
def nan_model_folder(tiny_sd_folder, tmp_path_factory):
    """A real diffusers folder whose U-Net has one NaN weight: every curve and map comes out NaN."""
    from diffusers import UNet2DConditionModel

    folder = tmp_path_factory.mktemp("nan") / "tiny-sd-nan"
    shutil.copytree(tiny_sd_folder, folder)
    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet")
    with torch.no_grad():
        unet.conv_in.weight[0, 0, 0, 0] = float("nan")
    unet.save_pretrained(folder / "unet")
    return folder


@pytest.mark.parametrize("command", ["curve", "saliency"])
def test_non_finite_results_exit_1_with_one_line_and_no_output(command, nan_model_folder, small_png, tmp_path):
    out = tmp_path / "map.png"
    args = ["--at", "20,20"] if command == "curve" else ["-o", str(out), "--probes", "2"]
    r = gencurve(command, str(small_png), *args, "--model", str(nan_model_folder), "--steps", "3")
    assert r.returncode == 1
    assert r.stdout == "" and not out.exists()
    last = r.stderr.strip().splitlines()[-1]
    assert "non-finite" in last and "--dtype fp32" in last


def test_float32_group_norm_matches_the_float32_jvp():
    """The half-precision GroupNorm computes statistics and their derivative in float32 (within fp16 rounding)."""
    from gencurve_desktop.engine.models import _Float32GroupNorm

    torch.manual_seed(0)
    x, v = torch.randn(1, 32, 8, 8) * 200, torch.randn(1, 32, 8, 8)
    ref = torch.nn.GroupNorm(8, 32)
    _, expected = torch.func.jvp(ref, (x,), (v,))
    half = torch.nn.GroupNorm(8, 32).half()
    half.load_state_dict(ref.state_dict())
    half.__class__ = _Float32GroupNorm
    value, got = torch.func.jvp(half, (x.half(),), (v.half(),))
    assert value.dtype == torch.float16 and torch.isfinite(got).all()
    assert torch.allclose(got.float(), expected, rtol=1e-2, atol=1e-2)
