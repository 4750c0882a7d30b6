"""`mirrord-ls demo`: every verdict in one command, against clusters on 127.0.0.1.

Starts the loopback API servers (healthy operator, RBAC forbids, not
installed, operator down, unreachable), writes a kubeconfig with one context
per scenario into a temporary folder, copies the example configs shipped with
the package (`mirrord_ls/examples`, package data) beside it, and runs `check`
on them. `--serve` keeps the clusters running and prints the KUBECONFIG to use
from an editor. The temporary folder holds the clusters' tokens and keys: it is
removed when the demo ends, by Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent / "examples"
README = "https://github.com/metalbear-co/mirrord-ls#editors"


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the demo as Ctrl-C does, so the temporary folder is removed."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (a test calling run_demo): nothing to restore
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _next_steps(serving: bool) -> list[str]:
    steps = [
        "What next:",
        "  mirrord-ls check PATH...     check your own configs (add --format sarif for CI)",
    ]
    if not serving:
        steps.append(
            "  mirrord-ls demo --serve      keep these clusters running and open the examples"
            " in your editor"
        )
    steps.append(f"  editor set-up (VS Code, Neovim, ...): the README, {README}")
    return steps


def run_demo(args: argparse.Namespace) -> int:
    if not EXAMPLES.is_dir():
        print(f"mirrord-ls demo: the example configs are missing ({EXAMPLES}).", file=sys.stderr)
        return 2
    with _sigterm_as_interrupt():
        try:
            with tempfile.TemporaryDirectory(prefix="mirrord-ls-demo-") as tmp:
                return _run(args, Path(tmp))
        except KeyboardInterrupt:
            print("\nmirrord-ls demo: stopped; its clusters and temporary folder are gone.")
            return 130


def _run(args: argparse.Namespace, workdir: Path) -> int:
    from mirrord_ls.checker import check_files
    from mirrord_ls.cli import expand
    from mirrord_ls.config.schema import SchemaError
    from mirrord_ls.loopback.scenarios import start_demo_clusters

    as_json = args.format == "json"
    # Text goes to stdout; with --format json only the JSON does, the rest to stderr.
    say = sys.stderr if as_json else sys.stdout
    examples = workdir / "examples"
    shutil.copytree(EXAMPLES, examples)
    kubeconfig = workdir / "kubeconfig"
    with start_demo_clusters(kubeconfig) as demo:
        print(
            "mirrord-ls demo: loopback clusters on 127.0.0.1, one kube context per scenario:\n",
            file=say,
        )
        for scenario in demo.scenarios:
            print(f"  {scenario.context:<15} {scenario.description}", file=say)
        print(file=say)
        os.environ["KUBECONFIG"] = str(kubeconfig)
        for name in ("MIRRORD_KUBECONFIG", "MIRRORD_KUBE_CONTEXT", "MIRRORD_OPERATOR_ENABLE"):
            os.environ.pop(name, None)
        files = expand([str(examples)]).files
        previous = Path.cwd()
        os.chdir(examples)
        try:
            results, schema_label, notes = check_files(
                files, schema_location=getattr(args, "schema", None), timeout=5.0
            )
        except SchemaError as exc:
            print(f"mirrord-ls demo: --schema: {exc}", file=sys.stderr)
            return 2
        finally:
            os.chdir(previous)
        for note in notes:
            print(f"note: {note}\n", file=say)
        shown = [
            (f"examples/{path.relative_to(examples).as_posix()}", result.json)
            for path, result in zip(files, results, strict=True)
        ]
        if as_json:
            json.dump(
                {
                    "schema": schema_label,
                    "contexts": [
                        {"context": s.context, "description": s.description} for s in demo.scenarios
                    ],
                    "files": [{"path": p, "diagnostics": ds} for p, ds in shown],
                },
                sys.stdout,
                indent=2,
            )
            sys.stdout.write("\n")
            sys.stdout.flush()
        else:
            for path, diagnostics in shown:
                print(path)
                if not diagnostics:
                    print("    no findings: mirrord will start with this config")
                for d in diagnostics:
                    start = d["range"]["start"]
                    print(
                        f"    {start['line'] + 1}:{start['character'] + 1}"
                        f" {d['severity']} {d['code']}: {d['message']}"
                    )
                print()
            print(f"Checked {len(results)} configs ({schema_label}).\n")
        if args.serve:
            print(
                "The clusters keep running. Point your editor at them with:\n\n"
                f"  export KUBECONFIG={kubeconfig}\n\n"
                f"and open the configs under {examples / 'cluster'}\n"
                "(a copy: edit them freely). Ctrl-C stops the demo and removes"
                f" {workdir}.\n",
                file=say,
                flush=True,
            )
            for line in _next_steps(serving=True):
                print(line, file=say)
            say.flush()
            threading.Event().wait()
        for line in _next_steps(serving=False):
            print(line, file=say)
    return 0
