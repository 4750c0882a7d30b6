/**
 * The extension's settings (`mirrordLs.*`), typed, with their defaults.
 *
 * Pure: reads values through a getter so tests need no VS Code. A value of
 * the wrong type yields the default and a problem to report, never a throw.
 * The server reads the same section itself through `workspace/configuration`;
 * the client only needs the settings that decide how to start it and how to
 * show its status.
 */

export type SchemaDiagnosticsMode = "auto" | "on" | "off";
export type TraceLevel = "off" | "messages" | "verbose";

export interface Settings {
  serverPath: string;
  serverPython: string;
  schema: string;
  clusterEnabled: boolean;
  clusterTimeoutSeconds: number;
  clusterRecheckSeconds: number;
  trustWorkspaceKubeconfigs: boolean;
  schemaDiagnosticsJson: SchemaDiagnosticsMode;
  statusBarEnabled: boolean;
  traceServer: TraceLevel;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  serverPath: "",
  serverPython: "",
  schema: "",
  clusterEnabled: true,
  clusterTimeoutSeconds: 10,
  clusterRecheckSeconds: 60,
  trustWorkspaceKubeconfigs: false,
  schemaDiagnosticsJson: "auto",
  statusBarEnabled: true,
  traceServer: "off",
});

/** Keys relative to the `mirrordLs` section, by field. */
export const SETTING_KEYS: Readonly<Record<keyof Settings, string>> = Object.freeze({
  serverPath: "server.path",
  serverPython: "server.python",
  schema: "schema",
  clusterEnabled: "cluster.enabled",
  clusterTimeoutSeconds: "cluster.timeoutSeconds",
  clusterRecheckSeconds: "cluster.recheckSeconds",
  trustWorkspaceKubeconfigs: "trustWorkspaceKubeconfigs",
  schemaDiagnosticsJson: "schemaDiagnostics.json",
  statusBarEnabled: "statusBar.enabled",
  traceServer: "trace.server",
});

/** Settings whose change means the server must be started again. */
export const RESTART_KEYS: readonly string[] = [SETTING_KEYS.serverPath, SETTING_KEYS.serverPython];

export interface ReadSettings {
  settings: Settings;
  /** One sentence per invalid value; the default was used instead. */
  problems: string[];
}

/** Reads the settings through `get(key)` (key relative to `mirrordLs`). */
export function readSettings(get: (key: string) => unknown): ReadSettings {
  const problems: string[] = [];
  const settings = { ...DEFAULT_SETTINGS };

  const field = <K extends keyof Settings>(
    name: K,
    accept: (value: unknown) => value is Settings[K],
    expected: string,
  ): void => {
    const key = SETTING_KEYS[name];
    const value = get(key);
    if (value === undefined || value === null) {
      return;
    }
    if (accept(value)) {
      settings[name] = value;
    } else {
      problems.push(
        `mirrordLs.${key} should be ${expected}, not ${JSON.stringify(value)}; using ${JSON.stringify(DEFAULT_SETTINGS[name])}.`,
      );
    }
  };

  const isString = (v: unknown): v is string => typeof v === "string";
  const isBool = (v: unknown): v is boolean => typeof v === "boolean";
  const isPositive = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;
  const isNonNegative = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
  const oneOf =
    <T extends string>(...allowed: T[]) =>
    (v: unknown): v is T =>
      typeof v === "string" && (allowed as string[]).includes(v);

  field("serverPath", isString, "a path");
  field("serverPython", isString, "a path or a command name");
  field("schema", isString, "a path or a URL");
  field("clusterEnabled", isBool, "true or false");
  field("clusterTimeoutSeconds", isPositive, "a number of seconds above 0");
  field("clusterRecheckSeconds", isNonNegative, "a number of seconds, 0 or more");
  field("trustWorkspaceKubeconfigs", isBool, "true or false");
  field("schemaDiagnosticsJson", oneOf("auto", "on", "off"), '"auto", "on" or "off"');
  field("statusBarEnabled", isBool, "true or false");
  field("traceServer", oneOf("off", "messages", "verbose"), '"off", "messages" or "verbose"');

  settings.serverPath = settings.serverPath.trim();
  settings.serverPython = settings.serverPython.trim();
  return { settings, problems };
}

/**
 * Whether the server should report schema problems in JSON configs.
 * "auto" leaves them to the official extension when it is installed: it
 * validates `*mirrord.json` through VS Code's JSON service, and the same
 * error twice in the Problems panel is noise.
 */
export function jsonSchemaDiagnosticsEnabled(mode: SchemaDiagnosticsMode, officialExtensionInstalled: boolean): boolean {
  switch (mode) {
    case "on":
      return true;
    case "off":
      return false;
    case "auto":
      return !officialExtensionInstalled;
  }
}

/** What the server receives in `initialize` (`initializationOptions`). */
export interface InitializationOptions {
  workspaceTrusted: boolean;
  officialExtensionInstalled: boolean;
}

export function initializationOptions(workspaceTrusted: boolean, officialExtensionInstalled: boolean): InitializationOptions {
  return { workspaceTrusted, officialExtensionInstalled };
}

/**
 * Adds what only the client knows to a `mirrordLs` section answered to the
 * server's `workspace/configuration` request.
 */
export function augmentSection(section: unknown, officialExtensionInstalled: boolean): unknown {
  if (section === null || typeof section !== "object" || Array.isArray(section)) {
    return section;
  }
  return { ...(section as Record<string, unknown>), officialExtensionInstalled };
}
