"""The desktop on hostile settings and recovery folders (issue 24): no code runs from a settings file, and bad
settings, unusable folders or odd projects give a dialog or a status line, never a crash."""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from gencurve_desktop.app import create_main_window
from gencurve_desktop.settings import SettingsStore

WAIT = 120_000


class Payload:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


@pytest.fixture
def settings_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "settings"
    folder.mkdir()
    monkeypatch.setenv("GENCURVE_SETTINGS_DIR", str(folder))
    monkeypatch.setenv("GENCURVE_RECOVERY_DIR", str(tmp_path / "recovery"))
    return folder


def open_window(qtbot):
    w = create_main_window("demo", recovery_prompt=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo" and not w.bridge.busy, timeout=WAIT)
    return w


def test_a_pickled_value_in_the_settings_never_runs(qtbot, settings_dir, tmp_path):
    marker = tmp_path / "marker"
    # the attack on QSettings: an INI value "@Variant(... PySide::PyObjectWrapper ...)" that PySide unpickles
    writer = QSettings(str(settings_dir / "settings.ini"), QSettings.IniFormat)
    writer.setValue("model/source", Payload(marker))
    writer.setValue("window/geometry", Payload(marker))
    writer.sync()
    assert b"PyObjectWrapper" in (settings_dir / "settings.ini").read_bytes() and not marker.exists()
    # the same bytes as a value of our own file: only ever a string
    blob = pickle.dumps(Payload(marker)).hex()
    (settings_dir / "settings.json").write_text(json.dumps({"model/source": "demo", "window/geometry": blob}))
    w = open_window(qtbot)
    time.sleep(0.2)
    assert not marker.exists()
    assert w.settings.value("model/source") == "demo"
    w.discard_and_close()


def test_a_broken_settings_file_is_set_aside_and_reported_once(qtbot, settings_dir):
    (settings_dir / "settings.json").write_text('{"model/source": "demo", "edit/task": ')
    w = open_window(qtbot)
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "moved aside" in w.last_error
    assert len([p for p in settings_dir.iterdir() if p.name.startswith("settings.json.broken-")]) == 1
    w.task_dock.task_combo.setCurrentIndex(1)
    w.discard_and_close()
    assert json.loads((settings_dir / "settings.json").read_text())["edit/task"]  # a fresh, valid file


@pytest.mark.parametrize(
    "values",
    [
        {"window/geometry": "abc", "window/state": 12},
        {"edit/task": ["x"], "edit/iterations": "1e400", "edit/user_set": "iterations", "files/recent": 5},
        {"edit/t_blend": 1e308, "edit/seed": -(2**80), "model/source": "demo"},
    ],
    ids=["geometry", "types", "ranges"],
)
def test_wrong_values_keep_their_defaults(qtbot, settings_dir, values):
    (settings_dir / "settings.json").write_text(json.dumps(values))
    w = open_window(qtbot)
    assert w.isVisible() and w.task_dock.task_combo.currentIndex() >= 0
    w.discard_and_close()


@pytest.mark.parametrize("kind", ["directory", "fifo", "dev-zero"])
def test_a_settings_path_that_is_not_a_file_gives_defaults_and_a_dialog(qtbot, settings_dir, kind):
    path = settings_dir / "settings.json"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    start = time.monotonic()
    w = open_window(qtbot)
    assert time.monotonic() - start < 60
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert str(path) in w.last_error
    w.discard_and_close()
    assert Path("/dev/zero").is_char_device()


def test_unusable_settings_and_recovery_folders_leave_the_session_working(qtbot, tmp_path, monkeypatch, sample_rgb):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GENCURVE_SETTINGS_DIR", str(blocker / "settings"))  # as a read-only home would
    monkeypatch.setenv("GENCURVE_RECOVERY_DIR", str(blocker / "recovery"))
    w = open_window(qtbot)
    qtbot.waitUntil(lambda: "Autosave is off" in w.statusBar().currentMessage(), timeout=5000)
    w.session.set_document(__import__("gencurve_desktop.document.document", fromlist=["Document"]).Document
                           .from_image(sample_rgb), None)  # fmt: skip
    w.discard_and_close()
    assert blocker.read_text() == "not a folder"
    assert SettingsStore(blocker / "settings" / "settings.json").sync()  # nothing to write: no error


def test_an_odd_project_opens_an_error_dialog_and_keeps_the_document(qtbot, settings_dir, tmp_path, sample_rgb):
    from tests.document.test_hostile_files import PIXEL, crafted_ora, layer

    odd = crafted_ora(tmp_path / "odd.ora", layer("a.png", x="1e400"), {"a.png": PIXEL})
    w = open_window(qtbot)
    from gencurve_desktop.document.document import Document

    w.session.set_document(Document.from_image(sample_rgb), None)
    before = w.doc
    w.session.request_open(odd)
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=10000)
    assert "1e400" in w.last_error and w.doc is before
    w.discard_and_close()
