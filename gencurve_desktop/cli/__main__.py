"""``python -m gencurve_desktop.cli``: the ``gencurve`` console script."""

from gencurve_desktop.cli.entry import run

run()
