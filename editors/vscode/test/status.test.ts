import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { COMMANDS } from "../src/constants";
import { escapeIcons, parseStatus, renderStatus, statusMenu, type MirrordStatus, type StatusInput } from "../src/status";

const forbidden: MirrordStatus = {
  health: "warning",
  busy: false,
  message: "operator forbidden",
  context: "kind-dev",
  server: "https://127.0.0.1:6443",
  operator: "operator-forbidden",
  checkedAt: "2026-11-25T16:00:00Z",
  tooltip: "**The mirrord operator is installed**, but RBAC forbids `alice`.",
  document: "file:///w/.mirrord/mirrord.json",
  configCount: 1,
};

const running = { kind: "running" } as const;

function input(over: Partial<StatusInput>): StatusInput {
  return { status: forbidden, server: running, enabled: true, configDocumentOpen: false, ...over };
}

describe("parseStatus", () => {
  it("keeps every known field", () => {
    assert.deepEqual(parseStatus({ ...forbidden, extra: 1 }), forbidden);
  });

  it("rejects a missing or unknown health", () => {
    assert.equal(parseStatus({ ...forbidden, health: "meh" }), undefined);
    assert.equal(parseStatus({ busy: true }), undefined);
    assert.equal(parseStatus(null), undefined);
    assert.equal(parseStatus("ok"), undefined);
  });

  it("defaults what a minimal server omits", () => {
    assert.deepEqual(parseStatus({ health: "ok" }), { health: "ok", busy: false, message: "", tooltip: "", configCount: 0 });
  });

  it("drops optional fields of the wrong type or empty", () => {
    const s = parseStatus({ ...forbidden, context: 3, server: "" });
    assert.ok(s);
    assert.equal(s.context, undefined);
    assert.equal(s.server, undefined);
  });
});

describe("renderStatus", () => {
  const cases: { name: string; status: MirrordStatus; text: string; background: "warning" | "error" | undefined }[] = [
    { name: "ok", status: { ...forbidden, health: "ok", message: "operator ready" }, text: "$(check) mirrord: kind-dev", background: undefined },
    { name: "warning", status: forbidden, text: "$(warning) mirrord: kind-dev", background: "warning" },
    { name: "error", status: { ...forbidden, health: "error" }, text: "$(error) mirrord: kind-dev", background: "error" },
    { name: "busy spins", status: { ...forbidden, busy: true }, text: "$(sync~spin) mirrord: kind-dev", background: "warning" },
    {
      name: "no context: the message",
      status: { ...forbidden, context: undefined, health: "error", message: "no kubeconfig" },
      text: "$(error) mirrord: no kubeconfig",
      background: "error",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const view = renderStatus(input({ status: c.status }));
      assert.equal(view.text, c.text);
      assert.equal(view.background, c.background);
      assert.equal(view.visible, true);
      assert.equal(view.command, COMMANDS.showStatus);
    });
  }

  it("puts the server's tooltip first, then command links", () => {
    const view = renderStatus(input({}));
    assert.ok(view.tooltip.startsWith(forbidden.tooltip));
    for (const command of [COMMANDS.recheck, COMMANDS.showOutput, COMMANDS.restartServer, COMMANDS.switchContext]) {
      assert.ok(view.tooltip.includes(`(command:${command}`), command);
    }
  });

  it("is hidden without configs in the workspace or open", () => {
    assert.equal(renderStatus(input({ status: { ...forbidden, configCount: 0 } })).visible, false);
    assert.equal(renderStatus(input({ status: { ...forbidden, configCount: 0 }, configDocumentOpen: true })).visible, true);
    assert.equal(renderStatus(input({ status: undefined, server: { kind: "starting" } })).visible, false);
  });

  it("is hidden when disabled", () => {
    assert.equal(renderStatus(input({ enabled: false, configDocumentOpen: true })).visible, false);
  });

  it("spins while the server starts, once a config is open", () => {
    const view = renderStatus(input({ status: undefined, server: { kind: "starting" }, configDocumentOpen: true }));
    assert.equal(view.visible, true);
    assert.equal(view.text, "$(sync~spin) mirrord");
  });

  it("stops spinning once running, even if the server never reports a status", () => {
    const view = renderStatus(input({ status: undefined, configDocumentOpen: true }));
    assert.equal(view.text, "mirrord");
    assert.ok(view.tooltip.includes(`command:${COMMANDS.showOutput}`));
  });

  it("says when the server is missing, and offers a restart", () => {
    const view = renderStatus(input({ server: { kind: "missing", reason: "not on PATH" }, configDocumentOpen: true }));
    assert.equal(view.text, "$(error) mirrord: no server");
    assert.equal(view.background, "error");
    assert.ok(view.tooltip.includes("not on PATH"));
    assert.ok(view.tooltip.includes(`command:${COMMANDS.restartServer}`));
  });

  it("does not let a context name become an icon", () => {
    const view = renderStatus(input({ status: { ...forbidden, context: "$(bug)" } }));
    assert.equal(view.text, "$(warning) mirrord: \\$(bug)");
    assert.equal(escapeIcons("a$(b)"), "a\\$(b)");
  });
});

describe("statusMenu", () => {
  it("lists the facts, then the actions", () => {
    const items = statusMenu(forbidden, running);
    assert.equal(items[0]?.label, "$(warning) operator forbidden");
    assert.match(items[0]?.detail ?? "", /kind-dev.*127\.0\.0\.1.*operator-forbidden/);
    assert.deepEqual(
      items.slice(1).map((i) => i.command),
      [COMMANDS.recheck, COMMANDS.switchContext, COMMANDS.showOutput, COMMANDS.restartServer],
    );
  });

  it("leads with the failure when the server is not running", () => {
    const items = statusMenu(undefined, { kind: "stopped", reason: "crashed 4 times" });
    assert.equal(items[0]?.detail, "crashed 4 times");
  });
});
