"""`python -m voltools` and the `voltools` command (pyproject's entry point is `run`)."""
import signal
import sys

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run():
    """Import the CLI with an interrupt ending the process at once and silently, as SIGTERM and
    SIGHUP do before the CLI's handlers are in place: nothing has been made yet, and Python's
    KeyboardInterrupt would print a traceback from inside an import. Then Ctrl-C is
    KeyboardInterrupt again, which the CLI turns into one line and exit status 130.

    Once the command has returned its status, its work is done: the signals are blocked and
    ignored, so one arriving while the interpreter shuts down (which puts SIGINT back to the
    default, death) neither kills a finished command nor prints a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from .cli import main
    signal.signal(signal.SIGINT, signal.default_int_handler)
    status = 130  # an interrupt between main's own handling and its return
    try:
        status = main()
    except SystemExit as exc:  # --help, --version
        status = exc.code
    except KeyboardInterrupt:  # main turns one into 130 itself; this one came as it returned
        pass
    finally:
        while True:  # again if an interrupt lands before _done has blocked them (at its call: the
            try:     # soak in make test hit it, a traceback from a finished command)
                _done()
                break
            except KeyboardInterrupt:
                continue
    _forget_interrupt()
    sys.exit(status)


def _done():
    """Hold back every later interrupt: blocked at once, then ignored (which drops a pending one)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _forget_interrupt():
    """CPython remembers a KeyboardInterrupt that left an exec() or eval() of source text, even one
    caught later (a signal landing while a dataclass or namedtuple builds its methods), and `python
    -m` then ends by killing itself with SIGINT after the command returned its status (Modules/main.c:
    _Py_UnhandledKeyboardInterrupt; the persist soak saw "interrupted", then death by SIGINT). Every
    evaluation of source text starts by forgetting it: one that ends normally leaves it forgotten."""
    exec("None")


if __name__ == "__main__":
    run()
