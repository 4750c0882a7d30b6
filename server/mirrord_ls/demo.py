"""`mirrord-ls demo`: every verdict in one command, against clusters on 127.0.0.1.

Starts the loopback API servers of `demo_setup` (operator discovery, the
operator path, the agent mirrord creates without the operator), each set with
its own kubeconfig (`KUBECONFIG` lists them), puts the example configs beside
them (`mirrord_ls/examples`, package data, and one config per agent scenario)
and runs `check` on them. The output is grouped: a section per path, in it one
line per config (its context and what that context is) and one line per finding.
`--serve` keeps the clusters running and prints the KUBECONFIG to use from an
editor. The temporary folder holds the clusters' tokens and keys: it is removed
when the demo ends, by Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mirrord_ls.demo_setup import EXAMPLES, SECTIONS, CheckedFile, DemoContext

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


def _header(checked: CheckedFile, contexts: dict[str, DemoContext]) -> str:
    """`context: what it is (file)`; the file alone when it names no context."""
    where = checked.path
    if checked.context is None:
        return where
    known = contexts.get(checked.context)
    what = known.description if known else "not a context of the demo's kubeconfigs"
    return f"{checked.context}: {what} ({where})"


def _print_sections(checked: list[CheckedFile], contexts: dict[str, DemoContext]) -> None:
    """A section per path; in it a line per config, then a line per finding."""
    for section in SECTIONS:
        print(f"{section.title} (examples/{section.folder})")
        for f in checked:
            if f.section != section.key:
                continue
            print(f"  {_header(f, contexts)}")
            if not f.diagnostics:
                print("    no findings: mirrord will start with this config")
            for d in f.diagnostics:
                start = d["range"]["start"]
                message = " ".join(d["message"].split())  # one line per finding
                print(
                    f"    {start['line'] + 1}:{start['character'] + 1}"
                    f" {d['severity']} {d['code']}: {message}"
                )
        print()


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
    from mirrord_ls.demo_setup import demo_setup

    as_json = args.format == "json"
    # Text goes to stdout; with --format json only the JSON does, the rest to stderr.
    say = sys.stderr if as_json else sys.stdout
    with demo_setup(workdir) as demo:
        examples = demo.examples
        print(
            f"mirrord-ls demo: loopback Kubernetes API servers on 127.0.0.1,"
            f" {len(demo.contexts)} kube contexts in {len(demo.kubeconfigs)} kubeconfigs;"
            " each section below names them.\n",
            file=say,
        )
        os.environ["KUBECONFIG"] = demo.kubeconfig_env
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
        checked = demo.arrange(files, [r.json for r in results])
        if as_json:
            json.dump(
                {
                    "schema": schema_label,
                    "sections": [
                        {"section": s.key, "title": s.title, "folder": f"examples/{s.folder}"}
                        for s in SECTIONS
                    ],
                    "contexts": [
                        {"context": c.name, "description": c.description, "section": c.section}
                        for c in demo.contexts.values()
                    ],
                    "files": [asdict(f) for f in checked],
                },
                sys.stdout,
                indent=2,
            )
            sys.stdout.write("\n")
            sys.stdout.flush()
        else:
            _print_sections(checked, demo.contexts)
            print(f"Checked {len(results)} configs ({schema_label}).\n")
        if args.serve:
            print(
                "The clusters keep running. Point your editor at them with:\n\n"
                f"  export KUBECONFIG={demo.kubeconfig_env}\n\n"
                f"and open the configs under {examples}\n"
                "(a copy: edit them freely). Ctrl-C stops the demo and removes"
                f" {workdir}.\n",
                file=say,
                flush=True,
            )
            for line in _next_steps(serving=True):
                print(line, file=say)
            say.flush()
            from mirrord_ls.signals import wait_for_a_signal

            wait_for_a_signal(threading.Event())
        for line in _next_steps(serving=False):
            print(line, file=say)
    return 0
