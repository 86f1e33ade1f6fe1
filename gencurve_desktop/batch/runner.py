"""A whole batch (``gencurve batch``): its typed request, its items run in this process or on Ray, its summary.

The summary ends the program with 0 when every item succeeded or was already done, 1 when any item failed
(``results.jsonl`` says which and why), 130 when stopped with Ctrl+C (run the same command again to go on).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gencurve_desktop.batch.items import BatchItem, Plan, make_items
from gencurve_desktop.batch.results import ResultsLog
from gencurve_desktop.batch.run import Tally
from gencurve_desktop.commands.loading import ModelCache, ModelOptions
from gencurve_desktop.engine.cancel import ProgressFn, no_progress


class Summary(dict):
    """A batch's JSON result that ends the program with ``exit_code``."""

    exit_code = 0


@dataclass(frozen=True)
class ScaleOut:
    """Where the items run: in sequence in this process (no ``address``), or on Ray actors."""

    address: str | None = None  # auto, HOST:PORT, ray://HOST:PORT or local
    workers: int | None = None  # actors to start (default: one per GPU or per CPU slot)
    cpus_per_worker: int = 1
    retries: int = 2  # times an item goes again when its worker dies


@dataclass(frozen=True)
class ModelSettings:
    """What every item of a batch shares: the model and the inversion's step count and working-size limit."""

    model: ModelOptions = ModelOptions()
    steps: int = 50
    max_side: int = 1024

    def argv(self) -> list[str]:
        """The settings as the command-line words each item's ``argv`` ends with."""
        m = self.model
        values = [m.model, m.device, m.dtype, m.prediction_type, self.steps, self.max_side]
        flags = ["--model", "--device", "--dtype", "--prediction-type", "--steps", "--max-side"]
        return [word for flag, value in zip(flags, values) for word in (flag, str(value))]

    def fixed(self) -> dict:
        """The item options they set."""
        return {"steps": self.steps, "max_side": self.max_side}


@dataclass(frozen=True)
class BatchRequest:
    """``gencurve batch curve|saliency|edit SOURCE -o OUTDIR``: one item command over a folder or a manifest."""

    command: str  # curve | saliency | edit
    source: str  # a folder of images, or a manifest (.csv with a header, or .jsonl)
    output: Path  # results.jsonl and the items' files
    defaults: Mapping[str, object] = field(default_factory=dict)  # every item's options, unless its row says
    settings: ModelSettings = ModelSettings()
    masks: Path | None = None  # curve, edit: masks named like the images, <image stem>.png
    projects: bool = False  # edit: also write <id>.ora
    scale_out: ScaleOut = ScaleOut()


@dataclass
class Outcome:
    """What running the items did."""

    log: ResultsLog
    tally: Tally
    workers: int = 0
    seconds: float = 0.0
    cancelled: bool = False


def run_batch(request: BatchRequest, progress: ProgressFn = no_progress) -> Summary:
    """Check every item (before any model loads), run what is not done yet, and sum up."""
    # 1. the items, checked before any model loads
    r, s = request, request.settings
    plan = Plan(r.command, r.output, dict(r.defaults), s.argv(), r.masks, r.projects, fixed=s.fixed())
    items = make_items(plan, r.source)
    # 2. run them; 3. say what happened
    label = f"batch {request.command}"
    outcome = run_items(items, request.output, s.model, request.scale_out, label, progress)
    return summarise(label, items, request.output, outcome, request.scale_out)


def run_items(
    items: list[BatchItem], outdir: Path, model: ModelOptions, scale_out: ScaleOut, label: str, progress: ProgressFn
) -> Outcome:
    """Run the items that are not done yet, embedded or on Ray; the log is closed on return."""
    from tqdm import tqdm

    from gencurve_desktop.batch.run import StopRequest, run_embedded

    log = ResultsLog(outdir)
    try:
        todo = [item for item in items if not log.is_done(item)]
        say = lambda text: tqdm.write(f"gencurve: {text}", file=sys.stderr)  # noqa: E731
        if not todo:
            return Outcome(log, Tally(skipped=len(items)))
        if scale_out.address is None:
            source = ModelCache().source(model)
            source(progress)  # 1. the model once, before any item (exit 3 if it cannot load)
            workers = 1
            start = time.perf_counter()
            with StopRequest(say=say) as stop, _bar(label, len(todo)) as bar:
                tally = run_embedded(todo, log, source, bar, stop)
        else:
            from gencurve_desktop.batch.ray_pool import RayPool

            o = scale_out
            with RayPool(o.address, o.workers, o.cpus_per_worker, o.retries, model.device) as pool:
                names = pool.start(model, len(todo))  # 1. every actor loads the model once
                workers = len(names)
                say(f"{workers} Ray worker(s): {', '.join(names)}")
                start = time.perf_counter()
                with StopRequest(say=say) as stop, _bar(label, len(todo)) as bar:
                    tally = pool.run(todo, log, bar, stop)
        tally.skipped = len(items) - len(todo)
        return Outcome(log, tally, workers, time.perf_counter() - start, stop.requested)
    finally:
        log.close()


def _bar(label: str, total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="item", file=sys.stderr, dynamic_ncols=True, leave=True)


def summarise(label: str, items: list[BatchItem], outdir: Path, outcome: Outcome, scale_out: ScaleOut) -> Summary:
    """The batch's JSON result, and its exit code."""
    log, tally, seconds = outcome.log, outcome.tally, outcome.seconds
    summary = Summary(
        command=label,
        output=str(outdir.resolve()),
        results=str(log.path.resolve()),
        items=len(items),
        done=tally.done,
        failed=tally.failed,
        skipped=tally.skipped,
        remaining=len(items) - tally.done - tally.failed - tally.skipped,
        workers=outcome.workers,
        ray_address=scale_out.address,
        seconds=round(seconds, 3),
        items_per_minute=round(60.0 * (tally.done + tally.failed) / seconds, 3) if seconds > 0 else None,
        failures=tally.failures[:20],
        torn_lines_skipped=log.torn_lines,
    )
    summary.exit_code = 130 if outcome.cancelled else (1 if tally.failed else 0)
    return summary
