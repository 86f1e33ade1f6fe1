"""The job controller: turns a click into a job for the worker and its result into one undoable change.

Each started job registers its own result handler; the worker's single ``jobEvent`` signal carries progress,
the result, a failure or a cancellation, and the controller hands it to the running job's handler.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from gencurve_desktop.document.changes import AddEdit
from gencurve_desktop.document.document import EditRecord
from gencurve_desktop.document.layers import Layer
from gencurve_desktop.errors import GenCurveError
from gencurve_desktop.workers.bridge import EngineBridge
from gencurve_desktop.workers.jobs import PHASES, CurveJob, EditJob, EditRequest, JobEvent, SaliencyJob, StageProgress

PLOT_INTERVAL_MS = 100
#: What a saliency map's engine stages are called on the progress line.
STAGE_TEXT = {"invert": "Saliency map — inverting the image", "saliency": "Saliency map — measuring the curves"}


def composite_digest(rgb) -> bytes:
    """What a saliency map is tied to: a digest of the composite's pixels (about 1 ms for 12 MP)."""
    return hashlib.blake2b(rgb.tobytes(), digest_size=16).digest() + repr(rgb.shape).encode()


class JobController(QObject):
    """Starts edits, curve probes and saliency maps; lands their results; reports failures."""

    editLanded = Signal(str)  # layer id

    def __init__(self, window, bridge: EngineBridge) -> None:
        super().__init__(window)
        self.w, self.bridge = window, bridge
        self._on_result: Callable[[object], None] | None = None
        self._on_stop: Callable[[], None] | None = None
        self._pending_plot = None
        self._started = 0.0
        self.edit_running = False  # an edit (not a probe or a map) is in flight: strokes now are for the next one
        self.plot_timer = QTimer(self, interval=PLOT_INTERVAL_MS, timeout=self._flush_plot)
        # the progress line is redrawn every second between events: elapsed time runs, the ETA counts down
        self._line = None  # (when, done, total, eta_s, label, phase) of the last progress shown
        self._pace = ("", 0.0, 0)  # the counted stage running, when and at which count it was first reported
        self.clock = QTimer(self, interval=1000, timeout=self._tick)
        bridge.worker.jobEvent.connect(self._event)
        bridge.busyChanged.connect(self._busy_changed)

    def _start(self, job, on_result, on_stop=None) -> bool:
        if not self.bridge.submit(job):
            return False
        self._on_result, self._on_stop = on_result, on_stop
        return True

    # ------------------------------------------------------------------ starting jobs
    def run_edit(self) -> bool:
        """Start the selected edit on the current composite, mask and reference."""
        w = self.w
        doc = w.doc
        if doc is None or self.bridge.busy:
            return False
        task = w.task_dock.task
        ref = w.task_dock.reference(doc.references[0] if doc.references else None)
        request = EditRequest(task, doc.composite(), doc.mask.copy(), ref, w.task_dock.params())
        try:
            request.validate()
        except GenCurveError as e:
            w.show_error("Cannot run this edit", str(e))
            return False
        w.curve_dock.start_run()
        w.task_dock.show_phase("Starting", request.params.for_task(request.task).iterations)
        w.task_dock.result_card.hide()
        w.task_dock.preview.clear()
        w.repaint()  # now, before the engine starts: painted while it runs, every Qt call waits for the GIL
        if not self._start(EditJob(request), lambda result: self._edit_finished(doc, result)):
            w.curve_dock.end_run()
            w.curve_dock.restore_run()
            w.task_dock.show_outcome("Not started: another job is running")
            return False
        self._started = time.monotonic()
        self.edit_running = True
        self.plot_timer.start()
        self.clock.start()
        return True

    def probe(self, x: int, y: int) -> None:
        w = self.w
        if w.doc is None:
            return
        job = CurveJob(w.doc.composite(), (x, y), w.task_dock.steps.value())
        if not self._start(job, lambda curves: self._curve_finished((x, y), curves)):
            w.statusBar().showMessage("Busy: the probe waits until the running job ends", 3000)
            return
        w.statusBar().showMessage(f"Computing the curve of ({x}, {y})…")

    def saliency(self) -> bool:
        w = self.w
        composite = w.doc.composite()
        job = SaliencyJob(composite, w.task_dock.steps.value())
        if not self._start(job, self._saliency_finished, on_stop=lambda: w.actionSaliencyMap.setChecked(False)):
            return False
        self._started = time.monotonic()
        self._show(0, 0, None, "Saliency map — starting", phase=True)
        self.clock.start()
        self._saliency_of = composite_digest(composite)  # the map belongs to this composite
        w.statusBar().showMessage("Computing the saliency map…")
        return True

    def cancel(self) -> None:
        if self.bridge.busy:
            self.bridge.cancel()
            self.w.statusBar().showMessage("Cancelling…")

    # ------------------------------------------------------------------ what the worker says
    def _event(self, ev: JobEvent) -> None:
        if ev.state == "progress":
            if isinstance(ev.value, StageProgress):
                self._stage_progress(ev.value)
            else:
                self._edit_progress(ev.value)
            return
        self.clock.stop()
        self._line, self._pace = None, ("", 0.0, 0)
        on_result, on_stop = self._on_result, self._on_stop
        self._on_result = self._on_stop = None
        self.edit_running = False
        if ev.state == "finished" and on_result is not None:
            on_result(ev.value)
        elif ev.state in ("failed", "cancelled"):
            if on_stop is not None:
                on_stop()
            self._pending_plot = None  # a live frame of the stopped run must not be drawn over them
            self.w.curve_dock.restore_run()  # nothing was changed: the last edit's curves stay
            self.w.task_dock.show_outcome("Failed" if ev.state == "failed" else "Cancelled — nothing was changed")
            if ev.state == "failed":
                self.w.show_error("The job failed", str(ev.value))
            else:
                self.w.statusBar().showMessage("Cancelled; nothing was changed", 4000)

    def _busy_changed(self, busy: bool) -> None:
        self.w.actionRun.setEnabled(not busy and self.w.doc is not None)
        self.w.actionCancel.setEnabled(busy)
        if not busy:
            self.plot_timer.stop()
            self._flush_plot()
            self.w.curve_dock.end_run()

    def _edit_progress(self, ev) -> None:
        if ev.phase != "iterations":  # set-up and wrap-up: say what is happening; the starting curves when known
            self._show(0, ev.total, None, PHASES[ev.phase], phase=True)
            if len(ev.source_curve):
                self._pending_plot = ev
            return
        eta = self._eta("iterations", ev.iteration, ev.total)  # iterations only, not the set-up before them
        self._show(ev.iteration, ev.total, eta, "Optimising: iteration")
        self._pending_plot = ev
        if ev.preview is not None and self.w.task_dock.preview_check.isChecked():
            self.w.task_dock.show_preview(ev.preview)

    def _stage_progress(self, p: StageProgress) -> None:
        """A saliency map's stage: a determinate bar per stage, its ETA from that stage's own pace."""
        self._show(p.done, p.total, self._eta(p.stage, p.done, p.total), STAGE_TEXT.get(p.stage, p.stage) + ":")

    def _eta(self, stage: str, done: int, total: int) -> float | None:
        """Seconds left in a counted stage at the pace since its first report (None until a second one)."""
        now = time.monotonic()
        if stage != self._pace[0]:  # a new stage (a job's end resets it)
            self._pace = (stage, now, done)
        _, began, first = self._pace
        return (now - began) / (done - first) * (total - done) if done > first else None

    def _show(self, done: int, total: int, eta: float | None, label: str, phase: bool = False) -> None:
        self._line = (time.monotonic(), done, total, eta, label, phase)
        self._tick()

    def _tick(self) -> None:
        """Redraw the progress line now: elapsed since the job began, the ETA less the time since it was measured."""
        if self._line is None:
            return
        when, done, total, eta, label, phase = self._line
        now = time.monotonic()
        if phase:  # a step without a count (set-up, measuring): a busy bar and the time running
            self.w.task_dock.show_phase(label, total, elapsed_s=now - self._started)
            return
        left = None if eta is None else max(0.0, eta - (now - when))
        self.w.task_dock.show_progress(done, total, left, elapsed_s=now - self._started, label=label)

    def _flush_plot(self) -> None:
        ev, self._pending_plot = self._pending_plot, None
        if ev is not None:
            self.w.curve_dock.set_live(ev.timesteps, ev.source_curve, ev.reference_curve)

    def _edit_finished(self, doc, result) -> None:
        w = self.w
        self._pending_plot = None  # the final curves below replace any live frame still waiting
        if w.doc is not doc or result.image.shape[:2] != (doc.height, doc.width):
            w.statusBar().showMessage("The document changed while the edit ran; its result was dropped", 5000)
            return
        record = EditRecord(result.provenance(), result.mask)
        layer = Layer.from_rgb(f"{result.title} {len(doc.edits) + 1}", result.image)
        w.session.push(AddEdit(layer, record, label=result.title))
        w.layers_dock.select(layer.id)  # the new layer is the current one, as in Krita
        w.curve_dock.set_before(result.timesteps, result.source_curve_before, result.reference_curve_before)
        w.curve_dock.set_live(result.timesteps, result.source_curve_after, result.reference_curve_after)
        w.saliency = None
        w.show_saliency()
        w.statusBar().showMessage(f"{result.title}: {result.iterations} iterations in {result.seconds:.1f} s", 5000)
        w.task_dock.show_outcome(f"Done: {result.title}")
        w.task_dock.show_result(result)
        self.editLanded.emit(layer.id)

    def _curve_finished(self, point, curves) -> None:
        dock = self.w.curve_dock
        self.w.canvas.add_probe_marker(point[0], point[1], dock.probe_color(len(dock.probes)))
        dock.add_probe(f"pixel ({point[0]}, {point[1]})", curves.timesteps, curves.rates[0])
        self.w.statusBar().showMessage(f"Curve of ({point[0]}, {point[1]}) added", 3000)

    def _saliency_finished(self, smap) -> None:
        self.w.saliency = smap.image
        self.w.saliency_digest = self._saliency_of
        self.w.show_saliency()
        self.w.statusBar().showMessage(f"Saliency map in {smap.seconds:.1f} s", 3000)
        self.w.task_dock.show_outcome(f"Done: saliency map in {smap.seconds:.1f} s")
