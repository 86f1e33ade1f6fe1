"""The command line's shared flags: the model options every computing command takes, and the flags made from a
command's declared options (commands/options.py), so that ``gencurve batch`` offers each item command's options
with the same names, types and defaults as the single-image command. No Qt, no torch."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable

from gencurve_desktop.commands.options import Option
from gencurve_desktop.errors import BadInputError
from gencurve_desktop.settings import PAPER_MODEL

DEFAULT_MODEL = PAPER_MODEL


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInputError(f"{self.prog}: {message}")


def add_common(p: argparse.ArgumentParser) -> None:
    """The model options every computing command takes (fixed for a whole batch)."""
    p.add_argument(
        "--model",
        default=os.environ.get("GENCURVE_MODEL", DEFAULT_MODEL),
        help="demo | mini | sd21-arch | REPO_ID | DIR | FILE.safetensors (default: $GENCURVE_MODEL or %(default)s)",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default: auto)")
    p.add_argument("--dtype", default="auto", help="auto | fp32 | fp16 | bf16 (default: auto)")
    p.add_argument(
        "--prediction-type",
        default="auto",
        choices=("auto", "epsilon", "v_prediction"),
        help="what the U-Net predicts (default: auto, from the model's scheduler config or single-file family)",
    )
    p.add_argument("--steps", type=int, default=50, help="DDIM inversion steps N (default: 50)")
    p.add_argument(
        "--max-side", type=int, default=1024, help="longer image side above which images are downscaled (default: 1024)"
    )


def add_options(p: argparse.ArgumentParser, options: Iterable[Option], required: tuple[str, ...] = ()) -> None:
    """A flag for each of ``options``; those named in ``required`` must be given."""
    for o in options:
        if o.kind is None:
            p.add_argument(o.flag, dest=o.name, action="store_true", help=o.help)
        elif o.repeated:
            default = list(o.default)
            p.add_argument(o.flag, dest=o.name, action="append", default=default, metavar=o.metavar, help=o.help)
        else:
            p.add_argument(
                o.flag,
                dest=o.name,
                type=o.kind,
                default=o.default,
                choices=o.choices,
                required=o.name in required,
                metavar=o.metavar,
                help=o.help,
            )
