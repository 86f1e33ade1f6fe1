"""What the Edit dock tells the user: the phase of a job, an honest reset on finish and cancel, a result card
with the before → after figure, and parameters that survive a change of task."""

import numpy as np
import pytest
from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLabel, QProgressBar

from gencurve_desktop.app import create_main_window

WAIT = 120_000


@pytest.fixture
def window(qtbot, small_png):
    w = create_main_window("demo", recovery_prompt=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo", timeout=WAIT)
    w.open_path(small_png)
    stroke = np.zeros((w.doc.height, w.doc.width), bool)
    stroke[40:80, 40:88] = True
    w.paint_mask(stroke)
    w.task_dock.steps.setValue(6)
    w.task_dock.refresh.setValue(3)
    yield w
    w.discard_and_close()


class LabelRecorder(QObject):
    def __init__(self, label):
        super().__init__()
        self.label, self.seen = label, []

    @Slot(object)
    def record(self, _event):
        self.seen.append(self.label.text())


class CancelAt(QObject):
    def __init__(self, window, iteration):
        super().__init__()
        self.window, self.iteration = window, iteration

    @Slot(object)
    def progress(self, ev):
        if ev.phase == "iterations" and ev.iteration == self.iteration:
            self.window.cancel_job()


def choose(w, task):
    w.task_dock.task_combo.setCurrentIndex(w.task_dock.task_combo.findData(task))


def test_progress_names_each_phase_and_ends_done_with_a_result_card(window, qtbot):
    w = window
    choose(w, "saliency-down")
    w.task_dock.iterations.setValue(4)
    phase = w.task_dock.findChild(QLabel, "jobPhase")
    recorder = LabelRecorder(phase)  # a UI-thread receiver: it runs after the window has handled each event
    w.bridge.worker.jobEvent.connect(recorder.record)
    seen = recorder.seen
    with qtbot.waitSignal(w.editLanded, timeout=WAIT):
        assert w.run_edit()
    texts = " | ".join(seen)
    for words in ("Inverting the image", "Computing the starting curves", "iteration 1 of 4", "Decoding"):
        assert words in texts, texts
    bar = w.task_dock.findChild(QProgressBar, "jobProgress")
    assert phase.text().startswith("Done") and bar.value() == bar.maximum() == 4
    card = w.task_dock.findChild(QLabel, "resultCard")
    assert card.isVisible() and "Curve fluctuation" in card.text() and "→" in card.text()
    assert "seed 0" in card.text()


def test_cancel_resets_the_bar_and_says_so(window, qtbot):
    w = window
    choose(w, "remove")
    w.task_dock.iterations.setValue(500)
    canceller = CancelAt(w, 2)  # a UI-thread receiver: the window is only touched from its own thread
    w.bridge.worker.progress.connect(canceller.progress)
    with qtbot.waitSignal(w.bridge.worker.jobCancelled, timeout=WAIT):
        assert w.run_edit()
    qtbot.waitUntil(lambda: not w.bridge.busy, timeout=WAIT)
    phase = w.task_dock.findChild(QLabel, "jobPhase")
    assert phase.text().startswith("Cancelled") and w.task_dock.progress.value() == 0


def test_changing_the_task_keeps_what_the_user_set(window):
    w = window
    dock = w.task_dock
    choose(w, "transfer")
    assert dock.iterations.value() == 150
    dock.iterations.setValue(37)
    dock.lr.setValue(0.02)
    choose(w, "blend")
    assert dock.iterations.value() == 37 and dock.lr.value() == pytest.approx(0.02)
    assert dock.erode.isEnabled() and dock.lam.isEnabled()
    choose(w, "transfer")
    assert not dock.erode.isEnabled() and not dock.lam.isEnabled()  # transfer ignores them


def test_result_card_flags_an_edit_that_made_things_worse():
    from types import SimpleNamespace

    from gencurve_desktop.ui.task_panel import result_card_html

    worse = SimpleNamespace(
        task="transfer",
        title="Semantic transfer",
        iterations=10,
        seconds=3.0,
        curve_distance_before=0.037,
        curve_distance_after=0.311,
        fluctuation_before=0.1,
        fluctuation_after=0.1,
        params={"seed": 0, "lr": 0.05, "gradient": "backprop"},
        model_id="demo",
        ref=(3, 4),
    )
    html = result_card_html(worse)
    assert "0.037 → <b>0.311</b>" in html and "did not improve" in html
