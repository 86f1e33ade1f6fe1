"""The UI tests' shared window fixture."""

import pytest
from windows import make_window


@pytest.fixture
def window(qtbot, small_png):
    """A window with the small test image open; closed without asking afterwards."""
    w = make_window(qtbot)
    w.open_path(small_png)
    yield w
    w.discard_and_close()
