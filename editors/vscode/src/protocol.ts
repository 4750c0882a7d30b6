/**
 * mirrord-ls's own protocol, typed once on the client side (the server's is
 * `server/mirrord_ls/protocol.py`); both are tested against one JSON fixture,
 * `tests/fixtures/protocol.json`.
 *
 * - `mirrord/status` (server → client): `Status`. Its first fields follow
 *   rust-analyzer's `experimental/serverStatus` (health, quiescent, message).
 * - `mirrord/activeDocument` (client → server): `ActiveDocumentParams`.
 * - arguments and results of the server's `mirrord-ls.*` commands.
 *
 * Pure (no `vscode` import), so unit tests can load it.
 */

export const STATUS_NOTIFICATION = "mirrord/status";
export const ACTIVE_DOCUMENT_NOTIFICATION = "mirrord/activeDocument";
/** Client → server: the log level of the client's log view, for the server's log. */
export const LOG_LEVEL_NOTIFICATION = "mirrord/logLevel";
/** `experimental.mirrordStatus: true`: this client renders `mirrord/status`. */
export const STATUS_CAPABILITY = "mirrordStatus";

export const SERVER_COMMANDS = {
  recheck: "mirrord-ls.recheck",
  showStatus: "mirrord-ls.showStatus",
  switchContext: "mirrord-ls.switchContext",
  roleBinding: "mirrord-ls.roleBinding",
  agentRole: "mirrord-ls.agentRole",
} as const;

export type Health = "ok" | "warning" | "error";

/** Params of `mirrord/status`, and the result of `mirrord-ls.showStatus`. */
export interface Status {
  health: Health;
  /** No check is running or pending. */
  quiescent?: boolean;
  /** A few words, e.g. "operator forbidden". */
  message: string;
  /** A cluster check is running. */
  busy: boolean;
  /** Markdown. */
  tooltip: string;
  /** mirrord configs the server knows of in the workspace. */
  configCount: number;
  context?: string;
  /** Cluster API URL. */
  server?: string;
  /** Verdict kind, e.g. "forbidden". */
  operator?: string;
  /** ISO time of the last cluster check. */
  checkedAt?: string;
  /** URI of the config the status is about. */
  document?: string;
  /** The contexts of that config's kubeconfig. */
  contexts?: string[];
}

export interface ActiveDocumentParams {
  uri: string | null;
}

/** Arguments of `recheck`, `showStatus` and `roleBinding`. */
export interface DocumentArgs {
  uri?: string | null;
}

export interface SwitchContextArgs {
  uri?: string | null;
  context?: string | null;
}

export interface SwitchContextResult {
  applied: boolean;
  reason?: string | null;
}

/** Arguments of `agentRole` (from an `agent-forbidden` finding's data). */
export interface AgentRoleArgs {
  uri?: string | null;
  namespace?: string | null;
  variant?: string | null;
  user?: string | null;
}

/** The result of `agentRole`: the YAML (a Role and its RoleBinding) or why not. */
export interface AgentRoleResult {
  yaml?: string | null;
  namespace?: string | null;
  user?: string | null;
  path?: string | null;
  role?: Record<string, unknown> | null;
  roleBinding?: Record<string, unknown> | null;
  error?: string | null;
}

export interface RoleBindingResult {
  yaml?: string | null;
  user?: string | null;
  userFrom?: string | null;
  path?: string | null;
  docs?: string | null;
  error?: string | null;
}

type Json = Record<string, unknown>;

function object(raw: unknown): Json | undefined {
  return raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as Json) : undefined;
}

const optString = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);

/** Validates `mirrord/status` params; `undefined` for anything unusable. */
export function parseStatus(raw: unknown): Status | undefined {
  const r = object(raw);
  if (r === undefined) {
    return undefined;
  }
  const health = r.health;
  if (health !== "ok" && health !== "warning" && health !== "error") {
    return undefined;
  }
  const status: Status = {
    health,
    busy: r.busy === true,
    message: typeof r.message === "string" ? r.message : "",
    tooltip: typeof r.tooltip === "string" ? r.tooltip : "",
    configCount: typeof r.configCount === "number" && Number.isFinite(r.configCount) ? r.configCount : 0,
  };
  if (typeof r.quiescent === "boolean") {
    status.quiescent = r.quiescent;
  }
  const fields = ["context", "server", "operator", "checkedAt", "document"] as const;
  for (const f of fields) {
    const v = optString(r[f]);
    if (v !== undefined) {
      status[f] = v;
    }
  }
  if (Array.isArray(r.contexts)) {
    status.contexts = r.contexts.filter((c): c is string => typeof c === "string");
  }
  return status;
}

/** The contexts a `showStatus` result lists (for the context switcher). */
export function contextsOf(result: unknown): string[] {
  const contexts = object(result)?.contexts;
  return Array.isArray(contexts) ? contexts.filter((c): c is string => typeof c === "string") : [];
}

export function parseSwitchContextResult(raw: unknown): SwitchContextResult | undefined {
  const r = object(raw);
  if (r === undefined || typeof r.applied !== "boolean") {
    return undefined;
  }
  return { applied: r.applied, reason: typeof r.reason === "string" ? r.reason : null };
}

export type LogLevelName = "off" | "trace" | "debug" | "info" | "warning" | "error";

export interface LogLevelParams {
  level: LogLevelName;
}

/** `vscode.LogLevel` (Off 0, Trace 1, Debug 2, Info 3, Warning 4, Error 5) as the server names it. */
export function logLevelParams(level: number): LogLevelParams {
  const names: LogLevelName[] = ["off", "trace", "debug", "info", "warning", "error"];
  return { level: names[level] ?? "info" };
}

export function activeDocumentParams(uri: string | undefined): ActiveDocumentParams {
  return { uri: uri ?? null };
}
