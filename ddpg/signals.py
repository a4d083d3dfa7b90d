"""SIGINT and SIGTERM: a handler for both while inside a block, and the handlers it found put back after.
The standard library only."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signals_handled(handler: Callable) -> Iterator[None]:
    """`handler(signum, frame)` for SIGINT and SIGTERM inside the block. Outside the main thread, where
    Python allows no handler, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, found in previous.items():
            signal.signal(sig, found)
