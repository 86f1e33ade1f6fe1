"""``python -m gencurve_desktop`` starts the desktop application."""

from gencurve_desktop.app import run

run()
