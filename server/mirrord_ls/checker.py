"""`mirrord-ls check`: the editor's diagnostics for files on disk.

Shares the whole pipeline with the server (`config.analyze`, and the cluster
verdicts), so a terminal and an editor never disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrord_ls.config import schema as schema_mod
from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.document import LineIndex
from mirrord_ls.config.files import config_format, git_branch_for
from mirrord_ls.findings import Finding
from mirrord_ls.lsp_convert import finding_json as to_json

MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass
class FileResult:
    path: Path
    json: list[dict[str, Any]] = field(default_factory=list)
    text_lines: list[str] = field(default_factory=list)


def read_config_text(path: Path) -> tuple[str | None, Finding | None]:
    """The file's text as mirrord would read it (UTF-8), or why not."""
    try:
        if path.is_dir():
            return None, Finding("syntax", "error", 0, 0, "This is a folder, not a config file.")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, Finding(
                "syntax", "warning", 0, 0, f"The file is {size // (1024 * 1024)} MB; not checked."
            )
        data = path.read_bytes()
    except OSError as exc:
        return None, Finding("syntax", "error", 0, 0, f"Cannot read the file: {exc.strerror}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Finding(
            "syntax",
            "error",
            0,
            0,
            f"The file is not valid UTF-8 (byte {exc.start}); mirrord reads UTF-8 only.",
        )
    return text, None


def pick_schema(location: str | None) -> tuple[schema_mod.Schema, list[str]]:
    notes: list[str] = []
    if location:
        # A SchemaError goes to the caller: the CLI makes it a usage error (exit 2).
        return schema_mod.load_configured(location), notes
    cached = schema_mod.load_cached_published()
    if cached is not None:
        return cached, notes
    fresh = schema_mod.refresh_published()
    if fresh is not None:
        return fresh, notes
    notes.append(
        "mirrord's published schema could not be fetched; using the built-in schema"
        f" ({schema_mod.builtin_schema().location}). Pass --schema to choose one."
    )
    return schema_mod.builtin_schema(), notes


def check_files(
    files: list[Path],
    schema_location: str | None = None,
    cluster: bool = True,
    trust_workspace: bool = False,
    timeout: float = 10.0,
    trust_roots: tuple[Path, ...] = (),
) -> tuple[list[FileResult], str, list[str]]:
    schema, notes = pick_schema(schema_location)
    env = dict(os.environ)
    results: list[FileResult] = []
    analyses = []
    for path in files:
        abs_path = path.resolve()
        result = FileResult(abs_path)
        results.append(result)
        text, problem = read_config_text(path)
        fmt = config_format(path)
        findings: list[Finding]
        if problem is not None or text is None:
            findings = [problem] if problem else []
            lines = LineIndex("")
        elif fmt is None:
            findings = [
                Finding(
                    "syntax",
                    "error",
                    0,
                    0,
                    "mirrord reads only .json, .toml, .yaml or .yml config files.",
                )
            ]
            lines = LineIndex(text)
        else:
            analysis = analyze(text, fmt, schema, env, git_branch_for(str(abs_path)))
            findings = list(analysis.findings)
            lines = analysis.lines
            analyses.append((result, analysis, findings))
        result.json = [to_json(lines, f) for f in findings]
    if cluster and analyses:
        from mirrord_ls.cluster.inputs import from_analysis
        from mirrord_ls.cluster.service import check_cluster_many

        extra = check_cluster_many(
            [(from_analysis(analysis), result.path) for result, analysis, _ in analyses],
            env=env,
            trusted=trust_workspace,
            workspace=Path.cwd(),
            timeout=timeout,
            trust_roots=trust_roots,  # the folders given to `check` (and each file's own)
        )
        for (result, analysis, findings), more in zip(analyses, extra, strict=True):
            findings.extend(more)
            findings.sort(key=lambda f: (f.start, f.end))
            result.json = [to_json(analysis.lines, f) for f in findings]
    for result in results:
        for d in result.json:
            start = d["range"]["start"]
            result.text_lines.append(
                f"{result.path}:{start['line'] + 1}:{start['character'] + 1}:"
                f" {d['severity']} {d['code']}: {d['message']}"
            )
    return results, schema.label, notes
