"""An exec credential plugin and its children die with the server, even a SIGKILLed one.

The plugin (from the user's own ~/.kube/config, so it may run) starts a child, announces
both pids through a FIFO and waits. The server process is then killed with SIGKILL: the
plugin and its child must go too (waited for on pidfds, with a bounded deadline).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
import yaml

from .support import recorded_session

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfd (Linux)")


async def read_pids(fifo: Path) -> list[int]:
    """The pids the plugin writes into `fifo` (non-blocking open; event-driven, bounded)."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, timeout=30)
        return [int(p) for p in os.read(fd, 128).split()]
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def dead(pid: int) -> bool:
    """Gone, or a zombie nobody reaps (this container's init may not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def exited(pid: int, within: float) -> None:
    """Wait for `pid` to exit: its pidfd becomes readable (no polling)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    try:
        await asyncio.wait_for(done, within)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def test_a_killed_server_takes_its_plugin_and_its_child(tmp_path: Path) -> None:
    home, ws = tmp_path / "home", tmp_path / "ws"
    fifo = tmp_path / "pids"
    os.mkfifo(fifo)
    plugin = tmp_path / "tools" / "slow-login"
    plugin.parent.mkdir()
    # sleep-ok: the plugin's child is a stand-in for a browser login that never ends.
    plugin.write_text(f"#!/bin/sh\nsleep 1000 &\necho \"$$ $!\" > '{fifo}'\nwait\n")
    plugin.chmod(0o755)
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": str(plugin),
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(yaml.safe_dump(kubeconfig))
    config = ws / ".mirrord" / "mirrord.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"operator": True}))
    async with recorded_session(ws, env={"HOME": str(home)}) as rec:
        rec.open(config)
        pids = await read_pids(fifo)
        assert len(pids) == 2 and not any(dead(pid) for pid in pids)
        os.kill(rec.pid, signal.SIGKILL)
        for pid in pids:
            await exited(pid, within=20)
    assert all(dead(pid) for pid in pids)
