"""The ``gencurve`` console script. Ctrl+C and SIGTERM are handled from its first line: before the command line
module has even been imported they end the program quietly (nothing has been written yet); from then on
``cli.main.main`` turns them into a clean exit that removes temporary files."""

import os
import signal


def _before_main(signum, frame) -> None:
    try:
        os.write(2, b"gencurve: cancelled\n" if signum == signal.SIGINT else b"gencurve: terminated\n")
    finally:
        os._exit(130 if signum == signal.SIGINT else 128 + signum)


def run() -> None:
    """Install the early signal handlers, then run ``gencurve_desktop.cli.main.main``."""
    signal.signal(signal.SIGINT, _before_main)
    signal.signal(signal.SIGTERM, _before_main)
    from gencurve_desktop.cli.main import exit_with, main

    exit_with(main(final=True))


if __name__ == "__main__":
    run()
