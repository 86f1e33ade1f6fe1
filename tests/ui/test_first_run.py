"""First start: no model chosen yet, so the welcome dialog offers mini (included), the paper's model or a local one."""

import pytest
from PySide6.QtWidgets import QDialog, QPushButton

from gencurve_desktop.app import create_main_window
from gencurve_desktop.settings import PAPER_MODEL, SettingsStore

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


def test_first_start_offers_mini_says_what_it_is_and_remembers_the_choice(qtbot, fresh_settings):
    from PySide6.QtWidgets import QLabel

    w, dialog = open_first_run(qtbot)
    start = dialog.findChild(QPushButton, "useMiniButton")
    assert "mini" in start.text()
    start.click()
    qtbot.waitUntil(lambda: w.model_label.text() == "mini", timeout=WAIT)
    notice = w.findChild(QLabel, "modelNotice")
    assert notice.isVisibleTo(w) and notice.text().strip() == "mini: small model trained on 14 photos"
    assert "random" not in notice.text()
    assert SettingsStore().value("model/source") == "mini"
    w.show_about()
    assert "mini: small model trained on 14 photos" in w.about_box.text()
    w.about_box.close()
    w.close()

    again = create_main_window(None, recovery_prompt=False)  # the second start asks nothing
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.model_label.text() == "mini", timeout=WAIT)
    assert again.findChild(QDialog, "firstRunDialog") is None
    again.close()


def test_a_failed_first_download_is_not_stored_and_offers_plain_next_steps(qtbot, fresh_settings):
    from PySide6.QtWidgets import QMessageBox

    w, dialog = open_first_run(qtbot)
    dialog.findChild(QPushButton, "downloadPaperModelButton").click()
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=WAIT)  # HF_HUB_OFFLINE=1 in the tests
    assert PAPER_MODEL in w.last_error and "offline" in w.last_error
    assert not SettingsStore().contains("model/source")  # a failure is not stored
    failure = w.findChild(QMessageBox, "modelFailedDialog")
    assert "--" not in failure.text()  # plain words, no command-line flags
    fallback = failure.findChild(QPushButton, "useMiniModelButton")
    assert failure.findChild(QPushButton, "openSettingsButton") is not None
    w.close()

    again = create_main_window(None, recovery_prompt=False)  # the welcome comes back: nothing loaded yet
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.findChild(QDialog, "firstRunDialog") is not None, timeout=10_000)
    again.findChild(QDialog, "firstRunDialog").findChild(QPushButton, "downloadPaperModelButton").click()
    qtbot.waitUntil(lambda: again.findChild(QMessageBox, "modelFailedDialog") is not None, timeout=WAIT)
    again.findChild(QMessageBox, "modelFailedDialog").findChild(QPushButton, "useMiniModelButton").click()
    qtbot.waitUntil(lambda: again.model_label.text() == "mini", timeout=WAIT)
    assert SettingsStore().value("model/source") == "mini"
    assert fallback is not None
    again.close()


def test_a_failed_model_change_keeps_the_working_model(qtbot, fresh_settings, tmp_path):
    from gencurve_desktop.settings import ModelSettings

    w = create_main_window("demo", recovery_prompt=False)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.model_label.text() == "demo" and not w.bridge.busy, timeout=WAIT)
    w.model_setup.load(ModelSettings(str(tmp_path / "missing-model"), "auto", "auto"))
    qtbot.waitUntil(lambda: w.last_error is not None and not w.bridge.busy, timeout=WAIT)
    assert w.model_label.text() == "demo" and w.bridge.worker.model is not None
    assert SettingsStore().value("model/source") == "demo"
    w.close()


def test_unavailable_devices_are_greyed_out(qtbot):
    from PySide6.QtWidgets import QComboBox

    from gencurve_desktop.settings import ModelSettings
    from gencurve_desktop.ui.settings_dialog import SettingsDialog

    devices = {"auto": True, "cuda": False, "mps": False, "cpu": True}
    dialog = SettingsDialog(ModelSettings(device="cuda"), devices=devices)
    qtbot.addWidget(dialog)
    combo = dialog.findChild(QComboBox, "deviceCombo")
    enabled = {combo.itemText(i): combo.model().item(i).isEnabled() for i in range(combo.count())}
    assert enabled == devices and combo.currentText() == "auto"


def test_closing_the_welcome_uses_mini_for_this_session_only(qtbot, fresh_settings):
    w, dialog = open_first_run(qtbot)
    dialog.reject()
    qtbot.waitUntil(lambda: w.model_label.text() == "mini", timeout=WAIT)
    assert not SettingsStore().contains("model/source")
    w.close()


def test_welcome_explains_the_mirror_and_the_status_bar_shows_the_prediction_type(qtbot, fresh_settings):
    from PySide6.QtWidgets import QLabel

    w, dialog = open_first_run(qtbot)
    note = dialog.findChild(QLabel, "mirrorNote")
    assert note is not None and PAPER_MODEL in note.text() and "withdrew" in note.text()
    dialog.findChild(QPushButton, "useMiniButton").click()
    qtbot.waitUntil(lambda: w.model_label.text() == "mini", timeout=WAIT)
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


def test_loading_a_bundled_or_local_model_does_not_announce_a_download(tmp_path):
    """Issue 23 item 9: loading mini or demo used to say "a first download can take several minutes"."""
    from gencurve_desktop.ui.model_setup import loading_text

    for bundled in ("mini", "demo", "sd21-arch"):
        assert "download" not in loading_text(bundled) and "included" in loading_text(bundled)
    assert "download" not in loading_text(str(tmp_path))  # a local folder
    assert "first download" in loading_text(PAPER_MODEL)  # a hub id may download, once
