"""Waiting in the main thread for Ctrl-C or SIGTERM, in a process that runs threads."""

from __future__ import annotations

import threading


def wait_for_a_signal(stop: threading.Event) -> None:
    """Wait until `stop` is set or a signal's handler raises (KeyboardInterrupt).

    A timed wait: the kernel may hand a process-directed signal to any thread that does
    not block it (the loopback servers run several); CPython then only flags it for the
    main thread, which runs the handler when it next runs Python code. A wait with no
    timeout would never get back to it: the run ignored Ctrl-C now and then.
    """
    while not stop.wait(0.5):
        pass
