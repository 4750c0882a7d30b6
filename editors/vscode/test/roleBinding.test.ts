import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ADMIN_FIX_COMMANDS, AGENT_ROLE_COMMAND, copiedMessage, isRoleBindingFile, parseRoleBinding } from "../src/roleBinding";

const yaml = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n";

describe("parseRoleBinding", () => {
  it("reads the YAML, the user and the file", () => {
    assert.deepEqual(parseRoleBinding({ yaml, user: "bob", path: "/c/mirrord-operator-user-binding.yaml", docs: "x" }), {
      kind: "binding",
      binding: { yaml, user: "bob", path: "/c/mirrord-operator-user-binding.yaml" },
    });
  });
  it("works without a file (the cache folder was not writable)", () => {
    assert.deepEqual(parseRoleBinding({ yaml, user: "bob", path: null }), { kind: "binding", binding: { yaml, user: "bob", path: undefined } });
  });
  it("passes the server's reason on", () => {
    assert.deepEqual(parseRoleBinding({ error: "no cluster is known for this config yet" }), {
      kind: "error",
      message: "no cluster is known for this config yet",
    });
  });
  it("never throws on junk", () => {
    for (const junk of [undefined, null, 3, "x", { yaml: "" }, { yaml: 5 }]) {
      assert.equal(parseRoleBinding(junk).kind, "error");
    }
  });
});

describe("copiedMessage / isRoleBindingFile", () => {
  it("names the user and says where the YAML is", () => {
    assert.match(copiedMessage({ yaml, user: "bob" }), /ClusterRoleBinding for bob is on the clipboard/);
  });
  it("knows the server's file", () => {
    assert.ok(isRoleBindingFile("file:///home/u/.cache/mirrord-ls/mirrord-operator-user-binding.yaml"));
    assert.ok(!isRoleBindingFile("file:///w/.mirrord/mirrord.json"));
  });
});

describe("the agent's Role (agent-forbidden, mirrord-ls.agentRole)", () => {
  const roleYaml = "kind: Role\n---\nkind: RoleBinding\n";
  it("reads the YAML, the user, the namespace and the file", () => {
    assert.deepEqual(
      parseRoleBinding({ yaml: roleYaml, user: "bob", namespace: "agents", path: "/c/mirrord-agent-role-agents-bob.yaml" }, AGENT_ROLE_COMMAND),
      { kind: "binding", binding: { yaml: roleYaml, user: "bob", namespace: "agents", path: "/c/mirrord-agent-role-agents-bob.yaml" } },
    );
  });
  it("says what is on the clipboard and for which namespace", () => {
    assert.match(copiedMessage({ yaml: roleYaml, user: "bob", namespace: "agents" }), /Role and RoleBinding .* namespace agents, for bob, are on the clipboard/);
  });
  it("passes the server's reason on, and names a Role when there is none", () => {
    assert.deepEqual(parseRoleBinding({ error: "no valid namespace was given" }, AGENT_ROLE_COMMAND), {
      kind: "error",
      message: "no valid namespace was given",
    });
    assert.deepEqual(parseRoleBinding(null, AGENT_ROLE_COMMAND), { kind: "error", message: "the server gave no Role" });
  });
  it("knows the server's file, and both commands", () => {
    assert.ok(isRoleBindingFile("file:///home/u/.cache/mirrord-ls/mirrord-agent-role-agents-bob.yaml"));
    assert.ok(!isRoleBindingFile("file:///w/mirrord-agent-role-x.json"));
    assert.deepEqual([...ADMIN_FIX_COMMANDS].sort(), ["mirrord-ls.agentRole", "mirrord-ls.roleBinding"]);
  });
});
