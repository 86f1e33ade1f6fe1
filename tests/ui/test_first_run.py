"""First start: no model chosen yet, so the welcome dialog offers the paper's model, a local one or the demo."""

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QPushButton

from gencurve_desktop.app import create_main_window
from gencurve_desktop.settings import PAPER_MODEL, settings_path

WAIT = 120_000


@pytest.fixture
def fresh_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GENCURVE_SETTINGS_DIR", str(tmp_path / "fresh"))
    return tmp_path / "fresh"


def open_first_run(qtbot):
    w = create_main_window(None, recovery_prompt=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.findChild(QDialog, "firstRunDialog") is not None, timeout=10_000)
    assert w.model_label.text() == "no model" and not w.bridge.busy  # nothing loads before the choice
    return w, w.findChild(QDialog, "firstRunDialog")


def test_first_start_offers_the_demo_and_remembers_the_choice(qtbot, fresh_settings):
    w, dialog = open_first_run(qtbot)
    dialog.findChild(QPushButton, "useDemoButton").click()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo", timeout=WAIT)
    assert w.demo_notice.isVisibleTo(w)
    assert QSettings(settings_path(), QSettings.IniFormat).value("model/source") == "demo"
    w.close()

    again = create_main_window(None, recovery_prompt=False)  # the second start asks nothing
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.model_label.text() == "demo", timeout=WAIT)
    assert again.findChild(QDialog, "firstRunDialog") is None
    again.close()


def test_choosing_the_paper_model_offline_fails_with_one_clear_dialog(qtbot, fresh_settings):
    w, dialog = open_first_run(qtbot)
    dialog.findChild(QPushButton, "downloadPaperModelButton").click()
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=WAIT)  # HF_HUB_OFFLINE=1 in the tests
    assert PAPER_MODEL in w.last_error and "offline" in w.last_error
    assert QSettings(settings_path(), QSettings.IniFormat).value("model/source") == PAPER_MODEL
    w.close()


def test_closing_the_welcome_uses_the_demo_for_this_session_only(qtbot, fresh_settings):
    w, dialog = open_first_run(qtbot)
    dialog.reject()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo", timeout=WAIT)
    assert not QSettings(settings_path(), QSettings.IniFormat).contains("model/source")
    w.close()


def test_welcome_explains_the_mirror_and_the_status_bar_shows_the_prediction_type(qtbot, fresh_settings):
    from PySide6.QtWidgets import QLabel

    w, dialog = open_first_run(qtbot)
    note = dialog.findChild(QLabel, "mirrorNote")
    assert note is not None and PAPER_MODEL in note.text() and "withdrew" in note.text()
    dialog.findChild(QPushButton, "useDemoButton").click()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo", timeout=WAIT)
    assert w.findChild(QLabel, "predictionLabel").text() == "epsilon"
    w.close()


def test_settings_offer_the_prediction_type(qtbot):
    from PySide6.QtWidgets import QComboBox

    from gencurve_desktop.settings import ModelSettings
    from gencurve_desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(ModelSettings(source="x.safetensors", prediction_type="v_prediction"))
    qtbot.addWidget(dialog)
    combo = dialog.findChild(QComboBox, "predictionTypeCombo")
    assert combo.currentText() == "v_prediction"
    combo.setCurrentText("epsilon")
    assert dialog.values().prediction_type == "epsilon" and dialog.values().source == "x.safetensors"
