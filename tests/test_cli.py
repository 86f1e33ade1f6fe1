"""The gencurve command line: JSON contracts, exit codes, one-line errors (DESIGN §5)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gencurve_desktop.cli.main import main
from gencurve_desktop.engine.analysis import invert_image
from gencurve_desktop.engine.hspace import h_space
from gencurve_desktop.engine.models import load_model

COMMON = ["--device", "cpu", "--steps", "4"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err):
    lines = [ln for ln in err.splitlines() if ln.strip() and "\r" not in ln and "%|" not in ln]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_curve_on_saved_folder_matches_finite_differences(capsys, tmp_path, tiny_sd_folder, sample_rgb):
    img = tmp_path / "img.png"
    Image.fromarray(sample_rgb[:64, :64]).save(img)
    mask = np.zeros((64, 64), np.uint8)
    mask[8:24, 40:56] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    code, out, _ = run_cli(
        capsys,
        "curve",
        img,
        "--at",
        "3,5",
        "--at",
        "60,33",
        "--mask",
        tmp_path / "m.png",
        "--model",
        tiny_sd_folder,
        "--dtype",
        "fp64",
        *COMMON,
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"model", "prediction_type", "prediction_source", "steps", "timesteps", "curves", "region"}
    assert data["prediction_type"] == "epsilon" and data["prediction_source"] == "the model's scheduler config"
    assert data["steps"] == 4 and len(data["timesteps"]) == 4
    assert data["timesteps"] == sorted(data["timesteps"], reverse=True)
    assert [c["at"] for c in data["curves"]] == [[3, 5], [60, 33]]
    assert all(len(c["rates"]) == 4 for c in data["curves"]) and len(data["region"]["rates"]) == 4

    # finite differences of the mid-block output, float64, central, per channel
    m = load_model(str(tiny_sd_folder), device="cpu", dtype="fp64")
    tr = invert_image(m, sample_rgb[:64, :64], steps=4).trajectory
    eps = 1e-6
    for curve in data["curves"]:
        x, y = curve["at"]
        for n, rate in enumerate(curve["rates"]):
            xt = tr.latents[n : n + 1].double()
            t = tr.schedule.timesteps[n : n + 1]
            norms = []
            for c in range(4):
                e = torch.zeros_like(xt)
                e[0, c, y // 8, x // 8] = 1.0
                with torch.no_grad():
                    fd = (h_space(m, xt + eps * e, t) - h_space(m, xt - eps * e, t)) / (2 * eps)
                norms.append(float(fd.norm()))
            assert abs(rate - np.mean(norms)) / np.mean(norms) <= 1e-4


def test_curve_single_channel(capsys, small_png):
    code, out, _ = run_cli(capsys, "curve", small_png, "--at", "10,10", "--channel", "3", "--model", "demo", *COMMON)
    assert code == 0
    assert len(json.loads(out)["curves"][0]["rates"]) == 4


def test_saliency_writes_map_of_image_size(capsys, tmp_path, sample_rgb):
    img = tmp_path / "odd.png"
    Image.fromarray(sample_rgb[:90, :70]).save(img)
    out_png = tmp_path / "map.png"
    code, out, _ = run_cli(capsys, "saliency", img, "-o", out_png, "--model", "demo", "--t-min", "100", *COMMON)
    assert code == 0
    data = json.loads(out)
    assert data["output"] == str(out_png) and data["method"] == "fast"
    with Image.open(out_png) as im:
        assert im.size == (70, 90) and im.mode == "L"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["curve", "{missing}", "--at", "1,1"], "no such file"),
        (["curve", "{dir}", "--at", "1,1"], "directory"),
        (["curve", "{img}", "--at", "1;1"], "cannot read the coordinate"),
        (["curve", "{img}", "--at", "500,2"], "outside"),
        (["curve", "{img}", "--at=-1,2"], "outside"),
        (["curve", "{img}", "--mask", "{empty_mask}"], "mask is empty"),
        (["curve", "{img}", "--mask", "{wrong_mask}"], "mask is 10x10"),
        (["curve", "{img}", "--at", "1,1", "--channel", "4"], "--channel"),
        (["curve", "{img}", "--at", "1,1", "--steps", "1"], "--steps"),
        (["curve", "{img}"], "at least one --at"),
        (["saliency", "{img}", "-o", "{tmp}/nofolder/x.png"], "does not exist"),
        (["saliency", "{img}", "-o", "{tmp}/x.jpg"], "PNG"),
        (["saliency", "{img}"], "required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, small_png, argv, message):
    Image.fromarray(np.zeros((128, 128), np.uint8)).save(tmp_path / "empty_mask.png")
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(tmp_path / "wrong_mask.png")
    subs = {
        "missing": tmp_path / "nope.png",
        "dir": tmp_path,
        "img": small_png,
        "tmp": tmp_path,
        "empty_mask": tmp_path / "empty_mask.png",
        "wrong_mask": tmp_path / "wrong_mask.png",
    }
    args = [a.format(**subs) for a in argv]
    if argv[0] != "frobnicate":
        args += ["--model", "demo", "--device", "cpu"]
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out == ""
    assert message in one_line_error(err)


def test_model_that_cannot_load_exits_3(capsys, tmp_path, small_png):
    (tmp_path / "weights.ckpt").write_bytes(b"x" * 10)
    code, out, err = run_cli(capsys, "curve", small_png, "--at", "1,1", "--model", tmp_path / "weights.ckpt")
    assert code == 3 and out == ""
    assert "pickle" in one_line_error(err)


def test_console_script_subprocess(tmp_path):
    """The real entry point in a fresh interpreter: bad file -> exit 2, one line, no traceback."""
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gencurve_desktop.cli",
            "saliency",
            str(bad),
            "-o",
            str(tmp_path / "m.png"),
            "--model",
            "demo",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "not an image" in proc.stderr
    assert not (tmp_path / "m.png").exists()


def test_bench_json_on_the_demo_model(capsys):
    code, out, _ = run_cli(
        capsys,
        "bench",
        "--model",
        "demo",
        "--device",
        "cpu",
        "--size",
        "64",
        "--steps",
        "4",
        "--repeats",
        "1",
        "--edit-iterations",
        "2",
        "--exact-cells",
        "1",
    )
    assert code == 0
    data = json.loads(out)
    for key in (
        "device",
        "model",
        "image_size",
        "inversion_s",
        "curve_s",
        "saliency_map_s",
        "saliency_exact_estimate_s",
        "edit_iteration_s",
        "peak_memory_mb",
    ):
        assert key in data, key
    assert data["model"] == "demo" and data["image_size"] == 64 and data["device"].startswith("cpu")
    assert all(data[k] > 0 for k in ("inversion_s", "curve_s", "saliency_map_s", "edit_iteration_s"))
    assert set(data["edit_iteration_s_by_task"]) == {"remove", "saliency-down"}
    assert data["edit_iteration_s"] == max(data["edit_iteration_s_by_task"].values())
    # one iteration with and without checkpointing: passes, seconds, measured peak and the memory model beside it
    assert [row["task"] for row in data["iteration"]] == ["remove", "saliency-down"]
    for row in data["iteration"]:
        kept, rebuilt = row["no_checkpointing"], row["checkpointing"]
        assert rebuilt["unet_passes"] > kept["unet_passes"] > 0 and kept["seconds"] > 0 and rebuilt["seconds"] > 0
        assert kept["predicted_mb"] > rebuilt["predicted_mb"] > 0
        assert row["chosen"] in ("checkpointing", "no_checkpointing")


def test_bench_parts_time_only_what_is_asked(capsys):
    args = ["bench", "--model", "demo", "--device", "cpu", "--size", "64", "--steps", "4", "--repeats", "1"]
    only = ["--exact-cells", "1", "--parts", "saliency,exact", "--no-warmup", "--jvp-chunk", "2"]
    code, out, _ = run_cli(capsys, *args, *only)
    assert code == 0
    data = json.loads(out)
    assert data["warmup"] is False and data["jvp_chunk"] == 2
    assert data["inversion_s"] is None and data["curve_s"] is None and data["edit_iteration_s"] is None
    assert data["saliency_map_s"] > 0 and data["saliency_exact_estimate_s"] > 0
    ratio = data["saliency_exact_estimate_s"] / data["saliency_map_s"]
    assert data["saliency_speedup"] == pytest.approx(ratio, rel=0.01, abs=0.1)

    code, out, err = run_cli(capsys, *args, "--parts", "saliency,teleport")
    assert code == 2 and out == "" and "--parts" in err and err.count("\n") == 1


def test_bench_edit_total_times_the_whole_edit_and_its_first_curve(capsys):
    args = ["bench", "--model", "demo", "--device", "cpu", "--size", "64", "--steps", "4", "--repeats", "1"]
    code, out, _ = run_cli(capsys, *args, "--parts", "edit_total", "--no-warmup", "--total-iterations", "30")
    assert code == 0
    data = json.loads(out)
    assert data["edit_total_iterations"] == 30
    assert 0 < data["edit_loop_s"] <= data["edit_total_s"]
    assert 0 < data["edit_first_curve_s"] < data["edit_total_s"] - data["edit_loop_s"] + 0.01


ORA_DATA = Path(__file__).parent / "data" / "ora"


def test_project_info_lists_groups_modes_and_rounded_opacity(capsys):
    code, out, _ = run_cli(capsys, "project", "info", str(ORA_DATA / "krita" / "groups-auto.ora"))
    assert code == 0
    info = json.loads(out)
    groups = {g["name"]: g for g in info["groups"]}
    assert groups["outer"]["opacity"] == 0.698 and groups["outer"]["isolated"] is False  # Krita wrote 0.698039
    assert groups["inner"]["parent"] == "outer" and groups["hidden"]["visible"] is False
    small = next(ly for ly in info["layers"] if ly["name"] == "small")
    assert small["mode"] == "svg:multiply" and small["group"] == "inner"
    assert info["unsupported_modes"] == []


def test_project_export_alpha_keeps_transparency(capsys, tmp_path):
    source = str(ORA_DATA / "pyora" / "mode-dst-out.ora")  # dst-out cuts holes into the picture
    code, _, _ = run_cli(capsys, "project", "export", source, "-o", str(tmp_path / "a.png"), "--alpha")
    assert code == 0
    rgba = np.asarray(Image.open(tmp_path / "a.png"))
    assert rgba.shape[2] == 4 and rgba[..., 3].min() < 128
    code, _, _ = run_cli(capsys, "project", "export", source, "-o", str(tmp_path / "w.png"))
    assert code == 0 and np.asarray(Image.open(tmp_path / "w.png")).shape[2] == 3  # flattened over white
    code, _, err = run_cli(capsys, "project", "export", source, "-o", str(tmp_path / "a.jpg"), "--alpha")
    assert code == 2 and "no transparency" in err
