"""The real Tera engine (the Rust crate, through PyPI's ``pytera``) as a test oracle.

Tera panics abort the whole process (pytera is built with ``panic = "abort"``), so the engine
runs in a worker subprocess: one JSON request a line on stdin (template, context, the
environment ``get_env`` should see), one JSON answer a line on stdout. A worker that dies
answers ``crash`` and is started again.

pytera 0.1.2 bundles tera 1.20.0; mirrord builds with tera 1.20.1, which differs only in the
grapheme library (unic-segment, Unicode 10, against unicode-segmentation): tests keep to
text where the two agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

_WORKER = r"""
import json, os, sys, tempfile, pathlib
from pytera import PyTera
folder = tempfile.mkdtemp(prefix="tera-oracle-")
path = pathlib.Path(folder, "main")
for line in sys.stdin:
    request = json.loads(line)
    for name in [n for n in os.environ if n.startswith("MLS_")]:
        del os.environ[name]
    os.environ.update(request["env"])
    path.write_text(request["template"], encoding="utf-8")
    try:
        engine = PyTera(os.path.join(folder, "*"))
    except Exception as exc:
        answer = {"outcome": "error", "text": str(exc)}
    else:
        try:
            answer = {"outcome": "ok", "text": engine.render_template("main", **request["context"])}
        except Exception as exc:
            answer = {"outcome": "error", "text": str(exc)}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
"""


@dataclass(frozen=True)
class Answer:
    outcome: str  # ok, error, crash
    text: str


class TeraOracle:
    """Render with the real Tera in a subprocess; ``env`` names must start with ``MLS_``."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MLS_")}
        environment["RUST_BACKTRACE"] = "0"
        return subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env=environment,
        )

    def render(self, template: str, context: dict[str, Any], env: dict[str, str]) -> Answer:
        assert all(name.startswith("MLS_") for name in env)
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {"template": template, "context": context, "env": env}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self._discard()
            return Answer("crash", "")
        answer = json.loads(line)
        return Answer(answer["outcome"], answer["text"])

    def _discard(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except BrokenPipeError:
                    pass

    def close(self) -> None:
        self._discard()
