"""Frozen entry point of ``gencurve`` (PyInstaller runs this file as ``__main__``)."""

from gencurve_desktop.cli.entry import run

if __name__ == "__main__":
    run()
