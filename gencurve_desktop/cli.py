"""The ``gencurve`` command line (contract: DESIGN §5). Uses engine/ and document/, never Qt.

stdout carries only the JSON result; progress bars and the one-line errors go to stderr.
Exit codes: 0 ok, 2 bad input, 3 model cannot be loaded, 4 out of memory, 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from gencurve_desktop import __version__
from gencurve_desktop.cli_batch import add_batch_parsers, cmd_batch, cmd_study
from gencurve_desktop.cli_options import (
    Parser,
    add_common,
    add_curve_arguments,
    add_edit_arguments,
    add_saliency_arguments,
    parse_point,
)
from gencurve_desktop.cli_progress import StderrProgress
from gencurve_desktop.cli_project import cmd_project, project_document
from gencurve_desktop.cli_signals import Terminated, raise_if_swallowed, received, stop_code, unwinding_signals
from gencurve_desktop.document.images import IMAGE_OUTPUTS
from gencurve_desktop.errors import BadInputError, GenCurveError, NonFiniteError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="gencurve", description="Generation curves, saliency maps and curve-matching edits.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("curve", help="generation curves of pixels and of a masked region (JSON)")
    add_curve_arguments(p)
    add_common(p)

    p = sub.add_parser("saliency", help="dense curve-fluctuation saliency map (PNG + JSON)")
    add_saliency_arguments(p)
    add_common(p)

    p = sub.add_parser("edit", help="curve-matching edit of a masked region (image + JSON report)")
    add_edit_arguments(p)
    add_common(p)

    p = sub.add_parser("project", help="inspect or export an OpenRaster project (.ora)")
    psub = p.add_subparsers(dest="project_command", required=True, parser_class=Parser)
    pi = psub.add_parser("info", help="size, layers and edits as JSON")
    pi.add_argument("file")
    pe = psub.add_parser("export", help="write the merged image (.png, .jpg, .webp, .tif)")
    pe.add_argument("file")
    pe.add_argument("-o", "--output", required=True)
    pe.add_argument("--mask", action="store_true", help="export the project's mask (PNG) instead")
    pe.add_argument("--alpha", action="store_true", help="keep transparency (PNG, WebP, TIFF) instead of white")
    pe.add_argument("--overwrite", action="store_true", help="allow -o to replace the project file itself")

    p = sub.add_parser("bench", help="time inversion, curves, saliency maps and edit iterations (JSON)")
    p.add_argument("--size", type=int, default=512, help="square image side in pixels (default: 512)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per figure after a warm-up (default: 3)")
    p.add_argument("--edit-iterations", type=int, default=10, help="timed edit iterations (default: 10)")
    p.add_argument("--exact-cells", type=int, default=2, help="cells timed for the exact-map estimate (default: 2)")
    p.add_argument(
        "--total-iterations", type=int, help="iterations of the whole edit timed by edit_total (default: the task's)"
    )
    p.add_argument(
        "--parts",
        default="inversion,curve,saliency,exact,edit,gradient",
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
    add_batch_parsers(sub)
    return parser


def _check_output(path: str, suffixes: tuple[str, ...], inputs: tuple = (), overwrite: bool = False) -> Path:
    """Every output is checked before the model loads: extension, folder, writability, not an input."""
    from gencurve_desktop.document.atomic import check_writable

    return check_writable(path, suffixes, inputs, overwrite)


def _load(args, progress):
    """The model of ``args``; a batch passes ``args.models``, a dict that keeps it loaded between items."""
    from gencurve_desktop.engine.models import load_model

    cache = getattr(args, "models", None)
    key = (args.model, args.device, args.dtype, args.prediction_type)
    if cache is not None and key in cache:
        return cache[key]
    model = load_model(args.model, args.device, args.dtype, progress, prediction_type=args.prediction_type)
    if cache is not None:
        cache[key] = model
    return model


def _model_fields(args, model) -> dict:
    """What every analysis JSON says about the model: its id, the prediction type and why."""
    return {"model": args.model, "prediction_type": model.prediction_type, "prediction_source": model.prediction_source}


def _require_finite(name: str, values) -> None:
    """Non-finite figures are a failure (exit 1), never printed: JSON has no NaN."""
    import numpy as np

    if not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
        raise NonFiniteError(
            f"the {name} came out non-finite (NaN/inf) — the model overflowed in this dtype; try --dtype fp32"
        )


def cmd_curve(args, progress) -> dict:
    from gencurve_desktop.document.images import load_mask, load_rgb
    from gencurve_desktop.engine.analysis import generation_curves, invert_image
    from gencurve_desktop.engine.curves import channels_for

    points = [parse_point(a) for a in args.at]
    if not points and not args.mask:
        raise BadInputError("give at least one --at X,Y or a --mask")
    channels_for(args.channel)
    rgb = load_rgb(args.image)
    h, w = rgb.shape[:2]
    for x, y in points:
        if not (0 <= x < w and 0 <= y < h):
            raise BadInputError(f"pixel ({x}, {y}) is outside the {w}x{h} image")
    mask = None
    if args.mask:
        mask = load_mask(args.mask, (w, h))
        if not mask.any():
            raise BadInputError(f"{args.mask}: the mask is empty (no pixel is white >= 128)")
    model = _load(args, progress)
    inversion = invert_image(model, rgb, args.steps, args.max_side, progress)
    curves = generation_curves(model, inversion, points, mask, args.channel, progress)
    for rates in [*curves.rates, curves.region or []]:
        _require_finite("generation curves", rates)
    result = {
        **_model_fields(args, model),
        "steps": args.steps,
        "timesteps": curves.timesteps,
        "curves": [{"at": [x, y], "rates": r} for (x, y), r in zip(curves.points, curves.rates)],
    }
    if curves.region is not None:
        result["region"] = {"rates": curves.region}
    return result


def cmd_saliency(args, progress) -> dict:
    from gencurve_desktop.document.images import load_rgb, save_image_atomic
    from gencurve_desktop.engine.analysis import invert_image, saliency_map, saliency_to_uint8
    from gencurve_desktop.engine.curves import channels_for

    if Path(args.output).suffix.lower() != ".png":
        raise BadInputError(f"{args.output}: the saliency map is written as PNG; use a .png name")
    out = _check_output(args.output, (".png",), (args.image,))
    channels_for(args.channel)
    if args.probes < 1:
        raise BadInputError(f"--probes must be at least 1, got {args.probes}")
    if args.window < 2:
        raise BadInputError(f"--window must be at least 2, got {args.window}")
    rgb = load_rgb(args.image)
    model = _load(args, progress)
    start = time.perf_counter()
    inversion = invert_image(model, rgb, args.steps, args.max_side, progress)
    smap = saliency_map(
        model, inversion, args.exact, args.channel, args.probes, args.t_min, args.window, progress=progress
    )
    _require_finite("saliency map", smap.latent)
    save_image_atomic(saliency_to_uint8(smap.image), out)
    if not getattr(args, "quiet", False):  # a batch item says nothing on its own
        print(f"gencurve: saliency map written to {out.resolve()}", file=sys.stderr)
    return {
        **_model_fields(args, model),
        "steps": args.steps,
        "method": "exact" if args.exact else "fast",
        "output": str(out),
        "size": [rgb.shape[1], rgb.shape[0]],
        "latent_shape": list(smap.latent.shape),
        "seconds": round(time.perf_counter() - start, 3),
        "fluctuation_range": [float(smap.latent.min()), float(smap.latent.max())],
    }


def cmd_edit(args, progress) -> dict:
    from gencurve_desktop.document.atomic import write_together
    from gencurve_desktop.document.images import image_writer, load_mask, load_rgb
    from gencurve_desktop.document.ora import ora_bytes
    from gencurve_desktop.engine.matching import run_edit
    from gencurve_desktop.engine.params import PARAMS
    from gencurve_desktop.engine.requests import EditParams, EditRequest

    inputs = (args.image, args.mask)
    out = _check_output(args.output, IMAGE_OUTPUTS, inputs, args.overwrite)
    project = _check_output(args.project, (".ora",), inputs, args.overwrite) if args.project else None
    if project is not None and Path(os.path.abspath(project)) == Path(os.path.abspath(out)):
        raise BadInputError(f"{project}: the project and the image output must be different files")
    ref = None
    if args.ref:
        ref = "auto" if args.ref == "auto" else parse_point(args.ref)
    params = EditParams(
        **{param.name: getattr(args, param.name) for param in PARAMS},
        steps=args.steps,
        preview_every=0,
        max_side=args.max_side,
    )
    rgb = load_rgb(args.image)
    mask = load_mask(args.mask, (rgb.shape[1], rgb.shape[0]))
    request = EditRequest(args.task, rgb, mask, ref, params)
    request.validate()
    model = _load(args, progress)
    result = run_edit(model, request, lambda ev: progress(f"edit: {ev.phase}", ev.iteration, ev.total))
    writes = [(out, image_writer(result.image, out))]  # 1. image and project appear together or not at all
    if project is not None:
        data = ora_bytes(project_document(rgb, result))
        writes.append((project, lambda f: f.write(data)))
    write_together(writes)
    return {
        "task": result.task,
        "iterations": result.iterations,
        "seconds": round(result.seconds, 3),
        "loss": result.loss,
        "loss_kind": result.loss_kind,
        "curve_distance_before": result.curve_distance_before,
        "curve_distance_after": result.curve_distance_after,
        "output": str(out),
        "ref": list(result.ref) if result.ref else None,
        "seconds_per_iteration": round(result.seconds_per_iteration, 4),
        "fluctuation_before": result.fluctuation_before,
        "fluctuation_after": result.fluctuation_after,
        "project": str(project) if project else None,
    }


def cmd_bench(args, progress) -> dict:
    from gencurve_desktop.engine.bench import run_benchmark

    if args.size < 64 or args.size % 64:
        raise BadInputError(f"--size must be a multiple of 64, got {args.size}")
    if args.repeats < 1 or args.edit_iterations < 1 or args.exact_cells < 1:
        raise BadInputError("--repeats, --edit-iterations and --exact-cells must be at least 1")
    if args.total_iterations is not None and args.total_iterations < 1:
        raise BadInputError(f"--total-iterations must be at least 1, got {args.total_iterations}")
    if args.jvp_chunk is not None and args.jvp_chunk < 1:
        raise BadInputError(f"--jvp-chunk must be at least 1, got {args.jvp_chunk}")
    from gencurve_desktop.engine.bench import PARTS

    parts = tuple(part.strip() for part in args.parts.split(",") if part.strip())
    if not parts or set(parts) - set(PARTS):
        raise BadInputError(f"--parts: choose from {', '.join(PARTS)}, got {args.parts!r}")
    model = _load(args, progress)
    return run_benchmark(
        model,
        args.size,
        args.steps,
        args.repeats,
        args.edit_iterations,
        args.exact_cells,
        log=lambda stage: print(f"gencurve bench: {stage}", file=sys.stderr),
        parts=parts,
        warmup=not args.no_warmup,
        jvp_chunk=args.jvp_chunk,
        total_iterations=args.total_iterations,
    )


COMMANDS = {
    "curve": cmd_curve,
    "saliency": cmd_saliency,
    "edit": cmd_edit,
    "bench": cmd_bench,
    "project": cmd_project,
    "batch": cmd_batch,
    "study": cmd_study,
}


def _is_cpu_oom(e: BaseException) -> bool:
    text = str(e)
    return isinstance(e, RuntimeError) and ("can't allocate memory" in text or "not enough memory" in text)


OOM_HINT = "out of memory; try a smaller --max-side, fewer --probes or --steps, or the other device (--device cpu|cuda)"


def main(argv: list[str] | None = None, final: bool = False) -> int:
    """Entry point of the ``gencurve`` console script; returns the exit code. ``final``: the process exits right
    after, so signals stay ignored on the way out (a late Ctrl+C cannot change the code decided here)."""
    try:
        with unwinding_signals(final):  # Ctrl+C and SIGTERM unwind through the code, so temporary files are removed
            return _main(argv)
    except (KeyboardInterrupt, Terminated) as e:  # in the last steps, after the command ended without writing
        return _stopped(None, e)


def _main(argv: list[str] | None) -> int:
    progress = StderrProgress(before_report=raise_if_swallowed)
    try:
        if sys.stdout is None or sys.stdout.closed:
            raise BadInputError("standard output is closed: there is nowhere to write the JSON result")
        args = build_parser().parse_args(argv)
        result = COMMANDS[args.command](args, progress)
        progress.close()
        return _print_result(result)
    except (KeyboardInterrupt, Terminated) as e:
        return _stopped(progress, e)
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except (MemoryError, Exception) as e:  # never a traceback for the user; GENCURVE_DEBUG=1 shows it
        progress.close()
        if received():  # a library turned our interrupt into its own error: the user's signal is the outcome
            return _stopped(progress, None)
        if isinstance(e, GenCurveError):
            print(f"gencurve: error: {e}", file=sys.stderr)
            return e.exit_code
        if isinstance(e, MemoryError) or _is_cpu_oom(e):
            print(f"gencurve: error: {OOM_HINT}", file=sys.stderr)
            return 4
        if isinstance(e, OSError):  # an input or output the system refused (full disk, permissions): exit 2
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            print(f"gencurve: error: {where}{e.strerror or e}".splitlines()[0], file=sys.stderr)
            return 2
        if os.environ.get("GENCURVE_DEBUG"):
            raise
        print(f"gencurve: internal error: {type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        return 1


def _stopped(progress: StderrProgress | None, e: BaseException | None) -> int:
    if progress is not None:
        progress.close()
    code, word = stop_code(e)
    print(f"gencurve: {word}", file=sys.stderr)
    return code


def _print_result(result: dict) -> int:
    """The JSON on stdout; a reader that went away (``| head``) ends the program quietly with 141."""
    text = json.dumps(result, allow_nan=False) + "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
        return getattr(result, "exit_code", 0)  # a batch that had failures or was stopped says so
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 141


def run() -> None:
    """Console-script wrapper."""
    exit_with(main(final=True))


def exit_with(code: int) -> None:
    """End the process with ``code``: later signals are ignored and nothing at shutdown can change the code
    (an interrupt caught above must not turn into Python's own exit-by-signal during finalisation)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
