"""The `mirrord-ls` command: `serve` (default), `check`, `demo`, `--version`.

`check` prints the same diagnostics the editor shows, for terminals and CI:
exit 0 when nothing has error severity, 1 when something does, 2 on a usage
error. Heavy imports (the server, the Kubernetes client) happen inside the
subcommand that needs them, so `--version` and start-up stay fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mirrord_ls import __version__


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"mirrord-ls: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="mirrord-ls",
        description="Language server and checker for mirrord config files.",
    )
    parser.add_argument("--version", action="version", version=f"mirrord-ls {__version__}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("MIRRORD_LS_LOG", "WARNING"),
        help="log level on stderr (DEBUG, INFO, WARNING, ERROR)",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the language server (the default)")
    serve.add_argument("--stdio", action="store_true", help="talk over stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP, for debugging")

    check = sub.add_parser("check", help="print the diagnostics the editor would show")
    check.add_argument("paths", nargs="+", metavar="PATH", help="config files or folders")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--schema", metavar="PATH_OR_URL", help="schema to check against")
    check.add_argument(
        "--no-cluster", action="store_true", help="only check the files, not the cluster"
    )
    check.add_argument(
        "--trust-workspace",
        action="store_true",
        help="run kubeconfig exec credential plugins that come from the checked folder",
    )

    demo = sub.add_parser("demo", help="start a loopback cluster and show every verdict")
    demo.add_argument("--serve", action="store_true", help="keep the cluster running")
    demo.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _expand(paths: Sequence[str]) -> tuple[list[Path], list[str]]:
    from mirrord_ls.config.files import SKIP_DIRS, is_mirrord_config

    files: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                for name in sorted(names):
                    candidate = Path(root) / name
                    if is_mirrord_config(candidate):
                        found.append(candidate)
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(f"{raw}: no such file or directory")
    return files, problems


def run_check(args: argparse.Namespace, out: Any = None) -> int:
    from mirrord_ls.checker import check_files

    out = out or sys.stdout
    files, problems = _expand(args.paths)
    for problem in problems:
        print(f"mirrord-ls: {problem}", file=sys.stderr)
    if problems and not files:
        return 2
    results, schema_label, notes = check_files(
        files,
        schema_location=args.schema,
        cluster=not args.no_cluster,
        trust_workspace=args.trust_workspace,
        # folders given on the command line are workspaces (each file's
        # own root is added by the cluster check); the current folder is not.
        trust_roots=tuple(Path(p).resolve() for p in args.paths if Path(p).is_dir()),
    )
    for note in notes:
        print(f"mirrord-ls: {note}", file=sys.stderr)
    worst = 0
    if args.format == "json":
        json.dump([{"path": str(r.path), "diagnostics": r.json} for r in results], out, indent=2)
        out.write("\n")
    else:
        for r in results:
            for line in r.text_lines:
                print(line, file=out)
        total = sum(len(r.json) for r in results)
        print(
            f"{len(results)} file{'s' if len(results) != 1 else ''} checked,"
            f" {total} finding{'s' if total != 1 else ''} ({schema_label})",
            file=out,
        )
    for r in results:
        if any(d["severity"] == "error" for d in r.json):
            worst = 1
    return worst


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # every log line, of every library, passes the redaction.
    from mirrord_ls.redact import RedactingFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    command = args.command or "serve"
    if command == "serve":
        from mirrord_ls.server import create_server

        server = create_server()
        tcp = getattr(args, "tcp", None)
        if tcp:
            host, _, port = tcp.rpartition(":")
            if not port.isdigit():
                print("mirrord-ls: --tcp takes HOST:PORT", file=sys.stderr)
                return 2
            server.start_tcp(host or "127.0.0.1", int(port))
        else:
            from mirrord_ls.jsonrpc import start_stdio

            start_stdio(server)
        return 0
    if command == "check":
        return run_check(args)
    if command == "demo":
        from mirrord_ls.demo import run_demo

        return run_demo(args)
    return 2
