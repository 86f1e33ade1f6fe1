"""The ``gencurve`` program (contract: DESIGN §5): parse, run the command, print its JSON result. Never Qt.

stdout carries only the JSON result; progress bars and the one-line errors go to stderr.
Exit codes: 0 ok, 2 bad input, 3 model cannot be loaded, 4 out of memory, 130 cancelled.
"""

from __future__ import annotations

import json
import os
import sys

from gencurve_desktop.cli.parser import COMMANDS, build_parser
from gencurve_desktop.cli.progress import StderrProgress
from gencurve_desktop.cli.signals import Terminated, raise_if_swallowed, received, stop_code, unwinding_signals
from gencurve_desktop.commands.checks import OOM_HINT, is_out_of_memory
from gencurve_desktop.errors import BadInputError, GenCurveError


def main(argv: list[str] | None = None, final: bool = False) -> int:
    """Entry point of the ``gencurve`` console script; returns the exit code. ``final``: the process exits right
    after, so signals stay ignored on the way out (a late Ctrl+C cannot change the code decided here)."""
    try:
        with unwinding_signals(final):  # Ctrl+C and SIGTERM unwind through the code, so temporary files are removed
            return _main(argv)
    except (KeyboardInterrupt, Terminated) as e:  # in the last steps, after the command ended without writing
        return _stopped(None, e)


def _main(argv: list[str] | None) -> int:
    progress = StderrProgress(before_report=raise_if_swallowed)
    try:
        if sys.stdout is None or sys.stdout.closed:
            raise BadInputError("standard output is closed: there is nowhere to write the JSON result")
        args = build_parser().parse_args(argv)
        result = COMMANDS[args.command].run(args, progress)
        progress.close()
        return _print_result(result)
    except (KeyboardInterrupt, Terminated) as e:
        return _stopped(progress, e)
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except (MemoryError, Exception) as e:  # never a traceback for the user; GENCURVE_DEBUG=1 shows it
        progress.close()
        if received():  # a library turned our interrupt into its own error: the user's signal is the outcome
            return _stopped(progress, None)
        if isinstance(e, GenCurveError):
            print(f"gencurve: error: {e}", file=sys.stderr)
            return e.exit_code
        if is_out_of_memory(e):
            print(f"gencurve: error: {OOM_HINT}", file=sys.stderr)
            return 4
        if isinstance(e, OSError):  # an input or output the system refused (full disk, permissions): exit 2
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            print(f"gencurve: error: {where}{e.strerror or e}".splitlines()[0], file=sys.stderr)
            return 2
        if os.environ.get("GENCURVE_DEBUG"):
            raise
        print(f"gencurve: internal error: {type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        return 1


def _stopped(progress: StderrProgress | None, e: BaseException | None) -> int:
    if progress is not None:
        progress.close()
    code, word = stop_code(e)
    print(f"gencurve: {word}", file=sys.stderr)
    return code


def _print_result(result: dict) -> int:
    """The JSON on stdout; a reader that went away (``| head``) ends the program quietly with 141."""
    text = json.dumps(result, allow_nan=False) + "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
        return getattr(result, "exit_code", 0)  # a batch that had failures or was stopped says so
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 141


def run() -> None:
    """Console-script wrapper."""
    exit_with(main(final=True))


def exit_with(code: int) -> None:
    """End the process with ``code``: later signals are ignored and nothing at shutdown can change the code
    (an interrupt caught above must not turn into Python's own exit-by-signal during finalisation)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
