"""The desktop's --self-test (the packaged build's smoke test runs the same code, frozen)."""

import pytest

from gencurve_desktop.app import self_test


def test_self_test_runs_an_edit_with_the_demo_model_and_passes(qtbot, capfd):
    """The same path as the default (mini) self-test below, on the demo model: the default run's version."""
    assert self_test("demo") == 0
    err = capfd.readouterr().err
    for milestone in ("window shown", "model ready (demo)", "edit landed", "self-test passed"):
        assert milestone in err


@pytest.mark.slow  # mini's edit: ~25 s on 2 cores; the demo self-test above keeps the default run within 5 min
def test_self_test_runs_an_edit_with_mini_by_default_and_passes(qtbot, capfd):
    assert self_test() == 0
    err = capfd.readouterr().err
    for milestone in ("window shown", "model ready (mini)", "edit landed", "self-test passed"):
        assert milestone in err


def test_self_test_fails_cleanly_when_the_model_cannot_load(qtbot, tmp_path, capfd):
    assert self_test(str(tmp_path / "missing")) == 1
    assert "self-test failed: model failed" in capfd.readouterr().err
