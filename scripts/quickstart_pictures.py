#!/usr/bin/env python3
"""The README's first pictures, made by running the quick start's own commands with ``mini``.

    python3 scripts/quickstart_pictures.py [--model mini] [--out docs/images]

1. ``gencurve saliency SAMPLE -o saliency.png --model mini`` (timed: the README quotes the figure);
2. the mask by rule: the largest blob of the map's most salient tenth, grown by 8 px;
3. ``gencurve edit SAMPLE --task saliency-down --mask mask.png -o edited.png --model mini`` (timed);
4. ``quickstart-saliency.png`` (photo | map) and ``quickstart-edit.png`` (photo with the mask outlined | edit),
   and ``quickstart.json`` with the commands, their seconds and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "samples" / "astronaut.png"
FAST = ["--max-side", "256", "--steps", "20"]  # mini's native size; 20 DDIM steps: the quick start's CPU budget


def gencurve() -> list[str]:
    """The installed ``gencurve`` console script (what a reader types)."""
    exe = shutil.which("gencurve")
    if exe is None:
        sys.exit("gencurve is not installed: python3 -m pip install -e .")
    return [exe]


def timed(cmd: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return round(time.monotonic() - start, 1)


def salient_blob(saliency: np.ndarray) -> np.ndarray:
    """The largest connected blob of the top 10 % of the map, grown by 8 px (a bool mask)."""
    smooth = cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), 4)
    top = (smooth >= np.quantile(smooth, 0.9)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(top)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if count > 1 else 0
    return cv2.dilate((labels == biggest).astype(np.uint8), np.ones((17, 17), np.uint8)) > 0


def side_by_side(left: Image.Image, right: Image.Image, captions: tuple[str, str]) -> Image.Image:
    w, h = left.size
    sheet = Image.new("RGB", (2 * w + 8, h + 28), "white")
    sheet.paste(left.convert("RGB"), (0, 28))
    sheet.paste(right.convert("RGB").resize((w, h), Image.BICUBIC), (w + 8, 28))
    draw = ImageDraw.Draw(sheet)
    for i, text in enumerate(captions):
        draw.text((i * (w + 8) + 6, 7), text, fill="black")
    return sheet


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mini")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # 1. the saliency map
        sal_cmd = [
            *gencurve(),
            "saliency",
            str(SAMPLE),
            "-o",
            str(work / "saliency.png"),
            "--model",
            a.model,
            "--max-side",
            "256",
            "--steps",
            "20",
        ]
        sal_s = timed(sal_cmd)
        saliency = np.asarray(Image.open(work / "saliency.png").convert("L"), np.float32) / 255
        # 2. the mask by rule
        mask = salient_blob(saliency)
        Image.fromarray(mask.astype(np.uint8) * 255).save(work / "mask.png")
        # 3. the edit
        edit_cmd = [*gencurve(), "edit", str(SAMPLE), "--task", "saliency-down", "--mask", str(work / "mask.png"),
                    "-o", str(work / "edited.png"), "--model", a.model, *FAST, "--iterations", "20"]  # fmt: skip
        edit_s = timed(edit_cmd)
        # 4. the pictures and the record
        photo = Image.open(SAMPLE).convert("RGB")
        captions = ("photo", f"saliency map ({a.model}): bright = salient")
        side_by_side(photo, Image.open(work / "saliency.png"), captions).save(a.out / "quickstart-saliency.png")
        outlined = photo.copy()
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outline = [tuple(int(v) for v in pt[0]) for pt in max(contours, key=len)]
        ImageDraw.Draw(outlined).line(outline + outline[:1], fill=(0, 255, 255), width=2)
        captions = ("mask (most salient blob)", f"saliency-down ({a.model})")
        side_by_side(outlined, Image.open(work / "edited.png"), captions).save(a.out / "quickstart-edit.png")
    record = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU",
        "saliency": {"command": " ".join(["gencurve", *sal_cmd[1:]]).replace(str(ROOT) + "/", ""), "seconds": sal_s},
        "edit": {"command": " ".join(["gencurve", *edit_cmd[1:]]).replace(str(ROOT) + "/", ""), "seconds": edit_s},
        "mask_pixels": int(mask.sum()),
    }
    (a.out / "quickstart.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
