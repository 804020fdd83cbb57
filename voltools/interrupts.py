"""Interrupts held back while voltools tears down what it made, then delivered.

SIGINT, SIGTERM and SIGHUP during a `deferred()` block are recorded instead of raised; when the
block ends, a recorded signal becomes KeyboardInterrupt, unless an exception is already on its
way out (that exception, usually the first interrupt, goes on). Off the main thread, where Python
cannot set handlers, the block runs as it is.
"""
import signal
import threading
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def deferred():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    if received:
        raise KeyboardInterrupt


def creating():
    """deferred() around one request that makes an engine object (container, volume, service):
    the object is made whole and noted for undo, or never asked for. Cut short by Ctrl-C, the
    engine would still finish the request after teardown had looked: a container made once its
    volume was removed brings the volume back, unlabeled (Docker makes a missing named volume),
    where no clean by label finds it (found after an interrupt soak on 2026-12-07)."""
    return deferred()


def raise_interrupt(signum, frame):
    """A handler that turns SIGTERM or SIGHUP into KeyboardInterrupt, as SIGINT is."""
    raise KeyboardInterrupt
