"""Make OpenRaster files with MyPaint 2.0's own library (run by hand with Debian's Python, not by pytest).

    apt-get install mypaint
    /usr/bin/python3 tests/data/ora/make_mypaint_files.py

MyPaint writes its own render beside the layers, as every OpenRaster writer must: ``mergedimage.png``, drawn
by its C++ compositor (opaque: where the picture is transparent it is written over black). The files are:

1. ``mypaint/mode-*.ora``, ``groups-*.ora``, ``deep16.ora``: pyora's sources (``pyora/``) loaded into MyPaint
   and saved by it, in MyPaint 2's default linear-light pipeline (``mypaint:eotf="2.2"``).
2. ``mypaint-eotf1/``: the same saved in MyPaint's 1.x compatibility mode (``mypaint:eotf="1.0"``).
3. ``mypaint/painted-normal.ora`` and ``painted-pigment.ora``: brush strokes painted by MyPaint's brush engine
   (a wash, a group at 80 % holding a multiply layer, a top layer at 90 %). In ``painted-pigment`` the top layer
   keeps MyPaint 2's default mode for new layers, the pigment mode ``mypaint:spectral-wgm``, which GenCurve does
   not implement: it must be reported, and kept on save.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, "/usr/lib/mypaint")  # Debian's mypaint package keeps its library here

import lib.brush  # noqa: E402
import lib.document  # noqa: E402
import lib.eotf  # noqa: E402
import lib.layer  # noqa: E402
import lib.mypaintlib as mp  # noqa: E402

HERE = Path(__file__).parent


def resave(eotf: float, folder: Path) -> None:
    lib.eotf.set_eotf(eotf)
    lib.eotf.set_base_eotf(eotf)
    folder.mkdir(exist_ok=True)
    for src in sorted((HERE / "pyora").glob("*.ora")):
        doc = lib.document.Document()
        doc.load(str(src))
        doc.save(str(folder / src.name))
        doc.cleanup()


def stroke(layer, rgb, radius: float, start, end, opaque: float = 0.8) -> None:
    info = lib.brush.BrushInfo()
    info.load_defaults()
    info.set_color_rgb(rgb)
    info.set_base_value("radius_logarithmic", math.log(radius))
    info.set_base_value("opaque", opaque)
    brush = lib.brush.Brush(info)
    for i in range(300):
        t = i / 299
        x = start[0] + (end[0] - start[0]) * t
        y = start[1] + (end[1] - start[1]) * t + 8 * math.sin(6 * t)
        pressure = 0.0 if i in (0, 299) else 0.9
        layer.stroke_to(brush, x, y, pressure, 0.0, 0.0, 0.01, 1.0, 0.0, 0.0)


def painted(folder: Path) -> None:
    lib.eotf.set_eotf(2.2)
    lib.eotf.set_base_eotf(2.2)
    for name, top_mode in (("painted-normal", mp.CombineNormal), ("painted-pigment", mp.CombineSpectralWGM)):
        doc = lib.document.Document()
        doc.clear()
        root = doc.layer_stack
        wash = root.deepget([0])
        wash.name, wash.mode = "wash", mp.CombineNormal
        stroke(wash, (0.95, 0.8, 0.3), 14, (10, 30), (110, 40))
        group = lib.layer.LayerStack(name="group")
        group.mode, group.opacity = mp.CombineNormal, 0.8
        root.deepinsert([0], group)
        multiply = lib.layer.PaintingLayer(name="multiply")
        multiply.mode = mp.CombineMultiply
        group.append(multiply)
        stroke(multiply, (0.2, 0.5, 0.9), 10, (30, 5), (60, 75))
        top = lib.layer.PaintingLayer(name="top")
        top.mode, top.opacity = top_mode, 0.9
        root.deepinsert([0], top)
        stroke(top, (0.9, 0.1, 0.2), 9, (5, 60), (115, 20), opaque=0.6)
        doc.save(str(folder / f"{name}.ora"))
        doc.cleanup()


def main() -> int:
    resave(2.2, HERE / "mypaint")
    resave(1.0, HERE / "mypaint-eotf1")
    painted(HERE / "mypaint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
