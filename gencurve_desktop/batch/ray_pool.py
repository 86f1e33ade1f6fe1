"""Scale-out on Ray (``pip install 'gencurve-desktop[cluster]'``): one actor per GPU, or per N CPU cores, each
loading the model once.

Workers need not share a file system with the machine that starts the batch: the driver sends each item's input
files to an actor, the actor runs :func:`~gencurve_desktop.batch.run.run_item` in a temporary folder and sends
back the result and the output files, and the driver writes them into the output folder and ``results.jsonl``.
An actor that dies (killed, out of host memory, node lost) is restarted by Ray and its item goes to the next free
actor; an item whose worker died ``retries + 1`` times is recorded as failed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
from collections import deque
from dataclasses import replace
from pathlib import Path

from gencurve_desktop.batch.items import BatchItem
from gencurve_desktop.batch.results import ResultsLog
from gencurve_desktop.batch.run import StopRequest, Tally, on_main_thread, run_item, worker_name
from gencurve_desktop.commands.loading import ModelCache, ModelOptions
from gencurve_desktop.engine.cancel import no_progress
from gencurve_desktop.errors import BadInputError, GenCurveError, ModelLoadError


class Worker:
    """The body of a Ray actor: the model options of the batch, and the model, loaded once."""

    def __init__(self, model: ModelOptions, threads: int) -> None:
        self.name, self.error = worker_name("ray"), None
        self.model = ModelCache().source(model)
        try:
            import torch

            torch.set_num_threads(max(1, threads))
            self.model(no_progress)
        except GenCurveError as e:  # reported by ready(), so the driver can stop with the right exit code
            self.error = (str(e), e.exit_code)

    def ready(self) -> dict:
        """The actor's name, and the error that stopped its model from loading, if any."""
        return {"worker": self.name, "error": self.error}

    def run(self, item: BatchItem, files: dict[str, bytes]) -> tuple[dict, list[bytes | None]]:
        """Run one item on the input ``files`` (role -> bytes); its results line and its output files' bytes."""
        with tempfile.TemporaryDirectory(prefix="gencurve-item-") as tmp:
            here: dict[str, str] = {}
            for role, path in item.inputs.items():
                here[path] = os.path.join(tmp, f"{role}{Path(path).suffix}")
                if role in files:
                    Path(here[path]).write_bytes(files[role])
            for n, path in enumerate(item.outputs):
                here[path] = os.path.join(tmp, f"output{n}{Path(path).suffix}")
            local = replace(
                item,
                argv=tuple(here.get(word, word) for word in item.argv),
                inputs={role: here[p] for role, p in item.inputs.items()},
                outputs=tuple(here[p] for p in item.outputs),
            )
            record = run_item(local, self.model)
            outputs = [Path(p).read_bytes() if Path(p).is_file() else None for p in local.outputs]
        text = json.dumps(record)
        for original, temporary in here.items():  # paths and messages name the caller's files
            text = text.replace(json.dumps(temporary)[1:-1], json.dumps(original)[1:-1])
        return {**json.loads(text), "worker": self.name}, outputs


def _ray():
    try:
        import ray
    except ImportError:
        raise BadInputError("--ray-address needs Ray: pip install 'gencurve-desktop[cluster]'") from None
    return ray


class RayPool:
    """Actors on a Ray cluster (or a private local one, ``--ray-address local``), used as a context manager."""

    def __init__(self, address: str, workers: int | None, cpus_per_worker: int, retries: int, device: str) -> None:
        if cpus_per_worker < 1 or retries < 0 or (workers is not None and workers < 1):
            raise BadInputError("--workers and --cpus-per-worker must be at least 1, --retries at least 0")
        self.address, self.workers, self.cpus = address, workers, cpus_per_worker
        self.retries, self.device = retries, device
        self.actors: list = []

    def __enter__(self) -> RayPool:
        ray = _ray()
        # stdout carries only our JSON: what Ray prints there (a dead worker's notice) goes to stderr
        sys.stdout.flush()
        self._stdout = (sys.stdout, os.dup(1))
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        local = self.address == "local"
        term = signal.getsignal(signal.SIGTERM)
        try:  # 1. connect (a private instance for "local"), keeping our own SIGTERM handling
            options = {"log_to_driver": False, "logging_level": logging.WARNING}
            if local:
                options |= {"num_cpus": (self.workers or os.cpu_count() or 1) * self.cpus, "include_dashboard": False}
            ray.init(address=None if local else self.address, **options)
        except BaseException as e:
            self._restore_stdout()
            if not isinstance(e, Exception):
                raise
            # Ray raises many kinds; all mean "cannot reach the cluster"
            raise BadInputError(f"cannot start or reach Ray at {self.address!r}: {str(e).splitlines()[0]}") from None
        finally:
            if on_main_thread():
                signal.signal(signal.SIGTERM, term)
        return self

    def start(self, model: ModelOptions, count: int) -> list[str]:
        """Start up to ``count`` actors, each loading the model; their names. A model that cannot load on a
        worker is the batch's error (exit 3)."""
        ray = _ray()
        # 2. one actor per GPU when the model runs on GPUs, else one per cpus_per_worker cores
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0)) if self.device != "cpu" else 0
        capacity = gpus if gpus else max(1, int(resources.get("CPU", 1)) // self.cpus)
        n = max(1, min(count, self.workers or capacity, capacity))
        actor = ray.remote(Worker).options(
            num_cpus=self.cpus, num_gpus=1 if gpus else 0, max_restarts=self.retries, max_task_retries=0
        )
        self.actors = [actor.remote(model, self.cpus) for _ in range(n)]
        # 3. wait until every actor has its model
        states = ray.get([a.ready.remote() for a in self.actors])
        for state in states:
            if state["error"] is not None:
                message, code = state["error"]
                raise ModelLoadError(message) if code == ModelLoadError.exit_code else GenCurveError(message)
        return [s["worker"] for s in states]

    def run(self, items: list[BatchItem], log: ResultsLog, bar, stop: StopRequest) -> Tally:
        """Spread ``items`` over the actors; each line goes to ``log`` as its item comes back."""
        ray = _ray()
        tally, pending, busy, idle = Tally(), deque(items), {}, deque(self.actors)
        attempts = {item.id: 0 for item in items}
        while pending or any(item is not None for item, _ in busy.values()):
            while idle and pending and not stop.requested:
                item, actor = pending.popleft(), idle.popleft()
                attempts[item.id] += 1
                busy[actor.run.remote(item, _files(item))] = (item, actor)
            if stop.requested and all(item is None for item, _ in busy.values()):
                break
            if pending and not busy and not idle:
                raise GenCurveError("every Ray worker died; the items left were not run (run the command again)")
            ready, _ = ray.wait(list(busy), num_returns=1, timeout=0.5)
            for ref in ready:
                item, actor = busy.pop(ref)
                if item is None:  # a restarted actor answering: back to work, or gone for good
                    with contextlib.suppress(ray.exceptions.RayActorError):
                        if ray.get(ref)["error"] is None:
                            idle.append(actor)
                    continue
                try:
                    record, outputs = ray.get(ref)
                except ray.exceptions.RayActorError:  # the worker died: Ray restarts it, the item goes again
                    busy[actor.ready.remote()] = (None, actor)
                    if attempts[item.id] <= self.retries:
                        pending.appendleft(item)
                        continue
                    record, outputs = _died(item, attempts[item.id]), []
                else:
                    idle.append(actor)
                    record = _write_outputs(item, record, outputs)
                log.append({**record, "attempts": attempts[item.id]})
                tally.count(record)
                bar.update(1)
        return tally

    def __exit__(self, *exc) -> None:
        ray = _ray()
        for actor in self.actors:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        ray.shutdown()
        self._restore_stdout()

    def _restore_stdout(self) -> None:
        sys.stdout.flush()
        sys.stdout, saved = self._stdout
        os.dup2(saved, 1)
        os.close(saved)


def _files(item: BatchItem) -> dict[str, bytes]:
    """The item's input files as bytes; a missing or unreadable one is left out and fails on the worker with the
    same message as it would here."""
    files = {}
    for role, path in item.inputs.items():
        try:
            files[role] = Path(path).read_bytes()
        except OSError:
            pass
    return files


def _write_outputs(item: BatchItem, record: dict, outputs: list[bytes | None]) -> dict:
    """Write a finished item's outputs into the output folder together; a write failure is the item's error."""
    from gencurve_desktop.document.atomic import write_together

    if record["error"] is not None:
        return record
    try:
        write_together(
            [(Path(p), lambda f, data=data: f.write(data)) for p, data in zip(item.outputs, outputs) if data]
        )
    except GenCurveError as e:
        return {**record, "result": None, "error": {"message": str(e), "exit_code": e.exit_code}}
    return record


def _died(item: BatchItem, times: int) -> dict:
    error = {"message": f"the worker running it died {times} times", "exit_code": 1}
    return {**item.record(error), "seconds": None, "worker": None}
