"""The config pipeline: render the template, read the format, check the schema.

`analyze` is pure: text in, an :class:`Analysis` out, with every finding on
the file as written (template output mapped back to its `{{ ... }}` tag). The
server, the `check` command and the benchmarks all call it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from referencing.exceptions import Unresolvable

from mirrord_ls.config.document import LineIndex, Node, Parsed, Path, locate
from mirrord_ls.config.files import Format
from mirrord_ls.config.parse_json import parse_json
from mirrord_ls.config.parse_toml import parse_toml
from mirrord_ls.config.parse_yaml import parse_yaml
from mirrord_ls.config.schema import Schema
from mirrord_ls.config.template import Rendered, mirrord_variables, render
from mirrord_ls.config.validate import check_schema, duplicate_keys
from mirrord_ls.config.verify import verify
from mirrord_ls.config.yaml_scalars import type_scalars
from mirrord_ls.findings import Finding

log = logging.getLogger(__name__)
_READERS = {"json": parse_json, "toml": parse_toml, "yaml": parse_yaml}
_MAX_CHECKED_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Spanned:
    """A config value with where it is written (file offsets), key and value."""

    value: Any
    key_start: int
    key_end: int
    start: int
    end: int


@dataclass
class Analysis:
    text: str
    fmt: Format
    rendered: Rendered
    parsed: Parsed
    findings: list[Finding]
    schema: Schema | None
    lines: LineIndex = field(init=False)

    def __post_init__(self) -> None:
        self.lines = LineIndex(self.text)

    @property
    def root(self) -> Node | None:
        return self.parsed.root

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        return self.rendered.source_span(start, end)

    def rendered_offset(self, source_offset: int) -> int:
        """Where a position in the file as written lands in the rendered text."""
        if self.rendered.text is self.text or self.rendered.text == self.text:
            return source_offset
        lo, hi = 0, len(self.rendered.text)
        while lo < hi:  # to_source is monotonic: find the first offset at or after
            mid = (lo + hi) // 2
            if self.rendered.to_source(mid) < source_offset:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def field(self, path: Path) -> Spanned | None:
        """The value at `path` with its spans in the file as written."""
        found = locate(self.parsed.root, path)
        if found is None:
            return None
        ks, ke = (
            self.source_span(found.member.key_start, found.member.key_end)
            if found.member
            else self.source_span(found.node.start, found.node.end)
        )
        vs, ve = self.source_span(found.node.start, found.node.end)
        return Spanned(found.node.to_python(), ks, ke, vs, ve)

    def broken_template_in(self, path: Path) -> bool:
        """Does the value at `path` come from a template that failed to render?

        Its rendered value is then a stand-in, and judging it would be a false error.
        """
        found = locate(self.parsed.root, path)
        if found is None or not self.rendered.errors:
            return False
        if not self.rendered.templated(found.node.start, found.node.end):
            return False
        start, end = self.source_span(found.node.start, found.node.end)
        return any(e.start < end and start < e.end for e in self.rendered.errors)

    def value(self, path: Path) -> Any:
        f = self.field(path)
        return None if f is None else f.value


def _map_finding(rendered: Rendered, finding: Finding) -> Finding:
    start, end = rendered.source_span(finding.start, finding.end)
    if rendered.templated(finding.start, finding.end) and finding.severity == "error":
        shown = rendered.text[finding.start : finding.end]
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        finding.severity = "warning"
        finding.message += (
            f" (This value comes from a template, which renders to `{shown}` with the"
            " environment mirrord-ls sees; it may differ when mirrord runs.)"
        )
        finding.data["templated"] = True
    finding.start, finding.end = start, max(end, start)
    return finding


def _byte_order_mark(fmt: Format) -> list[Finding]:
    """What mirrord makes of a file that starts with U+FEFF, by format.

    mirrord reads the file with `std::fs::read_to_string` (lib.rs, `LayerFileConfig::from_path`),
    which keeps the mark, and hands it to the format's reader:
    - serde_json refuses it ("expected value at line 1 column 1"): an error, with the edit that
      removes it (`data["fix"]`, offsets in the file as written) for a quick fix;
    - serde-saphyr, like every YAML reader, skips a leading mark: nothing to say;
    - for TOML, mirrord-ls cannot be sure what the toml crate does: a warning.
    """
    if fmt == "yaml":
        return []
    if fmt == "json":
        return [
            Finding(
                "syntax",
                "error",
                0,
                1,
                "The file starts with a byte-order mark (U+FEFF): mirrord's JSON reader refuses"
                ' it ("expected value at line 1 column 1"). Save the file as UTF-8 without BOM.',
                data={
                    "fix": {
                        "title": "Remove the byte-order mark",
                        "edits": [{"start": 0, "end": 1, "newText": ""}],
                    }
                },
            )
        ]
    return [
        Finding(
            "syntax",
            "warning",
            0,
            1,
            "The file starts with a byte-order mark (U+FEFF), which mirrord's TOML reader may"
            " refuse: save it as UTF-8 without BOM.",
            data={
                "fix": {
                    "title": "Remove the byte-order mark",
                    "edits": [{"start": 0, "end": 1, "newText": ""}],
                }
            },
        )
    ]


def _broken_template(rendered: Rendered, finding: Finding) -> bool:
    """Is the finding's value a stand-in for a template that failed to render?

    The template finding says it; judging the stand-in would be a second, false one.
    """
    if not rendered.errors or not rendered.templated(finding.start, finding.end):
        return False
    start, end = rendered.source_span(finding.start, finding.end)
    return any(e.start < end and start < e.end for e in rendered.errors)


def analyze(
    text: str,
    fmt: Format,
    schema: Schema | None,
    env: dict[str, str] | None = None,
    git_branch: str | None = None,
) -> Analysis:
    """Render, read and schema-check one config file.

    `env` stands in for the environment mirrord will run with; `git_branch` is
    the branch checked out where the config lives (mirrord's `git_branch`).
    """
    env = env or {}
    readable = text
    bom: list[Finding] = []
    if text.startswith("\ufeff") and fmt != "yaml":
        # Read past the mark (a space keeps every offset), and say what mirrord does with it.
        # (YAML readers skip a leading mark themselves.)
        readable = " " + text[1:]
        bom.extend(_byte_order_mark(fmt))
    rendered = render(readable, env, variables=mirrord_variables(env, git_branch))
    findings: list[Finding] = bom + [
        # hook (tera branch): a bound that stops mirrord-ls, not mirrord, is a warning
        Finding("template", e.severity, e.start, max(e.end, e.start), e.message)
        for e in rendered.errors
    ]
    if rendered.truncated:  # hook (tera branch): incomplete text is no config to judge
        return Analysis(text, fmt, rendered, Parsed(None, [], complete=False), findings, schema)
    if len(rendered.text) > _MAX_CHECKED_BYTES:
        parsed = Parsed(None, [], complete=False)
        findings.append(
            Finding(
                "syntax",
                "warning",
                0,
                min(len(text), 1),
                f"The file is larger than {_MAX_CHECKED_BYTES // (1024 * 1024)} MB;"
                " mirrord-ls does not check it.",
            )
        )
        return Analysis(text, fmt, rendered, parsed, findings, schema)
    parsed = _READERS[fmt](rendered.text)
    for issue in parsed.issues:
        findings.append(
            _map_finding(
                rendered, Finding("syntax", issue.severity, issue.start, issue.end, issue.message)
            )
        )
    if fmt == "yaml" and parsed.root is not None and schema is not None:
        # serde-saphyr reads each scalar by the type its field expects.
        type_scalars(parsed.root, schema)
    if parsed.root is not None:
        for finding in duplicate_keys(parsed.root, schema, fmt):
            findings.append(_map_finding(rendered, finding))
    if parsed.root is not None and schema is not None:
        if parsed.root.kind != "object":
            findings.append(
                _map_finding(
                    rendered,
                    Finding(
                        "invalid-value",
                        "error",
                        parsed.root.start,
                        parsed.root.end,
                        "A mirrord config must be an object (a mapping of fields).",
                    ),
                )
            )
        else:
            seen: set[tuple[str, int, int]] = set()
            try:
                checked = check_schema(parsed.root, schema, complete=parsed.complete)
            except (RecursionError, Unresolvable) as exc:
                # A schema the loader let through that still loops, or names a document it
                # does not have: no schema findings, never a crash (the schema's loader says
                # what is wrong with it).
                log.warning("schema %s could not be applied: %r", schema.label, exc)
                checked = []
            # mirrord's own rules (LayerConfig::verify and the feature configs): after the
            # schema, and never twice on one span for one code.
            own = [f for f in verify(parsed.root, schema) if not _broken_template(rendered, f)]
            for finding in [*checked, *own]:
                key = (finding.code, finding.start, finding.end)
                if key not in seen:
                    seen.add(key)
                    findings.append(_map_finding(rendered, finding))
    findings.sort(key=lambda f: (f.start, f.end, f.code))
    return Analysis(text, fmt, rendered, parsed, findings, schema)
