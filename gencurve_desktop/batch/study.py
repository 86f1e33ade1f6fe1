"""``gencurve study saliency``: the paper's appendix B.1 experiment on any CAT2000-style data set.

For each image and its ground-truth fixation map, one item (commands/study.py): one pixel drawn (seeded) among
those at the map's maximum and one among those at its minimum; the fluctuation of both pixels' generation curves
(windowed variance over t >= t_min); whether the salient pixel fluctuates more. Beyond the paper: the Spearman rank
correlation between our dense saliency map and the ground truth over every pixel of the image. The items run
through the batch machinery; ``study.csv`` and ``study.json`` sum them up.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gencurve_desktop.batch.items import Plan, items_from_rows, scan_images
from gencurve_desktop.batch.runner import ModelSettings, ScaleOut, Summary, run_items, summarise
from gencurve_desktop.engine.cancel import ProgressFn, no_progress
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
LABEL = "study saliency"


@dataclass(frozen=True)
class StudyRequest:
    """``gencurve study saliency IMAGES FIXATION_MAPS``: every image with a map of the same name, measured."""

    images: str  # a folder, searched recursively
    fixation_maps: str  # a folder with the same relative paths and names
    output: Path = Path("gencurve-study")  # results.jsonl, study.csv, study.json
    limit: int | None = None  # only the first N images with a map (sorted by path)
    defaults: Mapping[str, object] = field(default_factory=dict)  # every item's options (seed, probes, …)
    settings: ModelSettings = ModelSettings()
    scale_out: ScaleOut = ScaleOut()


def run_study(request: StudyRequest, progress: ProgressFn = no_progress) -> Summary:
    """Pair the images with their maps, measure what is not measured yet, and write the figures over all of them."""
    r, s = request, request.settings
    if r.limit is not None and r.limit < 1:
        raise BadInputError(f"--limit must be at least 1, got {r.limit}")
    # 1. pair images with their maps; one item each
    rows, unpaired = pair_maps(Path(r.images), Path(r.fixation_maps), r.limit)
    plan = Plan("study-saliency", r.output, dict(r.defaults), s.argv(), fixed=s.fixed())
    items = items_from_rows(plan, rows, Path.cwd(), str(r.images))
    # 2. run them through the batch machinery
    outcome = run_items(items, r.output, s.model, r.scale_out, LABEL, progress)
    # 3. the figures over every item of this study, finished now or before
    log = outcome.log
    records = [log.previous[item.id] for item in items if item.id in log.previous]
    figures, csv_rows = summarise_items(records, unpaired)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows)
    summary = summarise(LABEL, items, r.output, outcome, r.scale_out)
    summary.update(figures, csv=str((r.output / "study.csv").resolve()))
    _write_figures(r.output, text.getvalue(), summary)
    return summary


def _write_figures(outdir: Path, table: str, summary: dict) -> None:
    """``study.csv`` and ``study.json``, together."""
    from gencurve_desktop.document.atomic import write_together

    data = json.dumps(summary, indent=2, allow_nan=False).encode()
    write_together(
        [
            (outdir / "study.csv", lambda f: f.write(table.encode())),
            (outdir / "study.json", lambda f: f.write(data)),
        ]
    )


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


def summarise_items(records: list[dict], unpaired: list[str]) -> tuple[dict, list[dict]]:
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
