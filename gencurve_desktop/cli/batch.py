"""``gencurve batch curve|saliency|edit SOURCE -o OUTDIR``: one item command over a folder or a manifest, the
model loaded once per process (DESIGN §5); the runner is batch/runner.py.

Exits 0 when every item succeeded or was already done, 1 when any item failed (``results.jsonl`` says which and
why), 130 when stopped with Ctrl+C (run the same command again to go on).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gencurve_desktop.cli import curve, edit, saliency
from gencurve_desktop.cli.options import Parser, add_common

HELP = "curves, saliency maps or edits over a folder or a manifest (results.jsonl)"
ITEM_COMMANDS = {"curve": curve.add_arguments, "saliency": saliency.add_arguments, "edit": edit.add_arguments}


def add_scale_out(p: argparse.ArgumentParser) -> None:
    """The Ray options of ``batch`` and ``study``."""
    g = p.add_argument_group("scale-out on Ray (pip install 'gencurve-desktop[cluster]')")
    g.add_argument(
        "--ray-address",
        default=None,
        help="auto (a cluster started with 'ray start'), HOST:PORT, ray://HOST:PORT, or local (a private Ray "
        "instance on this machine); default: no Ray, items in sequence in this process",
    )
    g.add_argument("--workers", type=int, default=None, help="actors to start (default: one per GPU or per CPU slot)")
    g.add_argument("--cpus-per-worker", type=int, default=1, help="CPU cores per actor without GPUs (default: 1)")
    g.add_argument("--retries", type=int, default=2, help="times an item goes again when its worker dies (default: 2)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``batch curve|saliency|edit``: each item command's options are every item's defaults."""
    bsub = p.add_subparsers(dest="batch_command", required=True, parser_class=Parser)
    for name, add_item_arguments in ITEM_COMMANDS.items():
        b = bsub.add_parser(name, help=f"'gencurve {name}' for every item; its options are every item's defaults")
        b.add_argument("source", help="a folder of images, or a manifest (.csv with a header, or .jsonl)")
        b.add_argument("-o", "--output", required=True, help="output folder: results.jsonl and the items' files")
        if name in ("curve", "edit"):
            b.add_argument("--masks", help="folder of masks named like the images: <image stem>.png")
        if name == "edit":
            b.add_argument("--projects", action="store_true", help="also write <id>.ora for each item")
        add_item_arguments(b, single=False)
        add_common(b)
        add_scale_out(b)


def shared_fields(args: argparse.Namespace, command: str) -> dict:
    """What ``batch`` and ``study`` requests share: every item's default options, the model options and inversion
    settings all items use, and where the items run."""
    from gencurve_desktop.batch.items import row_defaults
    from gencurve_desktop.batch.runner import ModelSettings, ScaleOut
    from gencurve_desktop.commands.loading import ModelOptions

    values = vars(args)
    return {
        "defaults": row_defaults(values, command),
        "settings": ModelSettings(ModelOptions.from_options(values), args.steps, args.max_side),
        "scale_out": ScaleOut(args.ray_address, args.workers, args.cpus_per_worker, args.retries),
    }


def run(args: argparse.Namespace, progress):
    """The batch's summary (a dict that carries the exit code)."""
    from gencurve_desktop.batch.runner import BatchRequest, run_batch

    request = BatchRequest(
        command=args.batch_command,
        source=args.source,
        output=Path(args.output),
        masks=Path(args.masks) if getattr(args, "masks", None) else None,
        projects=getattr(args, "projects", False),
        **shared_fields(args, args.batch_command),
    )
    return run_batch(request, progress)
