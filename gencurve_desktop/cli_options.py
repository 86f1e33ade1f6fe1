"""The command line's options, one function per command, so that ``gencurve batch`` builds each item's command
line from the same declarations as the single-image commands (contract: DESIGN §5). No Qt, no torch."""

from __future__ import annotations

import argparse
import os

from gencurve_desktop.document.images import IMAGE_OUTPUTS
from gencurve_desktop.errors import BadInputError
from gencurve_desktop.settings import PAPER_MODEL

DEFAULT_MODEL = PAPER_MODEL
MODEL_OPTIONS = ("model", "device", "dtype", "prediction_type", "steps", "max_side")  # fixed for a whole batch


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInputError(f"{self.prog}: {message}")


def parse_point(text: str) -> tuple[int, int]:
    """``"X,Y"`` -> (x, y) image pixel."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return int(parts[0]), int(parts[1])
    except ValueError:
        raise BadInputError(f"cannot read the coordinate {text!r}: expected X,Y with integers, e.g. 120,64") from None


def add_common(p: argparse.ArgumentParser) -> None:
    """The model options every computing command takes (``MODEL_OPTIONS``)."""
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


def add_curve_arguments(p: argparse.ArgumentParser, single: bool = True) -> None:
    """``curve``'s options; ``single=False`` leaves out the image and file options that a batch sets per item."""
    if single:
        p.add_argument("image")
        p.add_argument("--mask", help="8-bit mask image, white (>= 128) = region")
    p.add_argument("--at", action="append", default=[], metavar="X,Y", help="an image pixel; repeatable")
    p.add_argument("--channel", type=int, help="one latent channel 0..3 instead of the mean of all four")


def add_saliency_arguments(p: argparse.ArgumentParser, single: bool = True) -> None:
    """``saliency``'s options; ``single=False`` leaves out the image and the output."""
    if single:
        p.add_argument("image")
        p.add_argument("-o", "--output", required=True, help="where to write the map (PNG)")
    p.add_argument("--exact", action="store_true", help="the slow per-pixel reference (one JVP per pixel and step)")
    p.add_argument("--channel", type=int, help="one latent channel 0..3 instead of the mean of all four")
    p.add_argument("--probes", type=int, default=64, help="random probes of the fast estimator (default: 64)")
    p.add_argument("--t-min", type=int, default=200, help="fluctuation ignores t < T_MIN (default: 200)")
    p.add_argument("--window", type=int, default=5, help="fluctuation window in timesteps (default: 5)")


def add_edit_arguments(p: argparse.ArgumentParser, single: bool = True) -> None:
    """``edit``'s options (the parameters come from engine/params.py); ``single=False`` leaves out the files."""
    from gencurve_desktop.engine.params import PARAMS, TASKS

    if single:
        p.add_argument("image")
        p.add_argument("--mask", required=True, help="8-bit mask image, white (>= 128) = region to edit")
        p.add_argument("-o", "--output", required=True, help=f"edited image ({', '.join(IMAGE_OUTPUTS)})")
        p.add_argument("--project", help="also write an OpenRaster project (.ora) with the original and the edit")
        p.add_argument("--overwrite", action="store_true", help="allow -o / --project to replace an input file")
    p.add_argument("--task", required=single, choices=TASKS)
    p.add_argument("--ref", help="reference pixel X,Y, or 'auto' (remove: the calmest background pixel nearby)")
    for param in PARAMS:  # one declaration per parameter: engine/params.py
        default = "per task, see README" if param.default is None else param.default
        p.add_argument(
            param.flag,
            dest=param.name,
            type=param.kind,
            default=param.default,
            choices=param.choices,
            help=f"{param.help} (default: {default})",
        )


ADD_ARGUMENTS = {"curve": add_curve_arguments, "saliency": add_saliency_arguments, "edit": add_edit_arguments}


def command_parser(command: str, add_arguments=None) -> Parser:
    """A parser for one single-image command alone (``gencurve COMMAND ...`` without the program name)."""
    p = Parser(prog=f"gencurve {command}")
    (add_arguments or ADD_ARGUMENTS[command])(p)
    add_common(p)
    return p
