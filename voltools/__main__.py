"""`python -m voltools` and the `voltools` command (pyproject's entry point is `run`)."""
import signal
import sys


def run():
    """Import the CLI with an interrupt ending the process at once and silently, as SIGTERM and
    SIGHUP do before the CLI's handlers are in place: nothing has been made yet, and Python's
    KeyboardInterrupt would print a traceback from inside an import. Then Ctrl-C is
    KeyboardInterrupt again, which the CLI turns into one line and exit status 130."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from .cli import main
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())


if __name__ == "__main__":
    run()
