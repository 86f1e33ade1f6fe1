"""One item through the command layer directly, through the command line (its ``main``) and as a batch item:
the same JSON fields and values, and the same map."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.batch.items import Plan, items_from_rows
from gencurve_desktop.batch.run import run_item
from gencurve_desktop.cli.main import main
from gencurve_desktop.commands.curve import CurveFiles, run_curve
from gencurve_desktop.commands.loading import ModelCache, ModelOptions
from gencurve_desktop.commands.saliency import SaliencyFiles, SaliencyOptions, run_saliency

DEMO = ModelOptions("demo", "cpu")
CLI_MODEL = ["--model", "demo", "--device", "cpu", "--steps", "4"]


@pytest.fixture(scope="module")
def model():
    """The command line's model (demo on the CPU: the same seeded weights at every load), loaded once here."""
    return ModelCache().source(DEMO)


@pytest.fixture
def image(tmp_path, sample_rgb):
    path = tmp_path / "in.png"
    Image.fromarray(np.ascontiguousarray(sample_rgb[:64, :64])).save(path)
    mask = np.zeros((64, 64), np.uint8)
    mask[16:40, 24:48] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return path


def cli(capsys, *argv) -> dict:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def as_json(result: dict) -> dict:
    """What the command line prints, read back: tuples become lists, floats stay exact."""
    return json.loads(json.dumps(result, allow_nan=False))


def test_curve_direct_and_from_the_command_line(capsys, model, image):
    request = CurveFiles(str(image), ((3, 5), (60, 33)), str(image.parent / "mask.png"), channel=2, steps=4)
    direct = as_json(run_curve(request, model).to_json())
    printed = cli(capsys, "curve", image, "--at", "3,5", "--at", "60,33", "--mask", image.parent / "mask.png",
                  "--channel", "2", *CLI_MODEL)  # fmt: skip
    assert set(direct) == {"model", "prediction_type", "prediction_source", "steps", "timesteps", "curves", "region"}
    assert direct == printed


def test_saliency_direct_from_the_command_line_and_as_a_batch_item(capsys, model, image, tmp_path):
    # 1. the command, called directly
    request = SaliencyFiles(str(image), str(tmp_path / "direct.png"), SaliencyOptions(probes=4, t_min=100, steps=4))
    direct = as_json(run_saliency(request, model).to_json())
    # 2. the command line
    printed = cli(capsys, "saliency", image, "-o", tmp_path / "cli.png", "--probes", "4", "--t-min", "100", *CLI_MODEL)
    # 3. a batch item built from a manifest row (its cells are text), run on the same model
    (tmp_path / "batch").mkdir()  # a batch's results log makes its output folder
    plan = Plan("saliency", tmp_path / "batch", {"probes": 4}, [], fixed={"steps": 4})
    (item,) = items_from_rows(plan, [{"image": str(image), "id": "one", "t_min": "100"}], tmp_path, "rows")
    record = run_item(item, model)
    assert record["error"] is None, record["error"]
    batch = record["result"]
    outputs = {"direct.png": direct, "cli.png": printed, "batch/one_saliency.png": batch}
    for name, result in outputs.items():
        assert result["output"] == str(tmp_path / name)
    same = {key: value for key, value in direct.items() if key not in ("seconds", "output")}
    for result in (printed, batch):
        assert {key: value for key, value in result.items() if key not in ("seconds", "output")} == same
    maps = [np.array(Image.open(tmp_path / name)) for name in outputs]
    assert all(np.array_equal(maps[0], other) for other in maps[1:])
    assert same["method"] == "fast" and same["size"] == [64, 64] and same["model"] == "demo"
