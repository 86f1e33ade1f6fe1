"""The worker bridge: jobs on the worker thread, progress, cancel, failures reported as signals."""

import numpy as np
import pytest

from gencurve_desktop.engine.requests import EditParams, EditRequest
from gencurve_desktop.workers.bridge import EngineBridge
from gencurve_desktop.workers.jobs import CurveJob, EditJob, ModelSpec

WAIT = 120_000


@pytest.fixture
def bridge(qtbot):
    b = EngineBridge()
    with qtbot.waitSignal(b.worker.modelLoaded, timeout=WAIT):
        assert b.load_model(ModelSpec("demo", "cpu"))
    yield b
    b.shutdown()


def request(sample_rgb, iterations=4):
    mask = np.zeros(sample_rgb.shape[:2], bool)
    mask[40:80, 40:80] = True
    return EditRequest("remove", sample_rgb, mask, None, EditParams(iterations=iterations, steps=4, refresh_every=2))


def test_edit_runs_off_the_ui_thread_with_progress(bridge, qtbot, sample_rgb):
    from PySide6.QtCore import QThread

    seen = []
    bridge.worker.progress.connect(
        lambda ev: seen.append((ev.iteration, QThread.currentThread())) if ev.phase == "iterations" else None
    )
    with qtbot.waitSignal(bridge.worker.editFinished, timeout=WAIT) as blocker:
        assert bridge.submit(EditJob(request(sample_rgb)))
        assert bridge.busy and not bridge.submit(EditJob(request(sample_rgb)))  # one job at a time
    assert blocker.args[0].iterations == 4
    assert [i for i, _ in seen] == [1, 2, 3, 4]
    qtbot.waitUntil(lambda: not bridge.busy, timeout=WAIT)
    assert bridge.worker.thread() is bridge.thread


def test_cancel(bridge, qtbot, sample_rgb):
    finished = []
    bridge.worker.editFinished.connect(finished.append)
    bridge.worker.progress.connect(lambda ev: bridge.cancel() if ev.iteration == 2 else None)
    with qtbot.waitSignal(bridge.worker.jobCancelled, timeout=WAIT):
        bridge.submit(EditJob(request(sample_rgb, iterations=500)))
    qtbot.waitUntil(lambda: not bridge.busy, timeout=WAIT)
    assert finished == []


def test_failure_is_a_signal_not_a_crash(bridge, qtbot, sample_rgb):
    with qtbot.waitSignal(bridge.worker.jobFailed, timeout=WAIT) as blocker:
        bridge.submit(CurveJob(sample_rgb, (500, 500), steps=4))
    assert blocker.args[0] == "BadInputError" and "outside" in blocker.args[1]
    qtbot.waitUntil(lambda: not bridge.busy, timeout=WAIT)
    with qtbot.waitSignal(bridge.worker.curveFinished, timeout=WAIT):  # the worker still works
        bridge.submit(CurveJob(sample_rgb, (5, 5), steps=4))


def test_model_that_cannot_load(qtbot, tmp_path):
    b = EngineBridge()
    try:
        with qtbot.waitSignal(b.worker.modelFailed, timeout=WAIT) as blocker:
            b.load_model(ModelSpec(str(tmp_path / "nothing-here")))
        assert "no such model" in blocker.args[0]
        qtbot.waitUntil(lambda: not b.busy, timeout=WAIT)
    finally:
        b.shutdown()


def test_an_edit_after_a_probe_reuses_the_probe_inversion(bridge, qtbot, sample_rgb):
    encodes = []
    bridge.worker.model.vae.encoder.register_forward_hook(lambda *_: encodes.append(1))
    with qtbot.waitSignal(bridge.worker.curveFinished, timeout=WAIT):
        bridge.submit(CurveJob(sample_rgb, (5, 5), steps=4))
    qtbot.waitUntil(lambda: not bridge.busy, timeout=WAIT)
    with qtbot.waitSignal(bridge.worker.editFinished, timeout=WAIT):
        bridge.submit(EditJob(request(sample_rgb)))  # same image, same steps
    qtbot.waitUntil(lambda: not bridge.busy, timeout=WAIT)
    assert encodes == [1, 1]  # the probe's encode, then the edit's output (its after-figures); never the input again
