"""``gencurve edit IMAGE --mask MASK --task TASK -o OUT``: a curve-matching edit (image, optional project, JSON)."""

from __future__ import annotations

import argparse

from gencurve_desktop.cli.options import add_options
from gencurve_desktop.commands.options import EDIT_OPTIONS
from gencurve_desktop.document.images import IMAGE_OUTPUTS

HELP = "curve-matching edit of a masked region (image + JSON report)"


def add_arguments(p: argparse.ArgumentParser, single: bool = True) -> None:
    """``edit``'s options (the parameters come from engine/params.py); ``single=False`` leaves out the files."""
    if single:
        p.add_argument("image")
        p.add_argument("--mask", required=True, help="8-bit mask image, white (>= 128) = region to edit")
        p.add_argument("-o", "--output", required=True, help=f"edited image ({', '.join(IMAGE_OUTPUTS)})")
        p.add_argument("--project", help="also write an OpenRaster project (.ora) with the original and the edit")
        p.add_argument("--overwrite", action="store_true", help="allow -o / --project to replace an input file")
        p.add_argument("--quality", type=int, help="JPEG / WebP / AVIF / HEIC quality 1-100 (default 95; JPEG 4:4:4)")
    add_options(p, EDIT_OPTIONS, required=("task",) if single else ())


def run(args: argparse.Namespace, progress) -> dict:
    """The command's JSON result."""
    from gencurve_desktop.commands.edit import EditFiles, run_edit
    from gencurve_desktop.commands.loading import ModelOptions, load_when_asked

    values = vars(args)
    model = load_when_asked(ModelOptions.from_options(values))  # loaded once the request is checked
    return run_edit(EditFiles.from_options(values), model, progress).to_json()
