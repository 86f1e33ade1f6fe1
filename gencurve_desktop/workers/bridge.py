"""EngineWorker: lives on its own QThread, loads the model and runs one job at a time.

The UI thread calls :meth:`EngineBridge.submit` with a frozen job and :meth:`EngineBridge.cancel`; results,
progress and errors come back as queued signals, so the UI thread never waits on the engine. A job runs the same
commands as the command line and a batch (commands/), on images in memory, sharing one inversion per picture.
"""

from __future__ import annotations

import atexit
import time
import traceback
import weakref

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from gencurve_desktop.commands.curve import CurveRequest, compute_curves
from gencurve_desktop.commands.edit import compute_edit
from gencurve_desktop.commands.inversions import InversionCache
from gencurve_desktop.commands.saliency import SaliencyOptions, SaliencyRequest, compute_saliency
from gencurve_desktop.engine.cancel import CancelToken
from gencurve_desktop.engine.devices import available_devices
from gencurve_desktop.engine.hspace import warm_up
from gencurve_desktop.engine.models import DiffusionModel, load_model
from gencurve_desktop.errors import CancelledError, GenCurveError
from gencurve_desktop.workers.jobs import CurveJob, EditJob, JobEvent, ModelSpec, SaliencyJob, StageProgress


class EngineWorker(QObject):
    """Runs on the worker thread; every slot is invoked through a queued connection."""

    modelLoading = Signal(str)
    modelLoaded = Signal(str, bool, str, str)  # model id, random weights, "prediction type (why)", note
    modelFailed = Signal(str)
    modelProgress = Signal(str, object, object)  # stage ("download"), done, total (bytes: may pass 2**31)
    jobStarted = Signal(str)
    progress = Signal(object)  # EditProgress
    editFinished = Signal(object)  # EditResult
    curveFinished = Signal(object, object)  # (x, y), Curves
    saliencyFinished = Signal(object)  # SaliencyMap
    jobFailed = Signal(str, str)  # kind of error, one-line message
    jobCancelled = Signal()
    jobDone = Signal()  # after every job, whatever its end
    jobEvent = Signal(object)  # JobEvent: the one signal a job controller needs

    def __init__(self) -> None:
        super().__init__()
        self.model: DiffusionModel | None = None
        self.cancel_token = CancelToken()
        self._inversions = InversionCache()  # shared by probes, saliency maps and edits of the same picture

    @Slot(object)
    def load(self, spec: ModelSpec) -> None:
        _yield_to_the_ui()
        self.modelLoading.emit(spec.model)
        try:
            self.model = load_model(
                spec.model,
                spec.device,
                spec.dtype,
                download_progress=lambda *a: self.modelProgress.emit(*a),
                prediction_type=spec.prediction_type,
            )
            warm_up(self.model)
            self._inversions.clear()
            m = self.model
            self.modelLoaded.emit(
                m.model_id, m.random_weights, f"{m.prediction_type} ({m.prediction_source})", m.note or ""
            )
        except GenCurveError as e:
            self.modelFailed.emit(str(e))
        except Exception as e:  # never let the worker thread die
            self.modelFailed.emit(f"cannot load model {spec.model!r}: {e}")

    @Slot(object, object)
    def run(self, job, token: CancelToken) -> None:
        self.cancel_token = token
        self.jobStarted.emit(job.kind)
        try:
            if self.model is None:
                raise GenCurveError("no model is loaded; choose one in Settings")
            if isinstance(job, EditJob):
                result = compute_edit(self.model, job.request, self._progress(job.kind), token, self._inversions)
                self.jobEvent.emit(JobEvent("finished", job.kind, result))  # first: the controller lands it
                self.editFinished.emit(result)
            elif isinstance(job, CurveJob):
                request = CurveRequest(job.image, (job.point,), steps=job.steps)
                result = compute_curves(self.model, request, cancel=token, inversions=self._inversions)
                self.jobEvent.emit(JobEvent("finished", job.kind, result))
                self.curveFinished.emit(job.point, result)
            elif isinstance(job, SaliencyJob):
                request = SaliencyRequest(job.image, SaliencyOptions(steps=job.steps))
                result = compute_saliency(self.model, request, self._stages(job.kind), token, self._inversions)
                self.jobEvent.emit(JobEvent("finished", job.kind, result))
                self.saliencyFinished.emit(result)
        except CancelledError:
            self.jobEvent.emit(JobEvent("cancelled", job.kind))
            self.jobCancelled.emit()
        except GenCurveError as e:
            self.jobEvent.emit(JobEvent("failed", job.kind, str(e)))
            self.jobFailed.emit(type(e).__name__, str(e))
        except Exception as e:
            traceback.print_exc()
            self.jobEvent.emit(JobEvent("failed", job.kind, f"{type(e).__name__}: {e}"))
            self.jobFailed.emit("InternalError", f"{type(e).__name__}: {e}")
        finally:
            self.jobDone.emit()

    def _stages(self, kind: str):
        def report(stage: str, done: int, total: int) -> None:
            self.jobEvent.emit(JobEvent("progress", kind, StageProgress(stage, done, total)))

        return report

    def _progress(self, kind: str):
        def report(ev) -> None:
            self.jobEvent.emit(JobEvent("progress", kind, ev))
            self.progress.emit(ev)

        return report


class EngineBridge(QObject):
    """Owned by the UI thread: starts the worker thread, submits jobs, cancels, and tracks busy state."""

    _load = Signal(object)
    _run = Signal(object, object)
    busyChanged = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("engineThread")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self._load.connect(self.worker.load)
        self._run.connect(self.worker.run)
        self.worker.jobDone.connect(self._on_done)
        self.worker.modelLoaded.connect(lambda *a: self._set_busy(False))
        self.worker.modelFailed.connect(lambda *a: self._set_busy(False))
        self.thread.start()
        self.busy = False
        self.token = CancelToken()
        _stop_at_exit(self)
        self.job_started_at = 0.0

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busyChanged.emit(busy)

    def load_model(self, spec: ModelSpec) -> bool:
        if self.busy:
            return False
        self._set_busy(True)
        self._load.emit(spec)
        return True

    def submit(self, job) -> bool:
        """Queue ``job`` unless one is running; returns whether it was accepted."""
        if self.busy:
            return False
        self.token = CancelToken()
        self.job_started_at = time.monotonic()
        self._set_busy(True)
        self._run.emit(job, self.token)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next check (within one iteration)."""
        self.token.cancel()

    def _on_done(self) -> None:
        self._set_busy(False)

    @staticmethod
    def available_devices() -> dict[str, bool]:
        """Which devices this machine has (auto and cpu always)."""
        return available_devices()

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel whatever runs and stop the thread."""
        self.token.cancel()
        self.thread.quit()
        self.thread.wait(timeout_ms)


def _stop_at_exit(bridge: EngineBridge) -> None:
    """Stop the engine thread when the process ends with the window still open (``sys.exit`` without closing
    it, or the application quitting): Qt aborts a process whose QThread object is destroyed while it runs."""
    ref = weakref.ref(bridge)

    def stop() -> None:
        alive = ref()
        if alive is not None:
            try:
                if alive.thread.isRunning():
                    alive.shutdown(5000)
            except RuntimeError:  # its C++ side is already gone
                pass

    atexit.register(stop)
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(stop)


def _yield_to_the_ui() -> None:
    """Lower this (the worker) thread's priority a little, before it first runs torch, so that torch's compute
    threads, which it starts and which inherit it, leave the UI thread a core when both want one (Linux: nice is
    per thread). On a 2-core machine the plot's repaints waited 60-70 ms for a core during an edit."""
    import os
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), 5))
        except OSError:
            pass
