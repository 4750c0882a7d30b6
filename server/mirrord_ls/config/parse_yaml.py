"""YAML reader with exact spans, on PyYAML's composer (libyaml when present).

The composer gives each node its text, style and start/end offsets and leaves scalars
unresolved in spirit: mirrord's serde-saphyr reads a scalar by the type its field expects, not
by YAML 1.1 tag resolution, so each scalar keeps its text (`Node.scalar`) and
`yaml_scalars.type_scalars` gives it mirrord's value once the schema is known; until then it
holds serde-saphyr's untyped ("any") reading. PyYAML's composer is enough for that and is
already a dependency; ruamel.yaml's round-trip nodes would add nothing here but weight.

serde-saphyr's defaults are followed where they decide validity (src/de/options.rs and
src/de/budget.rs, `Default`): repeated keys are errors, merge keys (`<<`) merge, nesting stops
at 64 levels, aliases may not replay more than 1,000,000 events, and 100 or more aliases
must not outnumber anchors tenfold. An alias bomb is measured on the composed graph (shared
nodes, counted once each) before any tree is built, so it costs nothing to refuse.
An empty document, a comment-only one or `~` is mirrord's default config. After a syntax
error the offending line is blanked and the rest re-read.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from mirrord_ls.config.document import Member, Node, Parsed, SyntaxIssue
from mirrord_ls.config.recovery import read_recovering
from mirrord_ls.config.yaml_scalars import Scalar, read_any, set_value

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SURROGATE = re.compile("[\ud800-\udfff]")
_CORE_TAGS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
}
_MERGE = "tag:yaml.org,2002:merge"

# serde-saphyr's `Budget::default()` and `AliasLimits::default()` (0.0.29).
MAX_DEPTH = 64
MAX_REPLAYED_EVENTS = 1_000_000
MAX_ALIASES = 50_000
ALIAS_RATIO_MIN_ALIASES = 100
ALIAS_RATIO = 10
# mirrord-ls's own bound on the tree it builds (serde-saphyr's `max_nodes`).
MAX_BUILT_NODES = 250_000


class _TooBig(Exception):
    """The document is bigger than mirrord-ls builds a tree for."""


class _TooDeep(Exception):
    """Collections nest deeper than serde-saphyr reads."""


def _plain(node: yaml.ScalarNode) -> bool:
    return not node.style  # None from PyYAML's composer, "" from libyaml's


def _explicit_tag(node: yaml.ScalarNode, text: str) -> str | None:
    """The tag written on a scalar (`!!str 12`), or None when the resolver chose it.

    A node with a written tag starts at that tag's `!`.
    """
    if not text.startswith("!", node.start_mark.index):
        return None
    return _CORE_TAGS.get(node.tag, "other")


def _measure(root: yaml.Node) -> str | None:
    """Why serde-saphyr would refuse this graph (aliases, depth), or None.

    Shared nodes are aliases; their subtrees are counted as often as they are replayed, by
    memoised sizes, so a billion-laughs file is measured in time linear in its text.
    """
    sizes: dict[int, int] = {}
    refs: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    # Iterative post-order: (node, depth, children done).
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if not done:
            refs[key] = refs.get(key, 0) + 1
            if key in sizes:
                continue
            if key in active:
                return "A YAML alias refers to a node that contains it: mirrord refuses it."
            if depth > MAX_DEPTH:
                return f"Nesting is deeper than {MAX_DEPTH} levels: mirrord's YAML reader stops."
            active.add(key)
            stack.append((node, depth, True))
            for child in _children(node):
                stack.append((child, depth + 1, False))
            continue
        active.discard(key)
        total = 1 if isinstance(node, yaml.ScalarNode) else 2
        for child in _children(node):
            total += sizes[id(child)]
            if total > MAX_REPLAYED_EVENTS:
                break
        sizes[key] = total
        if total > MAX_REPLAYED_EVENTS:
            return (
                "YAML aliases expand to more than 1,000,000 nodes (an alias bomb?): mirrord's"
                " YAML reader refuses it."
            )
    aliases = sum(n - 1 for n in refs.values() if n > 1)
    anchors = sum(1 for n in refs.values() if n > 1)
    if aliases > MAX_ALIASES or (
        aliases >= ALIAS_RATIO_MIN_ALIASES and aliases > ALIAS_RATIO * anchors
    ):
        return (
            f"The file uses {aliases} YAML aliases for {anchors} anchors: mirrord's YAML reader"
            " refuses that many."
        )
    if sizes[id(root)] > 2 * MAX_BUILT_NODES:
        raise _TooBig
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.constructor = yaml.SafeLoader("")  # only its flatten_mapping is used
        self.issues: list[SyntaxIssue] = []

    def end_of(self, start: int, end: int) -> int:
        # Block collections end where the next token starts: trim the gap.
        return start + len(self.text[start:end].rstrip())

    def build(self, node: yaml.Node, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise _TooDeep
        start = node.start_mark.index
        end = node.end_mark.index
        if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
            end = self.end_of(start, end)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, start, end, depth)
        if isinstance(node, yaml.SequenceNode):
            out = Node("array", start, end)
            out.items = [self.build(item, depth + 1) for item in node.value]
            return out
        assert isinstance(node, yaml.ScalarNode)
        scalar = Scalar(str(node.value), _plain(node), _explicit_tag(node, self.text))
        out = Node("string", start, end, scalar=scalar)
        set_value(out, read_any(scalar))
        return out

    def mapping(self, node: yaml.MappingNode, start: int, end: int, depth: int) -> Node:
        seen: dict[str, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            if key in seen:
                # serde-saphyr `DuplicateKeyPolicy::Error` (the default): every repeated key.
                self.issues.append(
                    SyntaxIssue(
                        key_node.start_mark.index,
                        key_node.end_mark.index,
                        f'Duplicate key "{key}": mirrord\'s YAML reader refuses repeated keys.',
                    )
                )
            seen[key] = key_node
        merge = [k for k, _ in node.value if k.tag == _MERGE]
        try:
            self.constructor.flatten_mapping(node)  # `<<` merge keys, in place (idempotent)
        except yaml.YAMLError as exc:  # `<<: 3`: a merge of something not a mapping
            at = merge[0] if merge else node
            self.issues.append(SyntaxIssue(at.start_mark.index, at.end_mark.index, _problem(exc)))
        out = Node("object", start, end)
        members: dict[str, Member] = {}
        # After flattening, merged pairs come first and the mapping's own last: the last one
        # of a key wins, as in any YAML reader (own repeats were reported above).
        for key_node, value_node in node.value:
            key = (
                str(key_node.value)
                if isinstance(key_node, yaml.ScalarNode)
                else self.text[key_node.start_mark.index : key_node.end_mark.index].strip()
            )
            member = Member(
                key,
                key_node.start_mark.index,
                key_node.end_mark.index,
                self.build(value_node, depth + 1),
            )
            if key in members:
                out.members.remove(members[key])
            members[key] = member
            out.members.append(member)
        return out


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


def _is_null_document(doc: yaml.Node) -> bool:
    """`~`, `null` or an empty scalar as the whole document: the default config."""
    if not isinstance(doc, yaml.ScalarNode):
        return False
    return doc.tag == "tag:yaml.org,2002:null" or (_plain(doc) and doc.value == "")


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
    if not docs or (len(docs) == 1 and _is_null_document(docs[0])):
        # serde-saphyr reads an empty, comment-only or null document as the default config
        # (mirrord's test `empty` in lib.rs).
        if issues:
            return Parsed(None, issues, complete=False)
        return Parsed(Node("object", 0, 0), issues, complete=True)
    if len(docs) > 1:
        second = docs[1]
        issues.append(
            SyntaxIssue(
                second.start_mark.index,
                second.end_mark.index,
                "Only one YAML document is allowed in a mirrord config.",
            )
        )
    try:
        # Without an anchor there is no alias: the tree is as big as the text (depth is
        # checked while building). Otherwise measure the expansion first.
        refused = _measure(docs[0]) if "&" in work else None
    except _TooBig:
        issues.append(
            SyntaxIssue(
                0,
                min(len(text), 1),
                f"The YAML expands to more than {MAX_BUILT_NODES:,} values: mirrord-ls does not"
                " check it.",
                severity="warning",
            )
        )
        return Parsed(None, issues, complete=False)
    if refused is not None:
        issues.append(SyntaxIssue(docs[0].start_mark.index, docs[0].start_mark.index + 1, refused))
        return Parsed(None, issues, complete=False)
    builder = _Builder(work)
    try:
        root = builder.build(docs[0])
    except _TooDeep:
        at = docs[0].start_mark.index
        why = f"Nesting is deeper than {MAX_DEPTH} levels: mirrord's YAML reader stops."
        issues.append(SyntaxIssue(at, at + 1, why))
        return Parsed(None, issues, complete=False)
    except RecursionError:
        issues.append(SyntaxIssue(0, 1, "Nesting is too deep to read."))
        return Parsed(None, issues, complete=False)
    return Parsed(root, issues + builder.issues, complete=complete)
