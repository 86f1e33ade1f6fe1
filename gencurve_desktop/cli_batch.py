"""``gencurve batch`` and ``gencurve study``: many images, the model loaded once per process (DESIGN §5).

``batch`` exits 0 when every item succeeded or was already done, 1 when any item failed (``results.jsonl`` says
which and why), 130 when stopped with Ctrl+C (run the same command again to go on).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gencurve_desktop.cli_options import ADD_ARGUMENTS, MODEL_OPTIONS, Parser, add_common


class Summary(dict):
    """A command's JSON result that ends the program with ``exit_code``."""

    exit_code = 0


def _add_scale_out(p: argparse.ArgumentParser) -> None:
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


def add_batch_parsers(sub) -> None:
    """Add ``batch curve|saliency|edit`` and ``study saliency`` to the command line's subcommands."""
    from gencurve_desktop.batch.study import add_item_arguments

    p = sub.add_parser("batch", help="curves, saliency maps or edits over a folder or a manifest (results.jsonl)")
    bsub = p.add_subparsers(dest="batch_command", required=True, parser_class=Parser)
    for name, add_arguments in ADD_ARGUMENTS.items():
        b = bsub.add_parser(name, help=f"'gencurve {name}' for every item; its options are every item's defaults")
        b.add_argument("source", help="a folder of images, or a manifest (.csv with a header, or .jsonl)")
        b.add_argument("-o", "--output", required=True, help="output folder: results.jsonl and the items' files")
        if name in ("curve", "edit"):
            b.add_argument("--masks", help="folder of masks named like the images: <image stem>.png")
        if name == "edit":
            b.add_argument("--projects", action="store_true", help="also write <id>.ora for each item")
        add_arguments(b, single=False)
        add_common(b)
        _add_scale_out(b)

    p = sub.add_parser("study", help="the paper's experiments over a data set")
    ssub = p.add_subparsers(dest="study_command", required=True, parser_class=Parser)
    s = ssub.add_parser("saliency", help="appendix B.1: curve fluctuation at salient vs calm pixels (CAT2000-style)")
    s.add_argument("images", help="folder of images (searched recursively)")
    s.add_argument("fixation_maps", help="folder of ground-truth maps with the same relative paths and names")
    s.add_argument("-o", "--output", default="gencurve-study", help="folder for results.jsonl, study.csv, study.json")
    s.add_argument("--limit", type=int, help="only the first N images with a map (sorted by path)")
    add_item_arguments(s, single=False)
    add_common(s)
    _add_scale_out(s)


def _row_defaults(args, command: str, add_arguments=None) -> dict:
    """The item options given on the batch's command line: every row's defaults."""
    from gencurve_desktop.batch.items import row_options

    table = row_options(command, add_arguments)
    return {dest: value for dest, value in vars(args).items() if dest in table and value is not None}


def _common_argv(args) -> list[str]:
    return [word for name in MODEL_OPTIONS for word in (f"--{name.replace('_', '-')}", str(getattr(args, name)))]


def _run_items(items, outdir: Path, args, label: str, progress):
    """Run what is not done yet, embedded or on Ray; (log, tally, workers, seconds, cancelled)."""
    from tqdm import tqdm

    from gencurve_desktop.batch.results import ResultsLog
    from gencurve_desktop.batch.run import StopRequest, Tally, run_embedded

    log = ResultsLog(outdir)
    try:
        todo = [item for item in items if not log.is_done(item)]
        common = _common_argv(args)
        say = lambda text: tqdm.write(f"gencurve: {text}", file=sys.stderr)  # noqa: E731
        if not todo:
            return log, Tally(skipped=len(items)), 0, 0.0, False
        if args.ray_address is None:
            from gencurve_desktop.cli import _load

            models: dict = {}
            args.models = models
            _load(args, progress)  # 1. the model once, before any item (exit 3 if it cannot load)
            progress.close()
            workers = 1
            start = time.perf_counter()
            with StopRequest(say=say) as stop, _bar(label, len(todo)) as bar:
                tally = run_embedded(todo, log, models, bar, stop)
        else:
            from gencurve_desktop.batch.ray_pool import RayPool

            pool = RayPool(args.ray_address, args.workers, args.cpus_per_worker, args.retries, args.device)
            with pool:
                names = pool.start(common, len(todo))  # 1. every actor loads the model once
                workers = len(names)
                say(f"{workers} Ray worker(s): {', '.join(names)}")
                start = time.perf_counter()
                with StopRequest(say=say) as stop, _bar(label, len(todo)) as bar:
                    tally = pool.run(todo, log, bar, stop)
        tally.skipped = len(items) - len(todo)
        return log, tally, workers, time.perf_counter() - start, stop.requested
    finally:
        log.close()


def _bar(label: str, total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="item", file=sys.stderr, dynamic_ncols=True, leave=True)


def _summary(label: str, items, outdir: Path, log, tally, workers: int, seconds: float, cancelled: bool, args):
    summary = Summary(
        command=label,
        output=str(outdir.resolve()),
        results=str(log.path.resolve()),
        items=len(items),
        done=tally.done,
        failed=tally.failed,
        skipped=tally.skipped,
        remaining=len(items) - tally.done - tally.failed - tally.skipped,
        workers=workers,
        ray_address=args.ray_address,
        seconds=round(seconds, 3),
        items_per_minute=round(60.0 * (tally.done + tally.failed) / seconds, 3) if seconds > 0 else None,
        failures=tally.failures[:20],
        torn_lines_skipped=log.torn_lines,
    )
    summary.exit_code = 130 if cancelled else (1 if tally.failed else 0)
    return summary


def cmd_batch(args, progress) -> Summary:
    from gencurve_desktop.batch.items import Plan, make_items

    # 1. the items, checked before any model loads
    command, outdir = args.batch_command, Path(args.output)
    defaults = _row_defaults(args, command)
    masks = Path(args.masks) if getattr(args, "masks", None) else None
    plan = Plan(command, outdir, defaults, _common_argv(args), masks, getattr(args, "projects", False))
    items = make_items(plan, args.source)
    # 2. run them; 3. say what happened
    label = f"batch {command}"
    log, tally, workers, seconds, cancelled = _run_items(items, outdir, args, label, progress)
    return _summary(label, items, outdir, log, tally, workers, seconds, cancelled, args)


def cmd_study(args, progress) -> Summary:
    import csv
    import io
    import json

    from gencurve_desktop.batch.items import Plan, items_from_rows
    from gencurve_desktop.batch.study import CSV_COLUMNS, add_item_arguments, pair_maps, summarise
    from gencurve_desktop.document.atomic import write_together
    from gencurve_desktop.errors import BadInputError

    if args.limit is not None and args.limit < 1:
        raise BadInputError(f"--limit must be at least 1, got {args.limit}")
    # 1. pair images with their maps; one item each
    outdir = Path(args.output)
    rows, unpaired = pair_maps(Path(args.images), Path(args.fixation_maps), args.limit)
    defaults = _row_defaults(args, "study-saliency", add_item_arguments)
    plan = Plan("study-saliency", outdir, defaults, _common_argv(args), add_arguments=add_item_arguments)
    items = items_from_rows(plan, rows, Path.cwd(), str(args.images))
    # 2. run them through the batch machinery
    log, tally, workers, seconds, cancelled = _run_items(items, outdir, args, "study saliency", progress)
    # 3. the figures over every item of this study, finished now or before
    records = [log.previous[item.id] for item in items if item.id in log.previous]
    figures, csv_rows = summarise(records, unpaired)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows)
    summary = _summary("study saliency", items, outdir, log, tally, workers, seconds, cancelled, args)
    summary.update(figures, csv=str((outdir / "study.csv").resolve()))
    data = json.dumps(summary, indent=2, allow_nan=False).encode()
    write_together(
        [
            (outdir / "study.csv", lambda f: f.write(text.getvalue().encode())),
            (outdir / "study.json", lambda f: f.write(data)),
        ]
    )
    return summary
