"""Make the OpenRaster test files with other people's software, and their renders (run by hand, not by pytest).

    xvfb-run -a python3 tests/data/ora/make_editor_files.py

1. pyora (pip) writes the sources in ``pyora/``: every blend mode of the spec over a varied backdrop, nested
   groups with their own opacity, a hidden group, offsets, isolated and pass-through groups, a 16-bit grey layer.
2. Krita (Debian's package, headless: ``krita --export``) renders each one to ``krita-render/NAME.png`` and
   writes it back as ``krita/NAME.ora`` (Krita's own OpenRaster writer). Krita 5.1 does not finish loading an
   OpenRaster file with a 16-bit layer (it waits on a dialog no one can answer), so ``deep16`` gets pyora's own
   render instead, in ``pyora-render/``.

The tests compare GenCurve's composite with Krita's render, and load Krita's files.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from pyora import Project

HERE = Path(__file__).parent
W, H = 64, 48
MODES = [
    "svg:src-over", "svg:multiply", "svg:screen", "svg:overlay", "svg:darken", "svg:lighten", "svg:color-dodge",
    "svg:color-burn", "svg:hard-light", "svg:soft-light", "svg:difference", "svg:color", "svg:luminosity",
    "svg:hue", "svg:saturation", "svg:plus", "svg:dst-in", "svg:dst-out", "svg:src-atop", "svg:dst-atop",
]  # fmt: skip


def _img(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a.astype(np.uint8))


def backdrop() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    a = np.zeros((H, W, 4))
    a[..., 0] = 255 * xx / (W - 1)
    a[..., 1] = 255 * yy / (H - 1)
    a[..., 2] = 255 * (1 - xx / (W - 1)) * 0.7 + 40
    a[..., 3] = 255
    return a


def mid() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    a = np.zeros((H, W, 4))
    a[..., 0], a[..., 1], a[..., 2] = 30, 160, 220
    a[..., 3] = np.where((xx - 20) ** 2 + (yy - 24) ** 2 < 16**2, 170, 0)
    return a


def top() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    a = np.zeros((H, W, 4))
    a[..., 0] = 255 * (yy / (H - 1))
    a[..., 1] = 128 + 127 * np.sin(xx / 6.0)
    a[..., 2] = 255 * (1 - yy / (H - 1))
    a[..., 3] = 60 + 195 * xx / (W - 1)  # transparent on the left, opaque on the right
    a[:, : W // 8, 3] = 0
    return a


def modes(folder: Path) -> list[Path]:
    out = []
    for op in MODES:
        p = Project.new(W, H)
        p.add_layer(_img(backdrop()), "/backdrop")
        p.add_layer(_img(mid()), "/disc", opacity=0.9)
        p.add_layer(_img(top()), "/blended", composite_op=op, opacity=0.8)
        path = folder / f"mode-{op.split(':')[1]}.ora"
        p.save(str(path))
        out.append(path)
    return out


def groups(folder: Path) -> list[Path]:
    """Nested groups with opacity, a hidden group, offsets; isolated and pass-through variants."""
    out = []
    for isolated in (True, False):
        p = Project.new(W, H)
        p.add_layer(_img(backdrop()), "/backdrop")
        p.add_group("/outer", opacity=0.7, isolated=isolated)
        p.add_layer(_img(mid()), "/outer/disc", offsets=(6, -4))
        p.add_group("/outer/inner", opacity=0.6, isolated=isolated)
        p.add_layer(_img(top()), "/outer/inner/ramp")
        p.add_layer(_img(mid()[:20, :30]), "/outer/inner/small", offsets=(30, 20), composite_op="svg:multiply")
        p.add_group("/hidden", visible=False)
        p.add_layer(_img(np.full((H, W, 4), 255.0)), "/hidden/white")
        p.add_group("/passthrough", isolated=isolated)
        p.add_layer(_img(top()), "/passthrough/multiply", composite_op="svg:multiply")
        path = folder / f"groups-{'isolated' if isolated else 'auto'}.ora"
        p.save(str(path))
        out.append(path)
    return out


def deep16(folder: Path) -> Path:
    """16 bits per channel: pyora's file with its top layer replaced by a 16-bit RGBA PNG (written by OpenCV;
    pyora and Pillow write 8-bit layers only)."""
    import cv2

    p = Project.new(W, H)
    p.add_layer(_img(backdrop()), "/backdrop")
    p.add_layer(_img(top()), "/deep", opacity=0.75)
    path = folder / "deep16.ora"
    p.save(str(path))
    yy, xx = np.mgrid[:H, :W]
    rgba16 = np.zeros((H, W, 4), np.uint16)
    rgba16[..., 0] = 65535 * xx / (W - 1)
    rgba16[..., 1] = 65535 * (1 - yy / (H - 1))
    rgba16[..., 2] = 40000
    rgba16[..., 3] = 20000 + 45535 * yy / (H - 1)
    ok, png16 = cv2.imencode(".png", rgba16[..., [2, 1, 0, 3]])  # OpenCV writes BGRA
    assert ok
    with zipfile.ZipFile(path) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    top_src = sorted(n for n in entries if n.lstrip("/").startswith("data/layer"))[-1]  # pyora: the last added
    entries[top_src] = png16.tobytes()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), entries.pop("mimetype"))
        for name, data in entries.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def roundtrip(folder: Path) -> Path:
    """GenCurve's own file with the tree (groups, modes, a hidden group), for GenCurve -> Krita -> GenCurve."""
    from gencurve_desktop.document.ora import load_ora, save_ora

    doc = load_ora(HERE / "pyora" / "groups-isolated.ora")
    doc.layers[-1].extra_attrs["composite-op"] = "svg:screen"
    path = folder / "gencurve-tree.ora"
    save_ora(doc, path)
    return path


def krita(src: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["krita", "--export", "--export-filename", str(target), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    if not target.exists():
        raise SystemExit(f"krita wrote nothing for {src}")


def main() -> int:
    sources = HERE / "pyora"
    sources.mkdir(exist_ok=True)
    only = set(sys.argv[1:])  # names to (re)make; none: all
    files = modes(sources) + groups(sources) + [deep16(sources)]
    ours = HERE / "gencurve"
    ours.mkdir(exist_ok=True)
    files.append(roundtrip(ours))
    for path in files:
        if only and path.stem not in only:
            continue
        if path.stem == "deep16":
            (HERE / "pyora-render").mkdir(exist_ok=True)
            Image.fromarray(np.asarray(Project.load(str(path)).get_image_data(use_original=False))).save(
                HERE / "pyora-render" / "deep16.png"
            )
            continue
        krita(path, HERE / "krita-render" / f"{path.stem}.png")
        krita(path, HERE / "krita" / path.name)
        print("made", path.name, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
