"""The commands' typed requests: what they read from a parsed command line or a batch item, what they refuse
before any model loads, and the inversion the desktop's commands share."""

from __future__ import annotations

import numpy as np
import pytest

from gencurve_desktop.commands.curve import CurveFiles, CurveRequest, compute_curves
from gencurve_desktop.commands.edit import EditFiles
from gencurve_desktop.commands.inversions import InversionCache
from gencurve_desktop.commands.loading import ModelOptions
from gencurve_desktop.commands.saliency import SaliencyFiles, SaliencyOptions, SaliencyRequest, run_saliency
from gencurve_desktop.errors import BadInputError


def never_loaded(progress):
    raise AssertionError("the model was asked for before the request was checked")


def test_requests_read_a_parsed_command_line():
    from gencurve_desktop.cli.parser import build_parser

    args = build_parser().parse_args(
        [
            "edit",
            "i.png",
            "--mask",
            "m.png",
            "-o",
            "o.png",
            "--task",
            "transfer",
            "--ref",
            "3,4",
            "--seed",
            "7",
            "--steps",
            "8",
            "--model",
            "demo",
            "--device",
            "cpu",
        ]  # fmt: skip
    )
    values = vars(args)
    request = EditFiles.from_options(values)
    assert (request.task, request.ref, request.project, request.overwrite) == ("transfer", (3, 4), None, False)
    assert request.params.seed == 7 and request.params.steps == 8 and request.params.preview_every == 0
    assert ModelOptions.from_options(values) == ModelOptions("demo", "cpu", "auto", "auto")
    args = build_parser().parse_args(["curve", "i.png", "--at", "1,2", "--at", "3,4"])
    assert CurveFiles.from_options(vars(args)).points == ((1, 2), (3, 4))
    with pytest.raises(BadInputError, match="cannot read the coordinate"):
        CurveFiles.from_options({"image": "i.png", "at": ["1;2"]})


def test_file_commands_refuse_before_the_model_loads(small_png, tmp_path):
    from gencurve_desktop.commands.curve import run_curve

    with pytest.raises(BadInputError, match="at least one --at"):
        run_curve(CurveFiles(str(small_png)), never_loaded)
    with pytest.raises(BadInputError, match="outside the 128x128 image"):
        run_curve(CurveFiles(str(small_png), ((128, 0),)), never_loaded)
    with pytest.raises(BadInputError, match="--probes must be at least 1"):
        run_saliency(SaliencyFiles(str(small_png), str(tmp_path / "m.png"), SaliencyOptions(probes=0)), never_loaded)
    with pytest.raises(BadInputError, match="PNG"):
        run_saliency(SaliencyFiles(str(small_png), str(tmp_path / "m.jpg")), never_loaded)


def test_in_memory_requests_are_checked_first(sample_rgb):
    with pytest.raises(BadInputError, match=r"pixel \(500, 500\) is outside"):
        CurveRequest(sample_rgb, ((500, 500),)).validate()
    with pytest.raises(BadInputError, match="mask is empty"):
        CurveRequest(sample_rgb, (), np.zeros(sample_rgb.shape[:2], bool)).validate()
    with pytest.raises(BadInputError, match="--window must be at least 2"):
        SaliencyRequest(sample_rgb, SaliencyOptions(window=1)).validate()


def test_curves_and_maps_of_one_picture_share_its_inversion(demo_model, sample_rgb):
    image = np.ascontiguousarray(sample_rgb[:64, :64])
    inversions = InversionCache()
    first = inversions.get(demo_model, image, 2)
    assert inversions.get(demo_model, image.copy(), 2) is first  # same pixels, same steps: kept
    curves = compute_curves(demo_model, CurveRequest(image, ((5, 5),), steps=2), inversions=inversions)
    assert inversions.get(demo_model, image, 2) is first and len(curves.rates[0]) == 2
    assert inversions.get(demo_model, image, 3) is not first  # other steps: inverted again
