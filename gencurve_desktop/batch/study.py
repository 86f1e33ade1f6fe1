"""``gencurve study saliency``: the paper's appendix B.1 experiment on any CAT2000-style data set.

For each image and its ground-truth fixation map: one pixel drawn (seeded) among those at the map's maximum and one
among those at its minimum; the fluctuation of both pixels' generation curves (windowed variance over t >= t_min);
whether the salient pixel fluctuates more. Beyond the paper: the Spearman rank correlation between our dense
saliency map and the ground truth over every pixel of the image.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np

from gencurve_desktop.batch.items import scan_images
from gencurve_desktop.errors import BadInputError

CSV_COLUMNS = (
    "id",
    "image",
    "fixation",
    "salient_x",
    "salient_y",
    "calm_x",
    "calm_y",
    "fluctuation_salient",
    "fluctuation_calm",
    "salient_fluctuates_more",
    "spearman",
    "error",
)


def add_item_arguments(p: argparse.ArgumentParser, single: bool = True) -> None:
    """The options of one study item (an image and its fixation map)."""
    if single:
        p.add_argument("image")
        p.add_argument("fixation")
    p.add_argument("--seed", type=int, default=0, help="seed of the pixel draws (default: 0)")
    p.add_argument("--t-min", type=int, default=200, help="fluctuation ignores t < T_MIN (default: 200)")
    p.add_argument("--window", type=int, default=5, help="fluctuation window in timesteps (default: 5)")
    p.add_argument("--probes", type=int, default=64, help="probes of the dense map's estimator (default: 64)")
    p.add_argument("--channel", type=int, help="one latent channel 0..3 instead of the mean of all four")


def pair_maps(images: Path, maps: Path, limit: int | None = None) -> tuple[list[dict], list[str]]:
    """Rows ``{id, image, fixation}`` for each image with a map of the same relative path and stem (CAT2000's
    ``Stimuli/<category>/<name>`` beside ``FIXATIONMAPS/<category>/<name>``), and the images without one."""
    for folder in (images, maps):
        if not folder.is_dir():
            raise BadInputError(f"{folder}: no such folder")
    by_stem = {p.relative_to(maps).with_suffix("").as_posix(): p for p in scan_images(maps, recursive=True)}
    rows, unpaired = [], []
    for image in scan_images(images, recursive=True):
        rel = image.relative_to(images).with_suffix("").as_posix()
        if rel in by_stem:
            rows.append({"id": rel.replace("/", "__"), "image": str(image), "fixation": str(by_stem[rel])})
        else:
            unpaired.append(str(image))
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise BadInputError(f"{images}: no image has a fixation map of the same name under {maps}")
    return rows, unpaired


def draw_pixels(fixation: np.ndarray, seed: int, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(x, y) of one pixel at the map's maximum and one at its minimum, drawn with ``seed`` and the file name."""
    lo, hi = int(fixation.min()), int(fixation.max())
    if lo == hi:
        raise BadInputError(f"{name}: the fixation map is flat (every pixel is {lo}); it marks nothing salient")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    picks = []
    for level in (hi, lo):
        ys, xs = np.nonzero(fixation == level)
        k = int(rng.integers(len(xs)))
        picks.append((int(xs[k]), int(ys[k])))
    return picks[0], picks[1]


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation of two equally shaped arrays (ties get their mean rank); None if one is flat."""
    ra, rb = _ranks(a.ravel()), _ranks(b.ravel())
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    return mean_rank[inverse]


def study_item(args, progress) -> dict:
    """One image of the study: the two pixels' fluctuations and the dense map's rank correlation."""
    from gencurve_desktop.cli import _load, _model_fields, _require_finite
    from gencurve_desktop.document.images import load_grey, load_rgb
    from gencurve_desktop.engine.analysis import generation_curves, invert_image, saliency_map
    from gencurve_desktop.engine.saliency import fluctuation

    # 1. the image and its ground truth at the image's size; the two pixels
    rgb = load_rgb(args.image)
    fixation = load_grey(args.fixation, (rgb.shape[1], rgb.shape[0]))
    salient, calm = draw_pixels(fixation, args.seed, Path(args.image).name)
    # 2. one inversion for the curves and the dense map
    model = _load(args, progress)
    inversion = invert_image(model, rgb, args.steps, args.max_side, progress)
    curves = generation_curves(model, inversion, [salient, calm], None, args.channel, progress)
    rates = np.asarray(curves.rates)
    _require_finite("generation curves", rates)
    flux = fluctuation(rates, np.asarray(curves.timesteps), args.t_min, args.window)
    # 3. the dense map against the ground truth over the whole image
    smap = saliency_map(model, inversion, False, args.channel, args.probes, args.t_min, args.window, args.seed)
    _require_finite("saliency map", smap.latent)
    return {
        **_model_fields(args, model),
        "steps": args.steps,
        "salient_pixel": list(salient),
        "calm_pixel": list(calm),
        "fluctuation_salient": float(flux[0]),
        "fluctuation_calm": float(flux[1]),
        "salient_fluctuates_more": bool(flux[0] > flux[1]),
        "spearman": spearman(smap.image, fixation.astype(np.float64)),
    }


def summarise(records: list[dict], unpaired: list[str]) -> tuple[dict, list[dict]]:
    """The study's figures over the finished items, and one CSV row per item."""
    rows, ok = [], []
    for record in records:
        result, error = record.get("result") or {}, record.get("error")
        row = {"id": record["id"], "image": record["inputs"]["image"], "fixation": record["inputs"].get("fixation")}
        if error is None:
            ok.append(result)
            (sx, sy), (cx, cy) = result["salient_pixel"], result["calm_pixel"]
            row.update(salient_x=sx, salient_y=sy, calm_x=cx, calm_y=cy)
            for key in ("fluctuation_salient", "fluctuation_calm", "salient_fluctuates_more", "spearman"):
                row[key] = result[key]
        else:
            row["error"] = error["message"]
        rows.append(row)
    rhos = [r["spearman"] for r in ok if r["spearman"] is not None]
    summary = {
        "images": len(records),
        "measured": len(ok),
        "failed": len(records) - len(ok),
        "without_fixation_map": len(unpaired),
        "salient_fluctuates_more_share": _mean([float(r["salient_fluctuates_more"]) for r in ok]),
        "fluctuation_salient_median": _median([r["fluctuation_salient"] for r in ok]),
        "fluctuation_calm_median": _median([r["fluctuation_calm"] for r in ok]),
        "spearman_mean": _mean(rhos),
        "spearman_median": _median(rhos),
    }
    return summary, rows


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None
