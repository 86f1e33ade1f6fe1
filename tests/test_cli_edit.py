"""gencurve edit: every task from the command line, the JSON report, Ctrl+C."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.cli.main import main
from gencurve_desktop.document.images import load_rgb
from gencurve_desktop.engine.masks import feather_alpha

FAST = ["--iterations", "4", "--steps", "4", "--refresh-every", "2", "--device", "cpu"]


@pytest.fixture
def files(tmp_path, sample_rgb):
    Image.fromarray(sample_rgb).save(tmp_path / "in.png")
    m = np.zeros(sample_rgb.shape[:2], np.uint8)
    m[40:80, 40:88] = 255
    Image.fromarray(m).save(tmp_path / "mask.png")
    return tmp_path, m >= 128


@pytest.mark.parametrize("task", ["transfer", "remove", "saliency-up", "saliency-down", "blend"])
@pytest.mark.parametrize("model", ["demo", "folder"])
def test_each_task_from_the_cli(capsys, files, sample_rgb, tiny_sd_folder, task, model):
    tmp, mask = files
    out = tmp / f"{task}.png"
    model_arg = "demo" if model == "demo" else str(tiny_sd_folder)
    argv = [
        "edit",
        str(tmp / "in.png"),
        "--task",
        task,
        "--mask",
        str(tmp / "mask.png"),
        "-o",
        str(out),
        "--model",
        model_arg,
        *FAST,
    ]
    if task in ("transfer", "remove"):
        argv += ["--ref", "10,100"]
    code = main(argv)
    stdout, _ = capsys.readouterr()
    assert code == 0
    report = json.loads(stdout)
    assert {"task", "iterations", "seconds", "loss", "curve_distance_before", "curve_distance_after", "output"} <= set(
        report
    )
    assert report["task"] == task and report["iterations"] == 4 and len(report["loss"]) == 4
    assert report["output"] == str(out)
    edited = load_rgb(out)
    outside = feather_alpha(mask, 8) == 0
    assert np.array_equal(edited[outside], sample_rgb[outside])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--task", "transfer"], "needs a reference"),
        (["--task", "remove", "--ref", "x,y"], "cannot read the coordinate"),
        (["--task", "remove", "--lr", "-1"], "learning rate"),
        (["--task", "remove", "--project", "{tmp}/p.psd"], ".ora"),
        (["--task", "explode"], "invalid choice"),
    ],
)
def test_edit_bad_input(capsys, files, extra, message):
    tmp, _ = files
    argv = [
        "edit",
        str(tmp / "in.png"),
        "--mask",
        str(tmp / "mask.png"),
        "-o",
        str(tmp / "o.png"),
        "--model",
        "demo",
        *[a.format(tmp=tmp) for a in extra],
    ]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and message in err and err.count("\n") == 1
    assert not (tmp / "o.png").exists()


def test_ctrl_c_exits_130_quickly_and_writes_nothing(files):
    tmp, _ = files
    out = tmp / "never.png"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gencurve_desktop.cli",
            "edit",
            str(tmp / "in.png"),
            "--task",
            "remove",
            "--mask",
            str(tmp / "mask.png"),
            "-o",
            str(out),
            "--model",
            "demo",
            "--iterations",
            "100000",
            "--steps",
            "6",
            "--device",
            "cpu",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the optimisation loop is running (its progress bar appears on stderr)
    seen = ""
    deadline = time.monotonic() + 120
    while "edit" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.read(1)
    assert "edit" in seen, seen
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - sent < 5
    assert stdout == ""
    assert not out.exists()
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".")] == []


def test_edit_with_project_then_info_and_export(capsys, files, sample_rgb):
    tmp, mask = files
    ora = tmp / "p.ora"
    code = main(
        [
            "edit",
            str(tmp / "in.png"),
            "--task",
            "remove",
            "--mask",
            str(tmp / "mask.png"),
            "--ref",
            "10,100",
            "-o",
            str(tmp / "o.png"),
            "--project",
            str(ora),
            "--model",
            "demo",
            "--seed",
            "5",
            *FAST,
        ]
    )
    assert code == 0
    capsys.readouterr()
    assert main(["project", "info", str(ora)]) == 0
    info = json.loads(capsys.readouterr()[0])
    assert info["size"] == [128, 128]
    assert [ly["name"] for ly in info["layers"]] == ["Original", "Remove object"]
    assert info["layers"][1]["edit"] == info["edits"][0]["id"]
    assert info["edits"][0]["task"] == "remove" and info["edits"][0]["seed"] == 5
    assert info["references"] == [[10, 100]] and info["mask_pixels"] == int(mask.sum())
    assert main(["project", "export", str(ora), "-o", str(tmp / "merged.png")]) == 0
    capsys.readouterr()
    assert np.array_equal(load_rgb(tmp / "merged.png"), load_rgb(tmp / "o.png"))
    from gencurve_desktop.document.ora import load_ora

    doc = load_ora(ora)
    assert np.array_equal(doc.layers[0].pixels[..., :3], sample_rgb)
    prov = doc.edits[0].provenance
    assert prov["iterations"] == 4 and len(prov["loss"]) == 4 and prov["model_id"] == "demo"
    assert np.array_equal(doc.edits[0].mask, mask)


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04"])
def test_project_info_on_a_corrupt_file_exits_2(capsys, tmp_path, content):
    p = tmp_path / "bad.ora"
    p.write_bytes(content)
    assert main(["project", "info", str(p)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
