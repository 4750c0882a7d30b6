"""YAML reader with exact spans, built on PyYAML's node graph (libyaml when present).

PyYAML's composer gives every node its start and end marks as character
offsets; the values come from PyYAML's safe constructor, so tags, anchors,
aliases and merge keys (`<<`) mean what they mean to any YAML reader. After a
syntax error the offending line is blanked and the rest re-read, so one typo
does not hide every other finding.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from mirrord_ls.config.document import Member, Node, Parsed, SyntaxIssue
from mirrord_ls.config.recovery import read_recovering

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _scalar_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string"


class _Builder:
    def __init__(self) -> None:
        self.constructor = yaml.SafeLoader("")  # only its constructor methods are used
        self.issues: list[SyntaxIssue] = []

    def build(self, node: yaml.Node, depth: int = 0) -> Node:
        start, end = node.start_mark.index, node.end_mark.index
        if depth > 200:
            self.issues.append(SyntaxIssue(start, end, "Nesting is too deep to check."))
            return Node("null", start, end, None)
        if isinstance(node, yaml.MappingNode):
            merge = [k for k, _ in node.value if k.tag == "tag:yaml.org,2002:merge"]
            try:
                self.constructor.flatten_mapping(node)  # resolves `<<` merge keys in place
            except yaml.YAMLError as exc:  # `<<: 3`: a merge of something not a mapping
                at = merge[0] if merge else node
                self.issues.append(
                    SyntaxIssue(at.start_mark.index, at.end_mark.index, _problem(exc))
                )
            out = Node("object", start, end)
            for key_node, value_node in node.value:
                try:
                    key = self.constructor.construct_object(key_node, deep=True)
                except yaml.YAMLError as exc:
                    self.issues.append(
                        SyntaxIssue(key_node.start_mark.index, key_node.end_mark.index, str(exc))
                    )
                    continue
                out.members.append(
                    Member(
                        key if isinstance(key, str) else str(key),
                        key_node.start_mark.index,
                        key_node.end_mark.index,
                        self.build(value_node, depth + 1),
                    )
                )
            return out
        if isinstance(node, yaml.SequenceNode):
            out = Node("array", start, end)
            out.items = [self.build(item, depth + 1) for item in node.value]
            return out
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.issues.append(SyntaxIssue(start, end, _problem(exc)))
            value = node.value
        if not isinstance(value, str | int | float | bool | type(None)):
            value = str(value)  # timestamps, binary: mirrord sees them as strings
        return Node(_scalar_kind(value), start, end, value)  # type: ignore[arg-type]


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{problem[0].upper()}{problem[1:]}" if problem else "Invalid YAML"
    if context:
        text += f" ({context})"
    return f"YAML syntax error: {text}."


def _error_offset(exc: yaml.YAMLError, text: str) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return 0
    return min(int(mark.index), len(text))


def parse_yaml(text: str) -> Parsed:
    # Lone surrogates (an editor can send them, a file cannot hold them) stop libyaml's
    # UTF-8 encoder: read them as U+FFFD, one character for one, so offsets stay put.
    work = _SURROGATE.sub("\ufffd", text)
    docs, work, issues = read_recovering(
        work,
        lambda t: list(yaml.compose_all(t, Loader=_Loader)),
        yaml.YAMLError,
        lambda exc, t: (_error_offset(exc, t), _problem(exc)),  # type: ignore[arg-type]
    )
    if docs is None:
        return Parsed(None, issues, complete=False)
    complete = not issues
    docs = [d for d in docs if d is not None]
    if not docs:
        if not issues:
            issues.append(
                SyntaxIssue(0, len(text), "The file is empty: mirrord expects a mapping.")
            )
        return Parsed(None, issues, complete=False)
    if len(docs) > 1:
        second = docs[1]
        issues.append(
            SyntaxIssue(
                second.start_mark.index,
                second.end_mark.index,
                "Only one YAML document is allowed in a mirrord config.",
            )
        )
    builder = _Builder()
    try:
        root = builder.build(docs[0])
    except RecursionError:
        issues.append(SyntaxIssue(0, 1, "Nesting is too deep to read."))
        return Parsed(None, issues, complete=False)
    return Parsed(root, issues + builder.issues, complete=complete)
