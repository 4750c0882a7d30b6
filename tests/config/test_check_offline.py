"""`mirrord-ls check --no-cluster` offline (built-in schema only) on a small corpus written here.

Valid configs in the three formats give no finding; invalid ones give the finding whose cause
mirrord reports (each cites the mirrord source that decides it). The last line names the
mirrord release the built-in schema was made from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VALID = {
    "web-mirrord.json": json.dumps(
        {
            "target": {"path": "deployment/web/container/app", "namespace": "shop"},
            "feature": {
                "env": {"include": "DB_*;API_*", "override": {"PORT": "8080"}},
                "fs": {"mode": "read", "read_write": ".+\\.json"},
                "network": {
                    "incoming": {
                        "mode": "steal",
                        "http_filter": {"header_filter": "^x-session: {{ key }}$"},
                        "port_mapping": [[8080, 80]],
                    },
                    "outgoing": {"filter": {"local": ["127.0.0.1:5432"]}},
                },
                "copy_target": {"scale_down": True},
            },
            "agent": {"ttl": 30, "log_level": "info"},
            "operator": True,
        },
        indent=2,
    ),
    "jobs-mirrord.toml": (
        'target = "label/app.kubernetes.io/name=worker,tier=jobs/container/main"\n'
        "operator = true\n"
        "[feature.network]\n"
        'incoming = { mode = "mirror",\n  ports = [9000],\n}\n'
        "[agent]\n"
        'namespace = "ops"\n'
    ),
    "api-mirrord.yaml": (
        "target:\n"
        "  deployment: api\n"
        "  container: main\n"
        "skip_processes: [bash, node]\n"
        "kube_context: 1234\n"
        "feature:\n"
        "  env:\n"
        "    override: {PORT: 8080, DEBUG: true}\n"
        "  network:\n"
        "    incoming:\n"
        "      mode: off\n"
        "agent:\n"
        '  ttl: "30"\n'
    ),
    "empty-mirrord.yaml": "# nothing: the default config\n",
}

# file name -> (text, the code mirrord-ls must report, why mirrord refuses it)
INVALID = {
    "typo-mirrord.json": ('{"kube_contxt": "dev"}', "unknown-field", "deny_unknown_fields"),
    "target-mirrord.json": ('{"target": "Deployment/web"}', "invalid-value", "target.rs FromStr"),
    "label-mirrord.yaml": (
        "target: label/app=a,app=b\n",
        "invalid-value",
        "target/label.rs: duplicate key",
    ),
    "env-mirrord.toml": (
        '[feature.env]\ninclude = "A"\nexclude = "B"\n',
        "conflict",
        "lib.rs LayerConfig::verify",
    ),
    "ttl-mirrord.yaml": ("agent:\n  ttl: 30.0\n", "invalid-value", "serde-saphyr parse_int"),
    "bom-mirrord.json": ('\ufeff{"operator": true}', "syntax", "serde_json: expected value"),
    "list-mirrord.yaml": ("skip_processes: y\n", "invalid-value", "VecOrSingle untagged"),
}


def check(folder: Path) -> tuple[int, list[dict[str, object]], str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mirrord_ls",
            "check",
            str(folder),
            "--no-cluster",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    text = subprocess.run(
        [sys.executable, "-m", "mirrord_ls", "check", str(folder), "--no-cluster"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, json.loads(result.stdout), text.stdout


def test_valid_corpus_has_no_finding(tmp_path: Path) -> None:
    for name, text in VALID.items():
        (tmp_path / name).write_text(text, "utf-8")
    code, data, text = check(tmp_path)
    assert {Path(str(e["path"])).name: e["diagnostics"] for e in data} == {n: [] for n in VALID}
    assert code == 0
    assert "built-in schema (mirrord 3.250.0)" in text.splitlines()[-1]


def test_invalid_corpus_gets_mirrords_error(tmp_path: Path) -> None:
    for name, (text, _, _) in INVALID.items():
        (tmp_path / name).write_text(text, "utf-8")
    code, data, _ = check(tmp_path)
    assert code == 1
    found = {Path(str(e["path"])).name: e["diagnostics"] for e in data}
    for name, (_, expected, why) in INVALID.items():
        codes = [(d["code"], d["severity"]) for d in found[name]]  # type: ignore[index]
        assert (expected, "error") in codes, (name, why, found[name])
