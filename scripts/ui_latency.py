"""Measure the longest event-loop gap of the desktop while a job runs (goal: < 50 ms).

    QT_QPA_PLATFORM=offscreen python3 scripts/ui_latency.py [--job edit|saliency|probe] [--iterations 60] [--size 512]

A 5 ms QTimer records the time between its ticks on the UI thread while the worker thread runs a demo job (an
edit, a saliency map or a curve probe), from the click until the worker is idle again, its result shown;
the longest gap is the longest time the UI could not respond.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402


def start_job(w, job: str) -> None:
    """Click what a user clicks for ``job``."""
    if job == "edit":
        w.run_edit()
    elif job == "saliency":
        w.saliency = None  # computed again each run
        w.actionSaliencyMap.setChecked(False)
        w.actionSaliencyMap.trigger()
    else:
        w.jobs.probe(w.doc.width // 3, w.doc.height // 3)


def measure_run(w, args) -> dict:
    """Run one job while a 5 ms timer records the gaps between its ticks on the UI thread."""
    gaps: list[float] = []
    stamps: list[float] = []
    started = time.perf_counter()
    last = [started]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        stamps.append(now - started)
        last[0] = now

    if args.watch_ms:
        _watch(last, args.watch_ms)
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    idle = QEventLoop()  # the worker is idle again once the result has landed (or the job failed)

    def busy_changed(busy: bool) -> None:
        if not busy:
            idle.quit()

    w.bridge.busyChanged.connect(busy_changed)
    timer.start()
    start_job(w, args.job)
    if w.bridge.busy:
        idle.exec()
    timer.stop()
    w.bridge.busyChanged.disconnect(busy_changed)
    g = np.array(gaps[1:]) * 1000
    worst = np.argsort(g)[-5:][::-1]
    return {
        "job": args.job,
        "iterations": args.iterations,
        "image_size": args.size,
        "run_s": round(time.perf_counter() - started, 2),
        "ticks": len(g),
        "max_gap_ms": round(float(g.max()), 1),
        "p99_gap_ms": round(float(np.percentile(g, 99)), 1),
        "median_gap_ms": round(float(np.median(g)), 1),
        "worst_at_s_ms": [[round(stamps[i + 1], 2), round(float(g[i]), 1)] for i in worst],
    }


def _watch(last: list[float], limit_ms: float) -> None:
    """A helper thread that prints the UI thread's stack whenever the timer has not ticked for ``limit_ms``."""
    import sys
    import threading
    import traceback

    ui = threading.main_thread().ident

    def watch() -> None:
        reported = None
        while True:
            time.sleep(limit_ms / 4000)
            stale = (time.perf_counter() - last[0]) * 1000
            if stale > limit_ms and reported != last[0]:
                reported = last[0]
                stack = "".join(traceback.format_stack(sys._current_frames()[ui])[-12:])
                print(f"--- UI thread stalled {stale:.0f} ms so far:\n{stack}", file=sys.stderr, flush=True)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", choices=["edit", "saliency", "probe"], default="edit")
    ap.add_argument("--iterations", type=int, default=60)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--runs", type=int, default=2, help="edits in a row; each is reported (the first warms up)")
    ap.add_argument("--watch-ms", type=float, default=0, help="print the UI thread's stack when it stalls this long")
    args = ap.parse_args()
    import cv2

    from gencurve_desktop.app import create_main_window
    from gencurve_desktop.document.document import Document
    from gencurve_desktop.document.images import load_rgb
    from gencurve_desktop.paths import sample_image

    w = create_main_window("demo", recovery_prompt=False)
    w.show()
    loop = QEventLoop()
    if w.bridge.busy:
        w.bridge.worker.modelLoaded.connect(loop.quit)
        loop.exec()
    rgb = cv2.resize(load_rgb(sample_image()), (args.size, args.size), interpolation=cv2.INTER_AREA)
    w.session.set_document(Document.from_image(rgb))
    mask = np.zeros((args.size, args.size), bool)
    mask[args.size // 3 : args.size // 2, args.size // 3 : args.size // 2] = True
    w.paint_mask(mask)
    w.task_dock.task_combo.setCurrentIndex(w.task_dock.task_combo.findData("saliency-down"))
    w.task_dock.iterations.setValue(args.iterations)
    w.task_dock.steps.setValue(args.steps)
    w.task_dock.preview_check.setChecked(True)
    for run in range(args.runs):
        print(json.dumps({"run": run + 1, **measure_run(w, args)}), flush=True)
    w.discard_and_close()


if __name__ == "__main__":
    main()
