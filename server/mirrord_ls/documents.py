"""Document state: every mirrord config the server knows, open in the editor or on disk.

A `DocState` holds what is known of one config: its analysis, the findings
from the file and from the cluster, the cluster facts, and its diagnostics'
result id. `Documents` is the map of them. `analysis_now` answers on the
document's current text (analysing on demand when the debounced check has
not run yet), so completion, hover and code actions never answer on an old
text. `wants_cluster_check` is the one rule for whether a config gets a
cluster check. `LspWorkspace` keeps the editor's open texts, applying incremental
changes with the LSP's line breaks in the negotiated position encoding.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pygls.uris import to_fs_path
from pygls.workspace import TextDocument, Workspace

from mirrord_ls.config.files import Format, config_format, git_branch_for
from mirrord_ls.findings import Finding
from mirrord_ls.lsp_convert import line_texts
from mirrord_ls.settings import Settings

if TYPE_CHECKING:
    from mirrord_ls.cluster.inputs import ClusterInputs
    from mirrord_ls.cluster.service import ClusterFacts
    from mirrord_ls.config.analyze import Analysis
    from mirrord_ls.config.schema import Schema

BIG_TEXT = 256 * 1024
"""Texts above this are analysed off the event loop, so other requests keep flowing."""
_LANGUAGE_FORMATS: dict[str, Format] = {
    "json": "json",
    "jsonc": "json",
    "toml": "toml",
    "yaml": "yaml",
}


@dataclass
class DocState:
    """One mirrord config and what is known about it."""

    uri: str
    version: int | None
    fmt: Format | None
    is_open: bool = True
    """False for a workspace config read from disk (not open in the editor)."""
    disk_text: str | None = None
    opened_at: float = 0.0
    analysis: Analysis | None = None
    """The analysis the published diagnostics come from."""
    inputs: ClusterInputs | None = None
    """What the cluster checks read from that analysis."""
    config_findings: list[Finding] = field(default_factory=list)
    """Findings from the file itself (syntax, template, schema)."""
    cluster_findings: list[Finding] = field(default_factory=list)
    """Findings from the cluster (verdicts, kubeconfig and context problems)."""
    cluster_key: tuple[object, ...] | None = None
    """The config values that chose the cluster the cluster findings are about."""
    facts: ClusterFacts | None = None
    """Cluster facts of the last cluster check (hover, status, completion)."""
    cluster_task: asyncio.Task[None] | None = None
    cluster_analysis: Analysis | None = None
    """The analysis the running cluster check works on."""
    result_id: str = ""
    """Of the current diagnostics, for pull clients (see `ResultIds`)."""
    published: list[Any] | None = None
    """The diagnostics `result_id` names."""
    memo: tuple[int | None, Schema, Analysis] | None = None
    """(version, schema, analysis) of the latest text analysed."""


class LspTextDocument(TextDocument):
    """pygls' open document, cut into lines as the LSP does.

    pygls applies an incremental change through `lines` and its position codec (which
    counts in the negotiated encoding), but its `lines` is `str.splitlines`, which also
    breaks on U+2028, U+0085, form feeds...: a change after such a character landed on the
    wrong line. Only "\n", "\r\n" and "\r" end a line here."""

    @property
    def lines(self) -> Sequence[str]:
        return line_texts(self.source)


class LspWorkspace(Workspace):
    """pygls' workspace, whose documents are `LspTextDocument`s."""

    @classmethod
    def like(cls, other: Workspace, sync_kind: Any) -> LspWorkspace:
        """The same workspace (root, folders, position encoding), with our documents."""
        return cls(
            other.root_uri,
            sync_kind,
            list(other.folders.values()),
            other.position_encoding,
        )

    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LspTextDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self.position_codec,
        )


class ResultIds:
    """Diagnostic result ids unique to this server process: a random epoch and a counter, so
    an id never names two different sets of diagnostics (not after a reopen, not after a
    restart)."""

    def __init__(self) -> None:
        self._epoch = os.urandom(4).hex()  # not `secrets`: off the start path
        self._next = itertools.count(1)

    def next(self) -> str:
        return f"{self._epoch}-{next(self._next)}"


class Documents:
    """The configs the server knows, by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, DocState] = {}

    def get(self, uri: str | None) -> DocState | None:
        return self._docs.get(uri) if uri is not None else None

    def put(self, state: DocState) -> None:
        self._docs[state.uri] = state

    def pop(self, uri: str) -> DocState | None:
        return self._docs.pop(uri, None)

    def __contains__(self, uri: object) -> bool:
        return uri in self._docs

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._docs))

    def __len__(self) -> int:
        return len(self._docs)

    def values(self) -> list[DocState]:
        return list(self._docs.values())

    def latest_opened(self) -> DocState | None:
        if not self._docs:
            return None
        return max(self._docs.values(), key=lambda d: d.opened_at)


def format_for(uri: str, language_id: str | None) -> Format | None:
    """The config format: by file name as mirrord decides, else by the editor's language."""
    path = to_fs_path(uri) or uri
    fmt = config_format(path)
    if fmt is None and language_id:
        return _LANGUAGE_FORMATS.get(language_id)
    return fmt


def wrong_extension() -> Finding:
    return Finding(
        "syntax",
        "error",
        0,
        0,
        "mirrord reads only .json, .toml, .yaml or .yml config files; it would refuse this"
        " extension.",
    )


def wants_cluster_check(settings: Settings, state: DocState) -> bool:
    """The one rule: does this config get a cluster check now?"""
    return settings.cluster.enabled and state.analysis is not None


async def analysis_of(
    state: DocState, text: str, version: int | None, schema: Schema, *, fresh: bool = False
) -> Analysis:
    """The analysis of `text` (version `version`), memoised per version and schema; `fresh`
    analyses anew (the text walk: the git branch or the environment may have changed)."""
    assert state.fmt is not None
    memo = state.memo
    if not fresh and memo is not None and memo[0] == version and memo[1] is schema:
        return memo[2]
    # Imported on first use: the parsers, templates and validator are off the start path.
    from mirrord_ls.config.analyze import analyze

    path = to_fs_path(state.uri)
    env = dict(os.environ)
    branch = git_branch_for(path)
    if len(text) > BIG_TEXT:
        analysis = await asyncio.to_thread(analyze, text, state.fmt, schema, env, branch)
    else:
        analysis = analyze(text, state.fmt, schema, env, branch)
    if version is not None or not state.is_open:
        state.memo = (version, schema, analysis)
    return analysis
