"""Keeping the UI thread's garbage collections short.

Collection runs on the UI thread (app.py: a collection on the worker thread could destroy Qt objects there and
deadlock). A full collection that walks the model's and the libraries' objects stalled the UI for 0.6-0.8 s during
an edit, so once a model has loaded everything alive is collected once and then frozen (``gc.freeze``): later
collections look only at newer objects. Frozen objects are still freed by reference counting; a reference cycle
among them (the document open at that moment, the previous model) waits for the next model load, which unfreezes
and collects everything first.
"""

from __future__ import annotations

import gc


def freeze_what_is_alive() -> None:
    """Collect everything (frozen objects included), then freeze what is left."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
