/**
 * What the status bar item shows, from the server's `mirrord/status`
 * notification and the client's own state.
 *
 * Pure (no `vscode` import): `renderStatus` returns a view that
 * `statusBar.ts` copies onto a `StatusBarItem`, and tests check directly.
 */
import { COMMANDS } from "./constants";
import { parseStatus, type Health, type Status } from "./protocol";

export type { Health } from "./protocol";
/** Params of the server's `mirrord/status` notification (see protocol.ts). */
export type MirrordStatus = Status;
export { parseStatus };

/** The client's side of things, which the server cannot report. */
export type ServerState =
  | { kind: "starting" }
  | { kind: "running" }
  | { kind: "stopped"; reason: string }
  | { kind: "missing"; reason: string };

export interface StatusInput {
  status: MirrordStatus | undefined;
  server: ServerState;
  /** `mirrordLs.statusBar.enabled`. */
  enabled: boolean;
  /** A mirrord config is open in an editor (the server may not have counted it yet). */
  configDocumentOpen: boolean;
}

export interface StatusView {
  visible: boolean;
  text: string;
  /** Markdown; command links are to be trusted only for `TRUSTED_COMMANDS`. */
  tooltip: string;
  background: "warning" | "error" | undefined;
  /** Run on click. */
  command: string;
}

/** The commands a status tooltip may link to. */
export const TRUSTED_COMMANDS: readonly string[] = [
  COMMANDS.recheck,
  COMMANDS.showOutput,
  COMMANDS.restartServer,
  COMMANDS.switchContext,
  COMMANDS.showStatus,
];

const ICONS: Record<Health, string> = { ok: "$(check)", warning: "$(warning)", error: "$(error)" };

export function renderStatus(input: StatusInput): StatusView {
  const { status, server } = input;
  const hasConfigs = input.configDocumentOpen || (status !== undefined && status.configCount > 0);
  const visible = input.enabled && hasConfigs;

  if (server.kind === "stopped" || server.kind === "missing") {
    const title = server.kind === "missing" ? "mirrord-ls server not found" : "mirrord-ls server stopped";
    return {
      visible,
      text: `$(error) mirrord: ${server.kind === "missing" ? "no server" : "server stopped"}`,
      tooltip: `**${title}**\n\n${escapeMarkdown(server.reason)}\n\n---\n\n${links(["restart", "output"])}`,
      background: "error",
      command: COMMANDS.showStatus,
    };
  }

  if (status === undefined) {
    // Running without a status: a server that does not (yet) report one.
    const starting = server.kind === "starting";
    return {
      visible,
      text: starting ? "$(sync~spin) mirrord" : "mirrord",
      tooltip: `${starting ? "mirrord-ls is starting…" : "mirrord-ls is running; it has not reported on the cluster."}\n\n---\n\n${links(["recheck", "output", "restart"])}`,
      background: undefined,
      command: COMMANDS.showStatus,
    };
  }

  const icon = status.busy ? "$(sync~spin)" : ICONS[status.health];
  const label = status.context ?? (status.message || "no context");
  const parts: string[] = [];
  if (status.tooltip.trim().length > 0) {
    parts.push(status.tooltip.trim());
  } else if (status.message) {
    parts.push(escapeMarkdown(status.message));
  }
  if (status.busy) {
    parts.push("_Checking the cluster…_");
  }
  parts.push(`---\n\n${links(["recheck", "switch", "output", "restart"])}`);
  return {
    visible,
    text: `${icon} mirrord: ${escapeIcons(label)}`,
    tooltip: parts.join("\n\n"),
    background: status.health === "ok" ? undefined : status.health,
    command: COMMANDS.showStatus,
  };
}

type LinkName = "recheck" | "switch" | "output" | "restart";

const LINKS: Record<LinkName, string> = {
  recheck: `[$(refresh) Re-check](command:${COMMANDS.recheck} "Ask the cluster again")`,
  switch: `[$(arrow-swap) Switch context](command:${COMMANDS.switchContext} "Point this config at another kubeconfig context")`,
  output: `[$(output) Show output](command:${COMMANDS.showOutput} "Show the mirrord-ls log")`,
  restart: `[$(debug-restart) Restart server](command:${COMMANDS.restartServer} "Restart the mirrord-ls server")`,
};

function links(names: LinkName[]): string {
  return names.map((n) => LINKS[n]).join(" · ");
}

/** Escapes text for inclusion in markdown (and keeps `$(...)` from becoming an icon). */
export function escapeMarkdown(text: string): string {
  return escapeIcons(text.replace(/[\\`*_{}[\]()#+\-.!<>|~]/g, (c) => `\\${c}`));
}

/** Status bar text renders `$(name)` as an icon; a context name must not. */
export function escapeIcons(text: string): string {
  return text.replace(/\$\(/g, "\\$(");
}

/** Items of the quick pick the status bar item opens. */
export interface MenuItem {
  label: string;
  description?: string;
  detail?: string;
  command?: string;
}

export function statusMenu(status: MirrordStatus | undefined, server: ServerState): MenuItem[] {
  const items: MenuItem[] = [];
  if (server.kind === "stopped" || server.kind === "missing") {
    items.push({ label: "$(error) mirrord-ls is not running", detail: server.reason });
  } else if (status !== undefined) {
    const facts = [
      status.context !== undefined ? `context ${status.context}` : undefined,
      status.server,
      status.operator !== undefined ? `verdict ${status.operator}` : undefined,
      status.checkedAt !== undefined ? `checked ${status.checkedAt}` : undefined,
    ].filter((x): x is string => x !== undefined);
    items.push({ label: `${ICONS[status.health]} ${status.message || status.health}`, detail: facts.join(" · ") || undefined });
  }
  items.push(
    { label: "$(refresh) Re-check the cluster", command: COMMANDS.recheck },
    { label: "$(arrow-swap) Switch context…", command: COMMANDS.switchContext },
    { label: "$(output) Show output", command: COMMANDS.showOutput },
    { label: "$(debug-restart) Restart server", command: COMMANDS.restartServer },
  );
  return items;
}
