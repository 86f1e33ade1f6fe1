"""``gencurve study saliency IMAGES FIXATION_MAPS``: the paper's appendix B.1 experiment over a data set (the
runner is batch/study.py); results.jsonl, study.csv and study.json in the output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from gencurve_desktop.cli.batch import add_scale_out, shared_fields
from gencurve_desktop.cli.options import Parser, add_common, add_options
from gencurve_desktop.commands.options import STUDY_OPTIONS

HELP = "the paper's experiments over a data set"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``study saliency`` and its options."""
    ssub = p.add_subparsers(dest="study_command", required=True, parser_class=Parser)
    s = ssub.add_parser("saliency", help="appendix B.1: curve fluctuation at salient vs calm pixels (CAT2000-style)")
    s.add_argument("images", help="folder of images (searched recursively)")
    s.add_argument("fixation_maps", help="folder of ground-truth maps with the same relative paths and names")
    s.add_argument("-o", "--output", default="gencurve-study", help="folder for results.jsonl, study.csv, study.json")
    s.add_argument("--limit", type=int, help="only the first N images with a map (sorted by path)")
    add_options(s, STUDY_OPTIONS)
    add_common(s)
    add_scale_out(s)


def run(args: argparse.Namespace, progress):
    """The study's summary and figures (a dict that carries the exit code)."""
    from gencurve_desktop.batch.study import StudyRequest, run_study

    request = StudyRequest(
        images=args.images,
        fixation_maps=args.fixation_maps,
        output=Path(args.output),
        limit=args.limit,
        **shared_fields(args, "study-saliency"),
    )
    return run_study(request, progress)
