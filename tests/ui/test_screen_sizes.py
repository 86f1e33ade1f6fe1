"""Issue 23 item 1: the first window fits the screen it opens on (a 1024×640 laptop; a HiDPI screen at
QT_SCALE_FACTOR=2), every dock inside it and the canvas keeping at least half the height. Each case runs the real
app in a child process on Qt's offscreen platform with a configured screen."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "screen, scale",
    [((1024, 640), 1), ((2560, 1600), 2)],  # scale 2: a HiDPI panel, 1280×800 logical pixels
    ids=["1024x640", "scale-2"],
)
def test_the_first_window_and_every_dock_fit_the_screen(tmp_path, screen, scale):
    config = tmp_path / "screen.json"
    config.write_text(
        json.dumps(
            {
                "windowFrameMargins": True,
                "screens": [{"name": "s", "x": 0, "y": 0, "width": screen[0], "height": screen[1], "dpr": 1}],
            }
        )
    )
    env = dict(
        os.environ,
        QT_QPA_PLATFORM=f"offscreen:configfile={config}",
        QT_SCALE_FACTOR=str(scale),
        GENCURVE_SETTINGS_DIR=str(tmp_path / "settings"),  # a first start: nothing remembered
    )
    r = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("screen_child.py"))],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    g = json.loads(r.stdout.strip().splitlines()[-1])
    sx, sy, sw, sh = g["screen"]
    assert [sw, sh] == [screen[0] // scale, screen[1] // scale]
    fx, fy, fw, fh = g["frame"]
    assert sx <= fx and sy <= fy and fx + fw <= sx + sw and fy + fh <= sy + sh, g  # the window, frame included
    ww, wh = g["window"]
    assert g["docks"], g
    for name, (x, y, w, h) in g["docks"].items():
        assert x >= 0 and y >= 0 and x + w <= ww and y + h <= wh, (name, g)  # every dock inside the window
    assert g["canvas"][3] >= 0.5 * wh, g  # the canvas keeps at least half the height
