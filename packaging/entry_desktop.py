"""Frozen entry point of ``gencurve-desktop`` (PyInstaller runs this file as ``__main__``)."""

from gencurve_desktop.app import run

if __name__ == "__main__":
    run()
