"""Settings problems are shown once, not on every configuration change (issue 16: 50
changes gave 255 pop-ups). Over stdio, counting `window/showMessage`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_session import lsp_session


async def wait_for_message(lsp: LanguageClient, text: str, within: float = 30) -> None:
    async def waiter() -> None:
        while not any(text in m.message for m in lsp.messages):
            await lsp.wait_for_notification(types.WINDOW_SHOW_MESSAGE)

    await asyncio.wait_for(waiter(), within)


def changed(lsp: LanguageClient) -> None:
    lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))


async def test_a_settings_problem_is_shown_once_over_many_changes(tmp_path: Path) -> None:
    bad = {"cluster": {"timeoutSeconds": "soon", "enabled": False}}
    async with lsp_session(tmp_path, settings=bad) as lsp:
        await wait_for_message(lsp, "timeoutSeconds")
        for _ in range(50):
            changed(lsp)
        # Then another problem: once it is shown, the 50 changes before it were read.
        lsp.set_configuration(
            {"cluster": {"timeoutSeconds": "soon", "enabled": "maybe"}}, section="mirrordLs"
        )
        changed(lsp)
        await wait_for_message(lsp, "enabled")
        # A request answered after every change was handled (notifications in order).
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.showStatus")
        )
        timeouts = [m for m in lsp.messages if "timeoutSeconds" in m.message]
        enabled = [m for m in lsp.messages if "cluster.enabled" in m.message]
        assert len(timeouts) == 1, [m.message for m in lsp.messages]
        assert len(enabled) == 1, [m.message for m in lsp.messages]
