"""The whole ``gencurve`` command line: one subcommand per command module, and the handler of each."""

from __future__ import annotations

import argparse

from gencurve_desktop import __version__
from gencurve_desktop.cli import batch, bench, curve, edit, project, saliency, study
from gencurve_desktop.cli.options import Parser, add_common

#: subcommand -> the module that declares its options (``add_arguments``) and runs it (``run``)
COMMANDS = {
    "curve": curve,
    "saliency": saliency,
    "edit": edit,
    "project": project,
    "bench": bench,
    "batch": batch,
    "study": study,
}
SINGLE_IMAGE = ("curve", "saliency", "edit")  # these take the model options after their own


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; ``args.command`` names the one given."""
    parser = Parser(prog="gencurve", description="Generation curves, saliency maps and curve-matching edits.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP)
        module.add_arguments(p)
        if name in SINGLE_IMAGE:
            add_common(p)
    return parser
