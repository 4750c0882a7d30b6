"""Where and how an exec credential plugin runs, so that the workspace has no say and the
plugin never outlives the server.

* The program: a ``command`` with a path separator is used as the kubeconfig's folder made
  it; a bare name is looked up on ``PATH`` ourselves, skipping empty and relative entries
  (they mean "the current folder", which an editor often sets to the workspace) and, in an
  untrusted workspace, entries inside it (:func:`resolve_program`).
* The working folder: the home folder, or the temporary folder when the home folder is a
  workspace (:func:`plugin_cwd`).
* The process: a small guard (:data:`GUARD`) starts the plugin in a process group of its
  own. The guard asks the kernel for SIGTERM when the server dies
  (``prctl(PR_SET_PDEATHSIG)``, Linux); on SIGTERM (the server's death, or the server
  stopping the plugin on timeout or cancellation) it kills the plugin's whole group, the
  plugin and whatever the plugin started, reaps the plugin and exits.

No LSP types here.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from mirrord_ls.cluster.trust import TrustPolicy

__all__ = ["GUARD", "guarded_argv", "plugin_cwd", "resolve_program", "runnable_file"]

# Runs as `python -I -S -c GUARD <server pid> <program> <args...>`, in its own session.
GUARD = r"""
import os, signal, subprocess, sys
parent = int(sys.argv[1])
child = None
def stop(*_):
    # Kill the plugin's whole group, reap the plugin (no zombie is left for an init that
    # may not reap), then leave.
    if child is not None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(child.pid, 0)  # not child.wait(): this may interrupt it, holding its lock
        except OSError:
            pass
    os._exit(128 + signal.SIGTERM)
signal.signal(signal.SIGTERM, stop)
try:
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != parent:  # the server died before the death signal was armed
    stop()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # no stop() before child is set
try:
    child = subprocess.Popen(
        sys.argv[2:],
        process_group=0,
        preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM}),
    )
except OSError as exc:
    sys.stderr.write(f"cannot start {sys.argv[2]}: {exc.strerror or exc}\n")
    sys.exit(127)
finally:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
code = child.wait()
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def guarded_argv(program: str, args: Sequence[str]) -> list[str]:
    """The command line that runs ``program`` under the guard (POSIX only)."""
    return [sys.executable, "-I", "-S", "-c", GUARD, str(os.getpid()), program, *args]


def runnable_file(path: str) -> str | None:
    """Why ``path`` cannot be run ("missing", "permission denied"), or ``None`` when it can."""
    if not os.path.exists(path):
        return "missing"
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        return "permission denied"
    return None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def resolve_program(
    command: str, env: Mapping[str, str], trust: TrustPolicy | None
) -> tuple[str | None, str | None]:
    """The program to run for ``command``, or ``None`` and why it is refused.

    Returns ``(path, None)``, ``(None, reason)`` when only the workspace offers it, or
    ``(None, None)`` when it is nowhere on ``PATH``.
    """
    if os.sep in command or (os.altsep is not None and os.altsep in command):
        path = Path(command)
        if trust is not None and not trust.allows_reading(path):
            return None, f"{command} lies inside the workspace, which is not trusted"
        return command, None
    refused: str | None = None
    for entry in env.get("PATH", os.defpath).split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            continue  # "" and relative entries mean the current folder: never looked in
        candidate = Path(entry) / command
        if not _executable(candidate):
            continue
        if trust is not None and not trust.allows_reading(candidate):
            refused = f"{candidate} is on PATH inside the workspace, which is not trusted"
            continue
        return str(candidate), None
    return None, refused


def plugin_cwd(trust: TrustPolicy | None, env: Mapping[str, str]) -> Path:
    """The working folder of a plugin: the home folder, unless it is (in) a workspace."""
    home = env.get("HOME") or (str(Path.home()) if sys.platform != "win32" else None)
    if home:
        path = Path(home)
        if path.is_dir() and (trust is None or not trust.in_workspace(path)):
            return path
    return Path(tempfile.gettempdir())
