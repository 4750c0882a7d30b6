import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { INSTALL_URL } from "../src/constants";
import { findServer, resolveSettingPath, which, type DiscoveryEnv } from "../src/serverCommand";

function machine(executables: string[], over: Partial<DiscoveryEnv> = {}): DiscoveryEnv {
  const set = new Set(executables);
  return {
    pathEnv: "/usr/local/bin:/usr/bin",
    platform: "linux",
    homeDir: "/home/me",
    workspaceFolder: "/w",
    isExecutableFile: (f) => set.has(f),
    ...over,
  };
}

const none = { serverPath: "", serverPython: "" };

describe("findServer", () => {
  it("prefers mirrordLs.server.path", () => {
    const env = machine(["/opt/ls/mirrord-ls", "/usr/bin/mirrord-ls", "/usr/bin/python3"]);
    assert.deepEqual(findServer({ serverPath: "/opt/ls/mirrord-ls", serverPython: "python3" }, env), {
      kind: "found",
      command: "/opt/ls/mirrord-ls",
      args: ["serve"],
      source: "mirrordLs.server.path",
    });
  });

  it("then mirrordLs.server.python, by name on PATH or by path", () => {
    const env = machine(["/usr/bin/python3", "/home/me/venv/bin/python"]);
    assert.deepEqual(findServer({ serverPath: "", serverPython: "python3" }, env), {
      kind: "found",
      command: "/usr/bin/python3",
      args: ["-m", "mirrord_ls", "serve"],
      source: "mirrordLs.server.python",
    });
    const byPath = findServer({ serverPath: "", serverPython: "~/venv/bin/python" }, env);
    assert.equal(byPath.kind === "found" && byPath.command, "/home/me/venv/bin/python");
  });

  it("then mirrord-ls on PATH, first directory first", () => {
    const env = machine(["/usr/local/bin/mirrord-ls", "/usr/bin/mirrord-ls"]);
    const found = findServer(none, env);
    assert.equal(found.kind === "found" && found.command, "/usr/local/bin/mirrord-ls");
    assert.equal(found.kind === "found" && found.source, "PATH");
  });

  it("says how to install it when there is none", () => {
    const missing = findServer(none, machine([]));
    assert.equal(missing.kind, "missing");
    assert.ok(missing.kind === "missing" && missing.message.includes("pip install mirrord-ls"));
    assert.ok(missing.kind === "missing" && missing.message.includes(INSTALL_URL));
  });

  it("does not fall back to PATH when a setting names something missing", () => {
    const env = machine(["/usr/bin/mirrord-ls"]);
    const badPath = findServer({ serverPath: "/nope/mirrord-ls", serverPython: "" }, env);
    assert.equal(badPath.kind, "missing");
    assert.ok(badPath.kind === "missing" && badPath.message.includes("mirrordLs.server.path"));
    const badPython = findServer({ serverPath: "", serverPython: "python9" }, env);
    assert.ok(badPython.kind === "missing" && badPython.message.includes("mirrordLs.server.python"));
  });

  it("copes with an unset PATH", () => {
    assert.equal(findServer(none, machine([], { pathEnv: undefined })).kind, "missing");
  });
});

describe("resolveSettingPath", () => {
  const env = machine([]);
  const table: [string, string][] = [
    ["/abs/mirrord-ls", "/abs/mirrord-ls"],
    ["~/bin/mirrord-ls", "/home/me/bin/mirrord-ls"],
    ["${userHome}/bin/mirrord-ls", "/home/me/bin/mirrord-ls"],
    ["${workspaceFolder}/.venv/bin/mirrord-ls", "/w/.venv/bin/mirrord-ls"],
    [".venv/bin/mirrord-ls", "/w/.venv/bin/mirrord-ls"],
  ];
  for (const [value, expected] of table) {
    it(`${value} -> ${expected}`, () => {
      assert.equal(resolveSettingPath(value, env), expected);
    });
  }
});

describe("which on Windows", () => {
  it("tries PATHEXT and ; as separator", () => {
    const env = machine(["C:\\tools\\mirrord-ls.EXE"], { platform: "win32", pathEnv: "C:\\bin;C:\\tools", pathExtEnv: ".COM;.EXE" });
    assert.equal(which("mirrord-ls", env), "C:\\tools\\mirrord-ls.EXE");
  });
});
