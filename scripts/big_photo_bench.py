#!/usr/bin/env python3
"""The crop-to-mask working region on a 24-megapixel photo (issue 22, acceptance 1): a benchmark, not a test.

    python3 scripts/big_photo_bench.py [--model mini] [--iterations 6] [--steps 10] [--out docs/images]

1. A 6000 x 4000 photo made from the bundled samples (resources/samples: astronaut and coffee, Lanczos-upscaled
   and tiled, so it has real texture at every scale) and a 300 x 300 mask in the middle of a textured area.
2. The same saliency-down edit three ways: ``--region crop`` on the big photo, ``--region whole`` on it (framed
   down to --max-side 1024), and on a 512 x 512 image (the per-iteration baseline).
3. Prints JSON: seconds per iteration of each, the ratio crop / 512², and the high-frequency energy inside the
   mask (variance of the Laplacian) of the original, the crop result and the whole-image result.
4. Writes ``big-photo-crop-vs-whole.png``: the mask's neighbourhood at 100 %, original | crop | whole.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gencurve_desktop.document.images import load_rgb  # noqa: E402
from gencurve_desktop.engine.matching import run_edit  # noqa: E402
from gencurve_desktop.engine.models import load_model  # noqa: E402
from gencurve_desktop.engine.requests import EditParams, EditRequest  # noqa: E402

W, H, SIDE = 6000, 4000, 300


def big_photo() -> np.ndarray:
    """6000 x 4000: the two samples upscaled 4x (Lanczos) and tiled with mirroring."""
    tiles = [load_rgb(ROOT / "resources" / "samples" / n) for n in ("astronaut.png", "coffee.png")]
    tiles = [cv2.resize(t, (t.shape[1] * 4, t.shape[0] * 4), interpolation=cv2.INTER_LANCZOS4) for t in tiles]
    row = np.concatenate([tiles[0], tiles[1][: tiles[0].shape[0]] if tiles[1].shape[0] >= tiles[0].shape[0]
                          else cv2.resize(tiles[1], (tiles[1].shape[1], tiles[0].shape[0]))], axis=1)  # fmt: skip
    reps = (-(-H // row.shape[0]), -(-W // row.shape[1]))
    big = np.concatenate([np.concatenate([row if (i + j) % 2 == 0 else row[:, ::-1] for j in range(reps[1])], 1)
                          for i in range(reps[0])], 0)  # fmt: skip
    return np.ascontiguousarray(big[:H, :W])


def laplacian_variance(rgb: np.ndarray, mask: np.ndarray) -> float:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F)[mask].var())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="mini")
    p.add_argument("--iterations", type=int, default=6)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = load_model(a.model, device="cpu")

    # 1. the photo and the mask
    photo = big_photo()
    mask = np.zeros((H, W), bool)
    y0, x0 = 1900, 2600
    mask[y0 : y0 + SIDE, x0 : x0 + SIDE] = True

    # 2. the edit three ways
    def edit(image, m, region):
        params = EditParams(iterations=a.iterations, steps=a.steps, region=region, preview_every=0)
        start = time.perf_counter()
        result = run_edit(model, EditRequest("saliency-down", image, m, None, params))
        return result, time.perf_counter() - start

    crop, crop_s = edit(photo, mask, "crop")
    whole, whole_s = edit(photo, mask, "whole")
    small = np.ascontiguousarray(photo[y0 - 106 : y0 + 406, x0 - 106 : x0 + 406])
    small_mask = np.zeros(small.shape[:2], bool)
    small_mask[106 : 106 + SIDE, 106 : 106 + SIDE] = True
    base, base_s = edit(small, small_mask, "whole")

    # 3. the figures
    report = {
        "model": a.model,
        "photo": [W, H],
        "mask": SIDE,
        "iterations": a.iterations,
        "steps": a.steps,
        "threads": a.threads,
        "crop_window": crop.params.get("window"),
        "seconds_per_iteration": {
            "crop": round(crop.seconds_per_iteration, 3),
            "whole": round(whole.seconds_per_iteration, 3),
            "512": round(base.seconds_per_iteration, 3),
        },  # fmt: skip
        "seconds_total": {"crop": round(crop_s, 1), "whole": round(whole_s, 1), "512": round(base_s, 1)},
        "crop_over_512_per_iteration": round(crop.seconds_per_iteration / base.seconds_per_iteration, 3),
        "laplacian_variance_in_mask": {
            "original": round(laplacian_variance(photo, mask), 1),
            "crop": round(laplacian_variance(crop.image, mask), 1),
            "whole": round(laplacian_variance(whole.image, mask), 1),
        },  # fmt: skip
        "unchanged_outside_window": bool(
            np.array_equal(
                crop.image[~_window_mask(crop.params["window"])], photo[~_window_mask(crop.params["window"])]
            )
        ),  # fmt: skip
    }
    print(json.dumps(report, indent=1))

    # 4. the pictures: the mask's neighbourhood at 100 %
    pad = 60
    view = (slice(y0 - pad, y0 + SIDE + pad), slice(x0 - pad, x0 + SIDE + pad))
    panels = [im[view].copy() for im in (photo, crop.image, whole.image)]
    for panel in panels:
        cv2.rectangle(panel, (pad - 1, pad - 1), (pad + SIDE, pad + SIDE), (0, 255, 255), 1)
    a.out.mkdir(parents=True, exist_ok=True)
    sheet = np.hstack([np.pad(pn, ((0, 0), (0, 8), (0, 0)), constant_values=255) for pn in panels])
    cv2.imwrite(str(a.out / "big-photo-crop-vs-whole.png"), sheet[..., ::-1])


def _window_mask(window) -> np.ndarray:
    m = np.zeros((H, W), bool)
    x0, y0, x1, y1 = window
    m[y0:y1, x0:x1] = True
    return m


if __name__ == "__main__":
    main()
