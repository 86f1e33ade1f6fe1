"""Never lose a user's work: save prompts, recovery keyed per document and instance, autosave failures shown,
and a real crash (SIGKILL) followed by a restart."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from gencurve_desktop.app import create_main_window
from gencurve_desktop.document import recovery
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.ora import load_ora, save_ora

WAIT = 120_000


@pytest.fixture
def private_recovery(tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    monkeypatch.setenv("GENCURVE_RECOVERY_DIR", str(folder))
    return folder


@pytest.fixture
def window(qtbot, private_recovery):
    w = create_main_window("demo", recovery_prompt=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo" and not w.bridge.busy, timeout=WAIT)
    yield w
    if w.isVisible():
        w.discard_and_close()


def stroke(w, y=5):
    s = np.zeros((w.doc.height, w.doc.width), bool)
    s[y : y + 4, 5:9] = True
    w.paint_mask(s)


def prompt(w, qtbot) -> QMessageBox:
    qtbot.waitUntil(lambda: w.findChild(QMessageBox, "saveChangesPrompt") is not None, timeout=10_000)
    return w.findChild(QMessageBox, "saveChangesPrompt")


def test_close_asks_and_cancel_keeps_everything(window, qtbot, small_png):
    w = window
    w.open_path(small_png)
    stroke(w)
    assert w.windowTitle().startswith("small.png*")
    w.close()
    box = prompt(w, qtbot)
    box.button(QMessageBox.Cancel).click()
    assert w.isVisible() and w.doc.mask.sum() == 16


def test_close_save_writes_the_project_then_closes(window, qtbot, tmp_path, sample_rgb):
    w = window
    project = tmp_path / "p.ora"
    save_ora(Document.from_image(sample_rgb), project)
    w.open_path(project)
    stroke(w)
    w.actionQuit.trigger()
    prompt(w, qtbot).button(QMessageBox.Save).click()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=10_000)
    assert load_ora(project).mask.sum() == 16


def test_open_recent_and_drop_ask_before_replacing_unsaved_work(window, qtbot, small_png, tmp_path):
    w = window
    other = tmp_path / "other.png"
    other.write_bytes(small_png.read_bytes())
    w.open_path(small_png)
    w.open_path(other)  # both in Open Recent now
    stroke(w)
    recent = [a for a in w.recent_menu.actions() if a.text() == "small.png"][0]
    recent.trigger()
    prompt(w, qtbot).button(QMessageBox.Cancel).click()
    assert w.session.origin == other and w.doc.mask.sum() == 16
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(small_png))])
    w.dropEvent(QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    prompt(w, qtbot).button(QMessageBox.Discard).click()
    qtbot.waitUntil(lambda: w.session.origin == small_png, timeout=10_000)
    assert not w.doc.mask.any() and not w.session.is_dirty()


def test_each_document_has_its_own_recovery_snapshot(window, qtbot, small_png, tmp_path):
    w = window
    w.open_path(small_png)
    stroke(w)
    first = w.session.key
    w.session.autosave_now()
    other = tmp_path / "b.png"
    other.write_bytes(small_png.read_bytes())
    w.open_path(other)  # opened without a prompt through the scripting call
    stroke(w, y=40)
    assert w.session.key != first
    w.session.autosave_now()
    keys = {e.document_key: e for e in recovery.list_recovery(include_live=True)}
    assert first in keys and w.session.key in keys
    assert recovery.restore(keys[first]).mask[5:9, 5:9].all()
    assert not recovery.restore(keys[first]).mask[40:44].any()


def test_a_live_instances_autosave_is_never_offered_to_another(window, qtbot, small_png):
    w = window
    w.open_path(small_png)
    stroke(w)
    w.session.autosave_now()
    second = create_main_window("demo", recovery_prompt=True)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitUntil(lambda: second.model_label.text() == "demo", timeout=WAIT)
    qtbot.wait(200)
    assert second.findChild(QMessageBox, "recoveryPrompt") is None
    second.discard_and_close()
    assert any(e.document_key == w.session.key for e in recovery.list_recovery(include_live=True))


def test_autosave_failure_shows_in_the_status_bar(window, qtbot, small_png, tmp_path, monkeypatch):
    w = window
    w.open_path(small_png)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the recovery folder should be")
    monkeypatch.setenv("GENCURVE_RECOVERY_DIR", str(blocker))
    stroke(w)
    w.session.autosave()
    qtbot.waitUntil(lambda: w.statusBar().currentMessage().startswith("Autosave failed"), timeout=10_000)
    assert "not-a-folder" in w.statusBar().currentMessage()
    assert w.session.is_dirty()  # nothing was lost: the document is still there, unsaved


def run_child(project: Path, action: str, recovery_dir: Path, timeout_s: float = 240) -> str:
    """Start the app in a child process, wait for its READY (snapshot written), then SIGKILL it."""
    env = dict(os.environ, GENCURVE_RECOVERY_DIR=str(recovery_dir), QT_QPA_PLATFORM="offscreen")
    log = open(recovery_dir.parent / f"child-{action}.log", "w+")  # noqa: SIM115 - a file, never a full pipe
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("crash_child.py")), str(project), action, str(recovery_dir)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(child.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    try:
        assert lines and lines[0].startswith("READY"), f"child never got ready: {lines}"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        log.seek(0)
        err = log.read()
        log.close()
    assert child.returncode == -signal.SIGKILL, err[-2000:]
    return lines[0].split()[1]


@pytest.mark.parametrize("action", ["stroke", "edit"])
def test_kill_9_then_restart_restores_the_last_autosave(action, qtbot, private_recovery, tmp_path, sample_rgb):
    project = tmp_path / "work.ora"
    save_ora(Document.from_image(sample_rgb), project)
    key = run_child(project, action, private_recovery)
    snapshot = load_ora(private_recovery / f"{key}.ora")
    w = create_main_window("demo", recovery_prompt=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.findChild(QMessageBox, "recoveryPrompt") is not None, timeout=WAIT)
    w.findChild(QMessageBox, "recoveryPrompt").done(QMessageBox.Yes)
    assert w.path == project and w.session.is_dirty() and w.windowTitle().startswith("work.ora*")
    assert np.array_equal(w.doc.composite(), snapshot.composite()) and np.array_equal(w.doc.mask, snapshot.mask)
    assert len(w.doc.layers) == (2 if action == "edit" else 1)
    qtbot.waitUntil(lambda: not w.bridge.busy, timeout=WAIT)
    w.discard_and_close()
