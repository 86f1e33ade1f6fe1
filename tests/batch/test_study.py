"""``gencurve study saliency`` on a generated CAT2000-style set, and its parts checked against independent code."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from batch_helpers import DEMO, crops, gencurve, results
from PIL import Image
from scipy.stats import spearmanr

from gencurve_desktop.batch.study import pair_maps
from gencurve_desktop.commands.study import draw_pixels, spearman
from gencurve_desktop.errors import BadInputError


def blob(centre: tuple[int, int], size: int = 64) -> np.ndarray:
    """A synthetic fixation map: one Gaussian blob, peak 255 at ``centre`` (x, y)."""
    ys, xs = np.mgrid[0:size, 0:size]
    g = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * 8.0**2))
    return np.rint(255 * g).astype(np.uint8)


def test_spearman_agrees_with_scipy_including_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, size=(30, 20)).astype(float)  # many ties
    b = a + rng.normal(0, 2, size=a.shape)
    assert spearman(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel()).statistic, abs=1e-12)
    assert spearman(np.ones((4, 4)), b[:4, :4]) is None


def test_the_pixels_are_drawn_at_the_maps_extremes_reproducibly():
    fixation = blob((40, 20))
    salient, calm = draw_pixels(fixation, 0, "a.png")
    assert salient == (40, 20) and fixation[calm[1], calm[0]] == fixation.min()
    assert draw_pixels(fixation, 0, "a.png") == (salient, calm)
    draws = {draw_pixels(fixation, seed, "a.png")[1] for seed in range(8)}
    assert len(draws) > 1  # many pixels share the minimum: the seed picks among them
    with pytest.raises(BadInputError, match="flat"):
        draw_pixels(np.full((8, 8), 7, np.uint8), 0, "flat.png")


def test_study_saliency_on_a_generated_set(tmp_path, sample_rgb):
    stimuli, maps = tmp_path / "Stimuli" / "Action", tmp_path / "FIXATIONMAPS" / "Action"
    stimuli.mkdir(parents=True)
    maps.mkdir(parents=True)
    centres = [(16, 16), (48, 20), (30, 44), (10, 50)]
    for k, (crop, centre) in enumerate(zip(crops(sample_rgb, 5), [*centres, None])):
        Image.fromarray(crop).save(stimuli / f"{k:03d}.jpg", quality=95)
        if centre is not None:
            Image.fromarray(blob(centre)).save(maps / f"{k:03d}.png")  # 004 has no map
    pairs, unpaired = pair_maps(tmp_path / "Stimuli", tmp_path / "FIXATIONMAPS")
    assert [p["id"] for p in pairs] == ["Action__000", "Action__001", "Action__002", "Action__003"]
    assert unpaired == [str(stimuli / "004.jpg")]
    out = tmp_path / "study"
    r = gencurve("study", "saliency", tmp_path / "Stimuli", tmp_path / "FIXATIONMAPS", "-o", out, "--probes", "8",
                 "--t-min", "100", *DEMO)  # fmt: skip
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    print(json.dumps(figures, indent=1))
    assert (figures["images"], figures["measured"], figures["without_fixation_map"]) == (4, 4, 1)
    assert 0.0 <= figures["salient_fluctuates_more_share"] <= 1.0
    assert -1.0 <= figures["spearman_mean"] <= 1.0
    with open(out / "study.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["id"] for row in rows] == [p["id"] for p in pairs]
    for row, centre in zip(rows, centres):
        assert (int(row["salient_x"]), int(row["salient_y"])) == centre  # the blob's peak is the salient pixel
        more = float(row["fluctuation_salient"]) > float(row["fluctuation_calm"])
        assert row["salient_fluctuates_more"] == str(more)
    share = np.mean([row["salient_fluctuates_more"] == "True" for row in rows])
    assert figures["salient_fluctuates_more_share"] == pytest.approx(share)
    assert json.loads((out / "study.json").read_text())["spearman_mean"] == figures["spearman_mean"]
    assert len(results(out)) == 4
    # run again: nothing is recomputed, the figures are the same
    again = gencurve("study", "saliency", tmp_path / "Stimuli", tmp_path / "FIXATIONMAPS", "-o", out, "--probes", "8",
                     "--t-min", "100", *DEMO)  # fmt: skip
    figures_again = json.loads(again.stdout)
    assert figures_again["skipped"] == 4 and figures_again["spearman_mean"] == figures["spearman_mean"]
