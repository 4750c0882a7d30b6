"""Children started as a terminal starts them (for tests that stop them with Ctrl-C)."""

from __future__ import annotations

import signal


def ctrl_c_reaches_it() -> None:
    """A `preexec_fn`: SIGINT back to its default in the child. A suite launched in the
    background by a non-interactive shell (`cmd & next` in a script) inherits SIGINT
    ignored, and Python then keeps it ignored: Ctrl-C would never reach the child, as it
    would not for a background job. A terminal's foreground process gets the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
