"""``gencurve bench``: time inversion, curves, saliency maps and edit iterations (JSON)."""

from __future__ import annotations

import argparse
import sys

from gencurve_desktop.cli.options import add_common

HELP = "time inversion, curves, saliency maps and edit iterations (JSON)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``bench``'s options."""
    p.add_argument("--size", type=int, default=512, help="square image side in pixels (default: 512)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per figure after a warm-up (default: 3)")
    p.add_argument("--edit-iterations", type=int, default=10, help="timed edit iterations (default: 10)")
    p.add_argument("--exact-cells", type=int, default=2, help="cells timed for the exact-map estimate (default: 2)")
    p.add_argument(
        "--total-iterations", type=int, help="iterations of the whole edit timed by edit_total (default: the task's)"
    )
    p.add_argument(
        "--parts",
        default="inversion,curve,saliency,exact,edit,gradient,iteration",
        help="comma-separated figures to time (default: all but edit_total); the others are null in the JSON",
    )
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run (full-size models on a CPU)")
    p.add_argument(
        "--jvp-chunk",
        type=int,
        default=None,
        help="directions per JVP call for curve/exact (default: from the free memory, see README)",
    )
    add_common(p)


def run(args: argparse.Namespace, progress) -> dict:
    """The engine's figures as JSON; stderr names each stage as it starts."""
    from gencurve_desktop.commands.bench import BenchRequest, run_bench
    from gencurve_desktop.commands.loading import ModelOptions, load_when_asked

    request = BenchRequest(
        size=args.size,
        steps=args.steps,
        repeats=args.repeats,
        edit_iterations=args.edit_iterations,
        exact_cells=args.exact_cells,
        total_iterations=args.total_iterations,
        parts=tuple(part.strip() for part in args.parts.split(",") if part.strip()),
        warmup=not args.no_warmup,
        jvp_chunk=args.jvp_chunk,
    )
    model = load_when_asked(ModelOptions.from_options(vars(args)))
    return run_bench(request, model, progress, log=lambda stage: print(f"gencurve bench: {stage}", file=sys.stderr))
