"""The `mirrord-ls` command: `serve` (default), `check`, `demo`, `--version`.

`check` prints the same diagnostics the editor shows, for terminals and CI:
exit 0 when nothing has error severity, 1 when something does, 2 on a usage
error (a path that does not exist, a `--schema` that cannot be used). Output:
compiler-style text with paths as given, LSP-shaped JSON, or SARIF 2.1.0.
Heavy imports (the server, the Kubernetes client) happen inside the subcommand
that needs them, so `--version` and start-up stay fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    check.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="text: path:line:col lines; json: LSP diagnostics per file; sarif: SARIF 2.1.0",
    )
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
    demo.add_argument("--schema", metavar="PATH_OR_URL", help="schema to check against")
    return parser


CONFIG_NAMES = (
    ".mirrord/*.{json,toml,yaml,yml}, *mirrord.{json,toml,yaml,yml}"
    " (e.g. mirrord.json, app-mirrord.toml) and *.mirrord/*.{json,toml,yaml,yml}"
)


@dataclass
class Expanded:
    """The files `check` will read, in the order given, each with the path as the user wrote it."""

    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    empty_dirs: list[str] = field(default_factory=list)


def expand(paths: Sequence[str]) -> Expanded:
    """Files named, and mirrord configs found in folders named (relative paths stay relative)."""
    from mirrord_ls.config.files import SKIP_DIRS, is_mirrord_config

    out = Expanded()
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
            if not found:
                out.empty_dirs.append(raw)
            out.files.extend(found)
        elif path.exists():
            out.files.append(path)
        else:
            out.missing.append(raw)
    return out


def text_lines(path: Path, diagnostics: list[dict[str, Any]]) -> list[str]:
    """Compiler-style lines, `path:line:col: severity code: message` (1-based)."""
    lines = []
    for d in diagnostics:
        start = d["range"]["start"]
        lines.append(
            f"{path}:{start['line'] + 1}:{start['character'] + 1}:"
            f" {d['severity']} {d['code']}: {d['message']}"
        )
    return lines


def run_check(args: argparse.Namespace, out: Any = None) -> int:
    from mirrord_ls.checker import check_files
    from mirrord_ls.config.schema import SchemaError

    out = out or sys.stdout
    expanded = expand(args.paths)
    if expanded.missing:
        # A typo in a CI script must not pass quietly because another path was fine.
        for raw in expanded.missing:
            print(f"mirrord-ls: {raw}: no such file or directory", file=sys.stderr)
        return 2
    for raw in expanded.empty_dirs:
        print(
            f"mirrord-ls: {raw}: no mirrord config files in this folder"
            f" (the names that count: {CONFIG_NAMES})",
            file=sys.stderr,
        )
    try:
        results, schema_label, notes = check_files(
            expanded.files,
            schema_location=args.schema,
            cluster=not args.no_cluster,
            trust_workspace=args.trust_workspace,
            # Folders given on the command line are workspaces (each file's own root is
            # added by the cluster check); the current folder is not.
            trust_roots=tuple(Path(p).resolve() for p in args.paths if Path(p).is_dir()),
        )
    except SchemaError as exc:
        print(f"mirrord-ls: --schema: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"mirrord-ls: {note}", file=sys.stderr)
    # check_files keeps the order of its input: pair each result with the path as given.
    given = list(zip(expanded.files, (r.json for r in results), strict=True))
    if args.format == "json":
        json.dump([{"path": str(p), "diagnostics": ds} for p, ds in given], out, indent=2)
        out.write("\n")
    elif args.format == "sarif":
        from mirrord_ls.sarif import sarif_log

        json.dump(sarif_log(given), out, indent=2)
        out.write("\n")
    else:
        for path, diagnostics in given:
            for line in text_lines(path, diagnostics):
                print(line, file=out)
        total = sum(len(ds) for _, ds in given)
        print(
            f"{len(given)} file{'s' if len(given) != 1 else ''} checked,"
            f" {total} finding{'s' if total != 1 else ''} ({schema_label})",
            file=out,
        )
    errors = any(d["severity"] == "error" for _, ds in given for d in ds)
    return 1 if errors else 0


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
    try:
        if command == "check":
            return run_check(args)
        if command == "demo":
            from mirrord_ls.demo import run_demo

            return run_demo(args)
    except BrokenPipeError:
        # `mirrord-ls check ... | head`: the reader left. As Python's docs advise for
        # SIGPIPE: point stdout at devnull so the exit flush does not raise again, and
        # exit quietly (the demo's temporary folder went with the unwound `with`).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 2
