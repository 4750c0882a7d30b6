/**
 * Starting, restarting and talking to the mirrord-ls server.
 *
 * Serves the custom protocol: `mirrord/status` (server → client, drives the
 * status bar), `mirrord/activeDocument` (client → server), the
 * `experimental.mirrordStatus` client capability, and the server's
 * `mirrord-ls.*` commands through `workspace/executeCommand`.
 *
 * Failures (server missing, crashing, hanging) are told to the user once per
 * start, with a Restart button; the client never restarts the server in a loop.
 */
import * as fs from "node:fs";
import * as os from "node:os";

import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  ResponseError,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type ClientCapabilities,
  type FeatureState,
  type LanguageClientOptions,
  type ServerOptions,
  type StaticFeature,
} from "vscode-languageclient/node";

import {
  ACTIVE_DOCUMENT_NOTIFICATION,
  CONFIG_GLOBS,
  INSTALL_URL,
  OFFICIAL_EXTENSION_ID,
  OUTPUT_NAME,
  SECTION,
  STATUS_NOTIFICATION,
} from "./constants";
import { CappedErrorHandler } from "./errorHandler";
import { RestartPolicy } from "./restartPolicy";
import { LOG_LEVEL_NOTIFICATION, activeDocumentParams, logLevelParams } from "./protocol";
import { ADMIN_FIX_COMMANDS, OPEN_ACTION, copiedMessage, isRoleBindingFile, parseRoleBinding } from "./roleBinding";
import { findServer, type DiscoveryEnv } from "./serverCommand";
import { augmentSection, initializationOptions, readSettings, type Settings } from "./settings";
import { parseStatus, type MirrordStatus, type ServerState } from "./status";
import type { StatusBar } from "./statusBar";

/** How long the server may take to answer `initialize`. */
const START_TIMEOUT_MS = 30_000;
/** Margin on top of the cluster timeout for commands that ask the cluster. */
const COMMAND_MARGIN_MS = 15_000;

export const DOCUMENT_SELECTOR: { scheme: string; pattern: string }[] = CONFIG_GLOBS.map((pattern) => ({ scheme: "file", pattern }));

/** Tells the server that this client understands `mirrord/status`. */
class MirrordStatusFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.experimental = { ...(capabilities.experimental as object | undefined), mirrordStatus: true };
  }
  initialize(): void {}
  getState(): FeatureState {
    return { kind: "static" };
  }
  clear(): void {}
}

/**
 * The client, minus its own notifications when the server cannot be
 * (re)started: those go to `onStartFailure`, so `ServerManager` says it
 * once, with advice, instead of one toast per attempt.
 */
class MirrordLanguageClient extends LanguageClient {
  onStartFailure: ((message: string) => void) | undefined;

  override error(message: string, data?: unknown, showNotification: boolean | "force" = true): void {
    const startFailure = message.includes("couldn't create connection to server") || message.startsWith("Restarting server failed");
    super.error(message, data, startFailure ? false : showNotification);
    if (startFailure) {
      this.onStartFailure?.(data instanceof Error ? data.message : message);
    }
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    fs.accessSync(file, process.platform === "win32" ? fs.constants.F_OK : fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function officialExtensionInstalled(): boolean {
  return vscode.extensions.getExtension(OFFICIAL_EXTENSION_ID) !== undefined;
}

export function currentSettings(log?: vscode.LogOutputChannel): Settings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const { settings, problems } = readSettings((key) => config.get(key));
  for (const problem of problems) {
    log?.warn(problem);
  }
  return settings;
}

export class ServerManager implements vscode.Disposable {
  private client: MirrordLanguageClient | undefined;
  private status: MirrordStatus | undefined;
  private state: ServerState = { kind: "starting" };
  /** Bumped on every (re)start so late events of an old client are ignored. */
  private generation = 0;
  /** The user was told about a failure since the last start: say it once. */
  private told = false;
  /** A failure message is on screen, not yet answered or dismissed. */
  private showing = false;
  private official = officialExtensionInstalled();
  private queue: Promise<void> = Promise.resolve();
  /** `mirrord-ls.roleBinding` commands waiting for the server's answer. */
  private roleBindingsInFlight = 0;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly output: vscode.LogOutputChannel,
    private readonly bar: StatusBar,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((editor) => this.sendActiveDocument(editor)),
      vscode.workspace.onDidOpenTextDocument(() => this.render()),
      vscode.workspace.onDidCloseTextDocument(() => this.render()),
      vscode.extensions.onDidChange(() => this.officialExtensionChanged()),
      // The server's log follows the level chosen for this output channel.
      output.onDidChangeLogLevel((level) => this.sendLogLevel(level)),
    );
  }

  get currentStatus(): MirrordStatus | undefined {
    return this.status;
  }

  get serverState(): ServerState {
    return this.state;
  }

  /**
   * Starts the server (stopping any running one first); a new binary on disk
   * is picked up. `quiet`: a restart the user did not ask for (workspace
   * trust granted), which must not repeat a failure message already shown.
   */
  restart(options: { quiet?: boolean } = {}): Promise<void> {
    const run = () => this.doRestart(options.quiet === true);
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  private async doRestart(quiet: boolean): Promise<void> {
    const generation = ++this.generation;
    if (!quiet) {
      this.told = false;
    }
    this.status = undefined;
    await this.stopClient();
    await this.start(generation);
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      if (client.state !== State.Stopped) {
        await client.stop(2000);
      }
    } catch (e) {
      this.output.warn(`stopping the server: ${String(e)}`);
    }
  }

  private async start(generation: number): Promise<void> {
    const settings = currentSettings(this.output);
    const env: DiscoveryEnv = {
      pathEnv: process.env.PATH,
      pathExtEnv: process.env.PATHEXT,
      platform: process.platform,
      homeDir: os.homedir(),
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      isExecutableFile,
    };
    const found = findServer(settings, env);
    if (found.kind === "missing") {
      this.fail({ kind: "missing", reason: found.message });
      return;
    }
    this.output.info(`starting ${found.command} ${found.args.join(" ")} (from ${found.source})`);

    const serverOptions: ServerOptions = {
      command: found.command,
      args: found.args,
      transport: TransportKind.stdio,
    };
    const policy = new RestartPolicy();
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: initializationOptions(vscode.workspace.isTrusted, this.official),
      synchronize: { configurationSection: SECTION },
      errorHandler: new CappedErrorHandler(
        policy,
        (reason) => {
          if (generation === this.generation) {
            this.fail({ kind: "stopped", reason });
          }
        },
        (line) => this.output.warn(line),
      ),
      initializationFailedHandler: (error) => {
        this.output.error(`the server failed to initialize: ${String(error)}`);
        return false;
      },
      middleware: {
        executeCommand: async (command, args, next) => {
          if (!ADMIN_FIX_COMMANDS.includes(command)) {
            return next(command, args) as unknown;
          }
          this.roleBindingsInFlight += 1;
          try {
            const result: unknown = await next(command, args);
            await this.deliverRoleBinding(result, command);
            return result;
          } finally {
            this.roleBindingsInFlight -= 1;
          }
        },
        window: {
          // The server opens the RoleBinding file with window/showDocument; this
          // extension offers to open it instead (deliverRoleBinding), so the user's
          // editor is not taken over by a file they did not ask to see.
          showDocument: async (params, next) => {
            if (this.roleBindingsInFlight > 0 && isRoleBindingFile(params.uri)) {
              return { success: true };
            }
            const shown = await next(params, new vscode.CancellationTokenSource().token);
            return shown instanceof ResponseError ? { success: false } : shown;
          },
        },
        workspace: {
          configuration: async (params, token, next): Promise<unknown[] | ResponseError> => {
            const result: unknown = await next(params, token);
            if (result instanceof ResponseError || !Array.isArray(result)) {
              return result instanceof ResponseError ? result : [];
            }
            return (result as unknown[]).map((value, i) =>
              params.items[i]?.section === SECTION ? augmentSection(value, this.official) : value,
            );
          },
        },
      },
    };

    const client = new MirrordLanguageClient(SECTION, OUTPUT_NAME, serverOptions, clientOptions);
    client.registerFeature(new MirrordStatusFeature());
    client.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      if (generation !== this.generation) {
        return;
      }
      const status = parseStatus(params);
      if (status === undefined) {
        this.output.warn(`ignoring a malformed ${STATUS_NOTIFICATION}: ${JSON.stringify(params)}`);
        return;
      }
      this.status = status;
      this.render();
    });
    client.onDidChangeState((e) => {
      if (generation !== this.generation) {
        return;
      }
      if (e.newState === State.Running) {
        this.setState({ kind: "running" });
        this.sendActiveDocument(vscode.window.activeTextEditor);
        this.sendLogLevel(this.output.logLevel);
      } else if (e.newState === State.Starting) {
        this.setState({ kind: "starting" });
      }
    });
    client.onStartFailure = (detail) => {
      if (generation === this.generation && this.state.kind !== "starting") {
        this.fail({ kind: "stopped", reason: `The mirrord-ls server (${found.command}) could not be restarted: ${detail}` });
      }
    };
    this.client = client;
    this.setState({ kind: "starting" });

    try {
      await withTimeout(client.start(), START_TIMEOUT_MS, "Starting the mirrord-ls server");
    } catch (e) {
      if (generation !== this.generation) {
        return;
      }
      const hung = e instanceof TimeoutError;
      const reason = hung
        ? `The mirrord-ls server (${found.command}) did not answer within ${START_TIMEOUT_MS / 1000} s; it may be hung.`
        : `The mirrord-ls server (${found.command}) could not be started: ${e instanceof Error ? e.message : String(e)}`;
      this.fail({ kind: "stopped", reason });
      await this.stopClient();
    }
  }

  /** Runs one of the server's `mirrord-ls.*` commands. */
  async executeServerCommand(command: string, args: unknown[], what: string): Promise<unknown> {
    const client = this.client;
    if (client === undefined || client.state !== State.Running) {
      void this.tell(`The mirrord-ls server is not running, so it cannot ${what}.`, ["Restart", "Show output"]);
      return undefined;
    }
    const timeoutMs = currentSettings().clusterTimeoutSeconds * 1000 + COMMAND_MARGIN_MS;
    try {
      return await withTimeout(client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }), timeoutMs, what);
    } catch (e) {
      if (e instanceof TimeoutError) {
        this.told = false;
        void this.tell(`The mirrord-ls server did not answer within ${Math.round(timeoutMs / 1000)} s (${what}); it may be hung.`, [
          "Restart",
          "Show output",
        ]);
      } else {
        this.output.error(`${command} failed: ${e instanceof Error ? e.message : String(e)}`);
        void vscode.window.showErrorMessage(`mirrord-ls could not ${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
      return undefined;
    }
  }

  /** The mirrord config the user is looking at, else the one the status is about. */
  focusedConfig(): string | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    if (doc !== undefined && vscode.languages.match(DOCUMENT_SELECTOR, doc) > 0) {
      return doc.uri.toString();
    }
    return this.status?.document;
  }

  render(): void {
    const settings = currentSettings();
    const configDocumentOpen = vscode.workspace.textDocuments.some((d) => vscode.languages.match(DOCUMENT_SELECTOR, d) > 0);
    this.bar.update({ status: this.status, server: this.state, enabled: settings.statusBarEnabled, configDocumentOpen });
  }

  private setState(state: ServerState): void {
    this.state = state;
    this.render();
  }

  /** Puts the RoleBinding's YAML on the clipboard and offers to open it (never opens it unasked). */
  private async deliverRoleBinding(result: unknown, command: string): Promise<void> {
    const answer = parseRoleBinding(result, command);
    if (answer.kind === "error") {
      void vscode.window.showWarningMessage(`mirrord-ls: no ${command.endsWith("agentRole") ? "Role" : "RoleBinding"}: ${answer.message}.`);
      return;
    }
    const { binding } = answer;
    await vscode.env.clipboard.writeText(binding.yaml);
    this.output.info(binding.namespace !== undefined ? `the agent's Role for ${binding.user} in ${binding.namespace} is on the clipboard` : `the ClusterRoleBinding for ${binding.user} is on the clipboard`);
    // Not awaited: the message stays until dismissed, the command returns now.
    void vscode.window.showInformationMessage(copiedMessage(binding), OPEN_ACTION).then(async (choice) => {
      if (choice !== OPEN_ACTION) {
        return;
      }
      const document = binding.path
        ? await vscode.workspace.openTextDocument(vscode.Uri.file(binding.path))
        : await vscode.workspace.openTextDocument({ language: "yaml", content: binding.yaml });
      await vscode.window.showTextDocument(document, { preview: false });
    });
  }

  private fail(state: Extract<ServerState, { reason: string }>): void {
    this.output.error(state.reason);
    this.setState(state);
    if (state.kind === "missing") {
      void this.tell(state.reason, ["Installation instructions", "Restart"]);
    } else {
      void this.tell(state.reason, ["Restart", "Show output"]);
    }
  }

  /** One error notification per start; buttons do what they say. */
  private async tell(message: string, buttons: string[]): Promise<void> {
    // Also while an earlier failure message is still on screen: restarts the user did not
    // click for (a settings change) must not stack a second toast on the first.
    if (this.told || this.showing) {
      return;
    }
    this.told = true;
    this.showing = true;
    let choice: string | undefined;
    try {
      choice = await vscode.window.showErrorMessage(message, ...buttons);
    } finally {
      this.showing = false;
    }
    if (choice === "Restart") {
      await this.restart();
    } else if (choice === "Show output") {
      this.output.show(true);
    } else if (choice === "Installation instructions") {
      await vscode.env.openExternal(vscode.Uri.parse(INSTALL_URL));
    }
  }

  private sendActiveDocument(editor: vscode.TextEditor | undefined): void {
    const client = this.client;
    if (client === undefined || client.state !== State.Running) {
      return;
    }
    const scheme = editor?.document.uri.scheme;
    if (editor !== undefined && scheme !== "file" && scheme !== "untitled") {
      return; // output panels and the like are not documents the status could follow
    }
    const params = activeDocumentParams(editor?.document.uri.toString());
    client.sendNotification(ACTIVE_DOCUMENT_NOTIFICATION, params).catch((e: unknown) => {
      this.output.warn(`${ACTIVE_DOCUMENT_NOTIFICATION}: ${String(e)}`);
    });
  }

  private sendLogLevel(level: vscode.LogLevel): void {
    const client = this.client;
    if (client === undefined || client.state !== State.Running) {
      return;
    }
    client.sendNotification(LOG_LEVEL_NOTIFICATION, logLevelParams(level)).catch((e: unknown) => {
      this.output.warn(`${LOG_LEVEL_NOTIFICATION}: ${String(e)}`);
    });
  }

  private officialExtensionChanged(): void {
    const now = officialExtensionInstalled();
    if (now === this.official) {
      return;
    }
    this.official = now;
    this.output.info(`${OFFICIAL_EXTENSION_ID} is ${now ? "installed" : "not installed"} now`);
    const client = this.client;
    if (client?.state === State.Running) {
      // The server pulls the section again, now with `officialExtensionInstalled` updated.
      client.sendNotification(DidChangeConfigurationNotification.type, { settings: null }).catch(() => undefined);
    }
  }

  async dispose(): Promise<void> {
    this.generation++;
    for (const d of this.disposables) {
      d.dispose();
    }
    await this.stopClient();
  }
}
