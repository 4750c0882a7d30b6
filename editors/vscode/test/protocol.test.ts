import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { activeDocumentParams, type AgentRoleArgs, type AgentRoleResult, contextsOf, logLevelParams, parseStatus, parseSwitchContextResult, SERVER_COMMANDS, type Status } from "../src/protocol";
import { parseRoleBinding } from "../src/roleBinding";

/** The fixture the server's tests/test_protocol.py checks too. */
const fixture = JSON.parse(readFileSync(new URL("../../../tests/fixtures/protocol.json", `file://${__filename}`), "utf8")) as Record<
  string,
  Record<string, unknown>
>;

/** The server sends null for an absent optional field; the client type leaves it out. */
function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

describe("the shared protocol fixture", () => {
  it("parses a full mirrord/status without losing a field", () => {
    const status = parseStatus(fixture.status);
    assert.deepEqual(status, withoutNulls(fixture.status!) as unknown as Status);
  });

  it("parses a minimal mirrord/status", () => {
    const status = parseStatus(fixture.minimalStatus);
    assert.ok(status);
    assert.equal(status.health, "ok");
    assert.equal(status.quiescent, true);
    assert.equal(status.context, undefined);
    assert.deepEqual(status.contexts, []);
  });

  it("carries the experimental/serverStatus fields", () => {
    const status = parseStatus(fixture.status);
    assert.ok(status);
    for (const key of ["health", "quiescent", "message"] as const) {
      assert.notEqual(status[key], undefined, key);
    }
  });

  it("builds mirrord/activeDocument params as the server reads them", () => {
    assert.deepEqual(activeDocumentParams(fixture.activeDocument!.uri as string), fixture.activeDocument);
    assert.deepEqual(activeDocumentParams(undefined), fixture.noActiveDocument);
  });

  it("lists the contexts of a showStatus result", () => {
    assert.deepEqual(contextsOf(fixture.status), ["kind-dev", "prod"]);
    assert.deepEqual(contextsOf(null), []);
  });

  it("names vscode.LogLevel values as the server reads them", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((l) => logLevelParams(l).level), ["off", "trace", "debug", "info", "warning", "error"]);
    assert.deepEqual(logLevelParams(2), fixture.logLevel);
  });

  it("parses a switchContext result", () => {
    assert.deepEqual(parseSwitchContextResult(fixture.switchContextResult), fixture.switchContextResult);
    assert.equal(parseSwitchContextResult({ reason: "x" }), undefined);
  });
});

describe("the agentRole command, against the shared fixture", () => {
  it("reads the server's agentRole result as the extension delivers it", () => {
    const result = fixture.agentRoleResult!;
    const answer = parseRoleBinding(result, SERVER_COMMANDS.agentRole);
    assert.equal(answer.kind, "binding");
    if (answer.kind === "binding") {
      assert.equal(answer.binding.yaml, result.yaml);
      assert.equal(answer.binding.namespace, result.namespace);
      assert.equal(answer.binding.user, result.user);
    }
  });
  it("has every AgentRoleArgs field the server reads", () => {
    const args: AgentRoleArgs = fixture.agentRoleArgs as AgentRoleArgs;
    assert.deepEqual(Object.keys(args).sort(), ["namespace", "uri", "user", "variant"]);
    const result: AgentRoleResult = fixture.agentRoleResult as AgentRoleResult;
    assert.equal(typeof result.yaml, "string");
  });
});
