"""Bad files: a clear diagnostic or a logged skip, never a crash or a hang.

Random bytes, a 50 MB file, deep nesting in each format, invalid UTF-8, a BOM, CRLF line
ends, a symlink loop in the workspace, a config path that is a folder, an unreadable file,
files deleted or renamed while being checked: through `mirrord-ls check` and through the
LSP (open and the workspace scan); afterwards the server still answers.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from .support import Recorded, recorded_session, run_check

BIG = 50 * 1024 * 1024


def make_workspace(root: Path) -> dict[str, Path]:
    rng = random.Random(7)
    d = root / ".mirrord"
    d.mkdir(parents=True)
    files = {
        "random": d / "random.json",
        "big": d / "big.json",
        "deep-json": d / "deep.json",
        "deep-yaml": d / "deep.yaml",
        "deep-toml": d / "deep.toml",
        "bad-utf8": d / "bad-utf8.yaml",
        "bom": d / "bom.json",
        "crlf": d / "crlf.yaml",
        "folder": d / "folder.json",
        "unreadable": d / "unreadable.toml",
    }
    files["random"].write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    with files["big"].open("wb") as fh:
        fh.write(b'{"a": "')
        fh.truncate(BIG)
    files["deep-json"].write_text("[" * 100_000 + "]" * 100_000)
    files["deep-yaml"].write_text("a:\n" + "".join("  " * i + "- \n" for i in range(1, 3000)))
    files["deep-toml"].write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n")
    files["bad-utf8"].write_bytes(b"operator: true\ntarget: \xff\xfe\xc3(\n")
    files["bom"].write_bytes(b'\xef\xbb\xbf{"operator": 3}')
    files["crlf"].write_bytes(b"target: targetless\r\nagent: {}\r\noperator: 3\r\n")
    files["folder"].mkdir()
    files["unreadable"].write_text('operator = "yes"\n')
    files["unreadable"].chmod(0)
    os.symlink(root, root / "loop")  # a folder pointing at its parent
    os.symlink(root / "loop", d / "loop2")
    return files


def test_check_over_bad_files(tmp_path: Path) -> None:
    work = tmp_path / "ws"
    files = make_workspace(work)
    result = run_check(str(work), "--format", "json", "--no-cluster", cwd=work, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    out = {Path(r["path"]).name: r["diagnostics"] for r in json.loads(result.stdout)}
    for name in ("random", "bad-utf8"):
        (diag,) = out[files[name].name]
        assert "UTF-8" in diag["message"]
    assert any("MB" in d["message"] for d in out["big.json"])
    for name in ("deep-json", "deep-yaml", "deep-toml"):
        assert out[files[name].name], name
    # CRLF line ends: the wrong value is found right where it is.
    text_result = run_check(str(files["crlf"]), "--no-cluster", cwd=work)
    assert ":3:11: error invalid-value" in text_result.stdout, text_result.stdout
    # A BOM is read past (and said): the value is judged.
    assert [d["code"] for d in out["bom.json"]] == ["syntax", "invalid-value"]
    assert "folder.json" not in out or out["folder.json"]
    # Explicitly named: a folder is searched, a missing path is a usage problem.
    missing = run_check(str(work / "gone-mirrord.json"), "--no-cluster", cwd=work)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


async def answers(rec: Recorded) -> None:
    # Generous: the bound tells a hung server from a loaded machine (two busy cores).
    status = await rec.command("mirrord-ls.showStatus", within=60)
    assert isinstance(status, dict)


async def test_lsp_over_bad_files(tmp_path: Path) -> None:
    work = tmp_path / "ws"
    files = make_workspace(work)
    async with recorded_session(work) as rec:
        # The workspace scan meets all of them (and the symlink loop) first.
        await answers(rec)
        for name in ("deep-json", "deep-yaml", "deep-toml", "bom", "crlf"):
            path = files[name]
            text = path.read_bytes().decode("utf-8")
            uri = rec.open(path, text)
            diags = await rec.diagnostics(uri, lambda d: len(d) > 0, within=30)
            assert diags, name
            await answers(rec)
        crlf = await rec.diagnostics(files["crlf"].as_uri())
        (wrong,) = [d for d in crlf if d.code == "invalid-value"]
        assert (wrong.range.start.line, wrong.range.start.character) == (2, 10)
        # Random and invalid text as an editor would send it (decoded with replacement).
        for name in ("random", "bad-utf8"):
            uri = rec.open(files[name], files[name].read_bytes().decode("utf-8", "replace"))
            await rec.diagnostics(uri, within=30)
        # A huge document sent by the editor (not read from disk by us here).
        big = work / ".mirrord" / "big-open.json"
        uri = rec.open(big, '{"a": "' + "x" * (12 * 1024 * 1024))
        diags = await rec.diagnostics(uri, lambda d: len(d) > 0, within=60)
        assert any("MB" in d.message for d in diags)
        await answers(rec)
        # Files deleted and renamed under the server.
        doomed = work / ".mirrord" / "doomed.json"
        for i in range(20):
            doomed.write_text('{"operator": "yes"}')
            if i % 2:
                doomed.rename(work / ".mirrord" / f"renamed-{i}.json")
            else:
                doomed.unlink()
        await rec.command("mirrord-ls.recheck", within=60)
        await answers(rec)
    assert not any("Traceback" in line for line in rec.stderr), "".join(rec.stderr)[-3000:]


@pytest.mark.skipif(os.geteuid() != 0, reason="as root, chmod 000 does not stop reading")
def test_unreadable_file_as_root_is_read(tmp_path: Path) -> None:
    """Root bypasses permissions: the file is simply read (nothing else can be tested here)."""
    path = tmp_path / "unreadable-mirrord.toml"
    path.write_text('operator = "yes"\n')
    path.chmod(0)
    result = run_check(str(path), "--no-cluster", "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["diagnostics"][0]["code"] == "invalid-value"
