"""YAML read as mirrord reads it: serde-saphyr 0.0.29 with its default options.

Scalars take their value from the type the field expects (serde-saphyr src/de/deserializer.rs,
src/parse_scalars.rs), untyped positions (untagged enums, internally tagged enums, flatten,
mirrord's own visitors) read plain scalars as null/bool/int/float/string; budgets and alias
limits come from src/de/budget.rs and src/de/options.rs `Default`.
"""

from __future__ import annotations

import time

import pytest

from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.parse_yaml import parse_yaml
from mirrord_ls.config.schema import builtin_schema


def run(text: str) -> tuple[dict[str, object] | None, list[tuple[str, str, str]]]:
    analysis = analyze(text, "yaml", builtin_schema())
    root = analysis.root.to_python() if analysis.root is not None else None
    return root, [(f.code, f.severity, text[f.start : f.end]) for f in analysis.findings]


ACCEPTED = [
    # deserialize_string: a string field keeps the scalar's text
    (
        "feature:\n  env:\n    override: {PORT: 8080, DEBUG: true}\n",
        {"feature": {"env": {"override": {"PORT": "8080", "DEBUG": "true"}}}},
    ),
    ("kube_context: 1234\n", {"kube_context": "1234"}),
    ("agent:\n  log_level: off\n", {"agent": {"log_level": "off"}}),
    # deserialize_enum: the text is the variant
    (
        "feature:\n  network:\n    incoming:\n      mode: off\n",
        {"feature": {"network": {"incoming": {"mode": "off"}}}},
    ),
    # deserialize_bool / parse_int_*: the text, quoted or not
    ('agent:\n  ttl: "30"\noperator: "true"\n', {"agent": {"ttl": 30}, "operator": True}),
    (
        "operator: yes\naccept_invalid_certificates: Off\n",
        {"operator": True, "accept_invalid_certificates": False},
    ),
    # YAML 1.2 integers: 0o17 is 15, 0x10 is 16, _ between digits
    (
        "agent:\n  ttl: 0o17\n  startup_timeout: 0x10\n  communication_timeout: 1_0\n",
        {"agent": {"ttl": 15, "startup_timeout": 16, "communication_timeout": 10}},
    ),
    # ToggleableConfig reads `deserialize_any`: `off` is false there
    (
        "feature:\n  fs: off\n  network:\n    incoming: off\n",
        {"feature": {"fs": False, "network": {"incoming": False}}},
    ),
    ("skip_processes: [bash, node]\n", {"skip_processes": ["bash", "node"]}),
    # empty, comment-only and null documents are the default config (lib.rs test `empty`)
    ("", {}),
    ("# nothing here\n", {}),
    ("~\n", {}),
    # the byte-order mark is skipped
    ("\ufeffoperator: true\n", {"operator": True}),
    # merge keys merge (MergeKeyPolicy::Merge); the mapping's own key wins, no duplicate
    ("agent:\n  <<: {ttl: 3, namespace: a}\n  ttl: 4\n", {"agent": {"ttl": 4, "namespace": "a"}}),
]


@pytest.mark.parametrize(("text", "value"), ACCEPTED)
def test_accepted_as_mirrord_reads_it(text: str, value: dict[str, object]) -> None:
    root, findings = run(text)
    assert findings == []
    assert root == value


REFUSED = [
    # 017: no leading zeros in YAML 1.2 (parse_int_unsigned); .inf is no integer
    ("agent:\n  ttl: 017\n", "invalid-value", "017"),
    ("agent:\n  ttl: .inf\n", "invalid-value", ".inf"),
    ("agent:\n  ttl: 30.0\n", "invalid-value", "30.0"),
    ("operator: maybe\n", "invalid-value", "maybe"),
    # VecOrSingle is untagged: `y` is read as a boolean, and no variant takes a boolean
    ("skip_processes: y\n", "invalid-value", "y"),
    ("skip_processes: [1, bash]\n", "invalid-value", "1"),
    # inside an untagged value every scalar is read untyped: 123 is a number, not a string
    ("target:\n  path: deployment/x\n  namespace: 123\n", "invalid-value", "123"),
    (
        'feature:\n  copy_target:\n    scale_down: "true"\n    enabled: true\n',
        "invalid-value",
        '"true"',
    ),
    # DuplicateKeyPolicy::Error: repeated keys everywhere, maps included
    ("feature:\n  env:\n    override:\n      PORT: 1\n      PORT: 2\n", "syntax", "PORT"),
    ("agent:\n  ttl: 1\n  ttl: 2\n", "syntax", "ttl"),
]


@pytest.mark.parametrize(("text", "code", "span"), REFUSED)
def test_refused_as_mirrord_refuses_it(text: str, code: str, span: str) -> None:
    _, findings = run(text)
    assert (code, "error", span) in findings, findings


def test_the_refused_value_is_explained() -> None:
    analysis = analyze("agent:\n  ttl: 017\n", "yaml", builtin_schema())
    assert "017, which mirrord's YAML reader cannot read as a whole number" in (
        analysis.findings[0].message
    )


def test_a_quoted_template_that_renders_a_bool_is_fine() -> None:
    text = 'operator: "{{ get_env(name="USE_OP", default="true") }}"\n'
    assert analyze(text, "yaml", builtin_schema(), env={}).findings == []


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    started = time.monotonic()
    parsed = parse_yaml(text)
    elapsed = time.monotonic() - started
    assert parsed.root is None
    assert any("alias" in i.message for i in parsed.issues)
    assert elapsed < 30  # generous: it is linear in the text, not in the expansion


def test_many_aliases_for_few_anchors_are_refused() -> None:
    # Budget: 100 aliases or more may not outnumber anchors tenfold.
    text = "x: &x 1\nl: [" + ", ".join(["*x"] * 150) + "]\n"
    parsed = parse_yaml(text)
    assert parsed.root is None and "aliases" in parsed.issues[0].message


def test_a_recursive_alias_is_refused() -> None:
    parsed = parse_yaml("a: &a [*a]\n")
    assert parsed.root is None and parsed.issues


def test_nesting_past_64_levels_is_refused() -> None:
    # Budget::default().max_depth = 64
    text = "a: " + "[" * 70 + "]" * 70 + "\n"
    parsed = parse_yaml(text)
    assert parsed.root is None and "64" in parsed.issues[0].message
    fine = parse_yaml("a: " + "[" * 30 + "]" * 30 + "\n")
    assert fine.root is not None and fine.issues == []
