"""``gencurve saliency IMAGE -o MAP.png``: the dense curve-fluctuation saliency map (PNG) and its figures."""

from __future__ import annotations

import argparse
import sys

from gencurve_desktop.cli.options import add_options
from gencurve_desktop.commands.options import SALIENCY_OPTIONS

HELP = "dense curve-fluctuation saliency map (PNG + JSON)"


def add_arguments(p: argparse.ArgumentParser, single: bool = True) -> None:
    """``saliency``'s options; ``single=False`` leaves out the image and the output."""
    if single:
        p.add_argument("image")
        p.add_argument("-o", "--output", required=True, help="where to write the map (PNG)")
    add_options(p, SALIENCY_OPTIONS)


def run(args: argparse.Namespace, progress) -> dict:
    """The command's JSON result; stderr names the map written."""
    from gencurve_desktop.commands.loading import ModelOptions, load_when_asked
    from gencurve_desktop.commands.saliency import SaliencyFiles, run_saliency

    values = vars(args)
    model = load_when_asked(ModelOptions.from_options(values))  # loaded once the request is checked
    report = run_saliency(SaliencyFiles.from_options(values), model, progress)
    print(f"gencurve: saliency map written to {report.output.resolve()}", file=sys.stderr)
    return report.to_json()
