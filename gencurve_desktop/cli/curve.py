"""``gencurve curve IMAGE --at X,Y … [--mask MASK]``: generation curves of pixels and of a masked region."""

from __future__ import annotations

import argparse

from gencurve_desktop.cli.options import add_options
from gencurve_desktop.commands.options import CURVE_OPTIONS

HELP = "generation curves of pixels and of a masked region (JSON)"


def add_arguments(p: argparse.ArgumentParser, single: bool = True) -> None:
    """``curve``'s options; ``single=False`` leaves out the image and file options that a batch sets per item."""
    if single:
        p.add_argument("image")
        p.add_argument("--mask", help="8-bit mask image, white (>= 128) = region")
    add_options(p, CURVE_OPTIONS)


def run(args: argparse.Namespace, progress) -> dict:
    """The command's JSON result."""
    from gencurve_desktop.commands.curve import CurveFiles, run_curve
    from gencurve_desktop.commands.loading import ModelOptions, load_when_asked

    values = vars(args)
    model = load_when_asked(ModelOptions.from_options(values))  # loaded once the request is checked
    return run_curve(CurveFiles.from_options(values), model, progress).to_json()
