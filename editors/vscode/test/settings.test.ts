import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { DEFAULT_SETTINGS, augmentSection, initializationOptions, jsonSchemaDiagnosticsEnabled, readSettings } from "../src/settings";

const from = (values: Record<string, unknown>) => (key: string) => values[key];

describe("readSettings", () => {
  it("gives the defaults for an empty section", () => {
    const { settings, problems } = readSettings(from({}));
    assert.deepEqual(settings, DEFAULT_SETTINGS);
    assert.deepEqual(problems, []);
  });

  it("defaults match package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", `file://${__filename}`), "utf8")) as {
      contributes: { configuration: { properties: Record<string, { default: unknown }> } };
    };
    const props = pkg.contributes.configuration.properties;
    const { settings } = readSettings((key) => props[`mirrordLs.${key}`]?.default);
    assert.deepEqual(settings, DEFAULT_SETTINGS);
  });

  it("reads every setting", () => {
    const { settings, problems } = readSettings(
      from({
        "server.path": " /opt/mirrord-ls ",
        "server.python": "python3",
        schema: "https://example.com/schema.json",
        "cluster.enabled": false,
        "cluster.timeoutSeconds": 3,
        "cluster.recheckSeconds": 0,
        trustWorkspaceKubeconfigs: true,
        "schemaDiagnostics.json": "on",
        "statusBar.enabled": false,
        "trace.server": "verbose",
      }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, {
      serverPath: "/opt/mirrord-ls",
      serverPython: "python3",
      schema: "https://example.com/schema.json",
      clusterEnabled: false,
      clusterTimeoutSeconds: 3,
      clusterRecheckSeconds: 0,
      trustWorkspaceKubeconfigs: true,
      schemaDiagnosticsJson: "on",
      statusBarEnabled: false,
      traceServer: "verbose",
    });
  });

  const invalid: [string, unknown][] = [
    ["cluster.timeoutSeconds", 0],
    ["cluster.timeoutSeconds", "10"],
    ["cluster.recheckSeconds", -1],
    ["cluster.enabled", "yes"],
    ["schemaDiagnostics.json", "maybe"],
    ["trace.server", true],
    ["server.path", 42],
  ];
  for (const [key, value] of invalid) {
    it(`falls back to the default for ${key} = ${JSON.stringify(value)}`, () => {
      const { settings, problems } = readSettings(from({ [key]: value }));
      assert.deepEqual(settings, DEFAULT_SETTINGS);
      assert.equal(problems.length, 1);
      assert.ok(problems[0]?.includes(`mirrordLs.${key}`));
    });
  }
});

describe("jsonSchemaDiagnosticsEnabled", () => {
  const table: [Parameters<typeof jsonSchemaDiagnosticsEnabled>[0], boolean, boolean][] = [
    ["auto", false, true],
    ["auto", true, false],
    ["on", true, true],
    ["on", false, true],
    ["off", false, false],
    ["off", true, false],
  ];
  for (const [mode, official, expected] of table) {
    it(`${mode}, official extension ${official ? "installed" : "absent"} -> ${expected}`, () => {
      assert.equal(jsonSchemaDiagnosticsEnabled(mode, official), expected);
    });
  }
});

describe("what the server receives", () => {
  it("initializationOptions", () => {
    assert.deepEqual(initializationOptions(false, true), { workspaceTrusted: false, officialExtensionInstalled: true });
  });

  it("the configuration section gains officialExtensionInstalled", () => {
    assert.deepEqual(augmentSection({ schema: "" }, true), { schema: "", officialExtensionInstalled: true });
    assert.equal(augmentSection(null, true), null);
    assert.deepEqual(augmentSection([1], true), [1]);
  });
});
