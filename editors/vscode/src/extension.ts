/**
 * Entry point of the mirrord-ls VS Code extension: creates the output
 * channel, the status bar item and the server manager, and registers the
 * `mirrordLs.*` commands.
 */
import * as vscode from "vscode";

import { COMMANDS, OUTPUT_NAME, SECTION, SERVER_COMMANDS } from "./constants";
import { contextsOf } from "./protocol";
import { ServerManager } from "./server";
import { RESTART_KEYS } from "./settings";
import { statusMenu } from "./status";
import { StatusBar } from "./statusBar";

let manager: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel(OUTPUT_NAME, { log: true });
  const bar = new StatusBar();
  const mgr = new ServerManager(output, bar);
  manager = mgr;
  context.subscriptions.push(output, bar);

  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.restartServer, () => mgr.restart()),
    vscode.commands.registerCommand(COMMANDS.showOutput, () => output.show(true)),
    vscode.commands.registerCommand(COMMANDS.recheck, async () => {
      const uri = mgr.focusedConfig();
      await mgr.executeServerCommand(SERVER_COMMANDS.recheck, uri === undefined ? [] : [{ uri }], "re-check the cluster");
    }),
    vscode.commands.registerCommand(COMMANDS.switchContext, () => switchContext(mgr)),
    vscode.commands.registerCommand(COMMANDS.showStatus, () => showStatusMenu(mgr)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_KEYS.some((key) => e.affectsConfiguration(`${SECTION}.${key}`))) {
        output.info("server settings changed; restarting the server");
        void mgr.restart();
      } else if (e.affectsConfiguration(SECTION)) {
        mgr.render();
      }
    }),
    // The server holds back what depends on trust (kubeconfigs named by the
    // workspace); a new start tells it the workspace is trusted now.
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      output.info("workspace trusted; restarting the server");
      void mgr.restart({ quiet: true });
    }),
  );

  await mgr.restart();
}

export async function deactivate(): Promise<void> {
  await manager?.dispose();
  manager = undefined;
}

async function showStatusMenu(mgr: ServerManager): Promise<void> {
  const items = statusMenu(mgr.currentStatus, mgr.serverState).map((item) => ({
    label: item.label,
    description: item.description,
    detail: item.detail,
    command: item.command,
  }));
  const picked = await vscode.window.showQuickPick(items, { title: "mirrord-ls", placeHolder: "mirrord-ls status and actions" });
  if (picked?.command !== undefined) {
    await vscode.commands.executeCommand(picked.command);
  }
}

async function switchContext(mgr: ServerManager): Promise<void> {
  const uri = mgr.focusedConfig();
  if (uri === undefined) {
    void vscode.window.showInformationMessage("Open a mirrord config file to switch its Kubernetes context.");
    return;
  }
  const result = await mgr.executeServerCommand(SERVER_COMMANDS.showStatus, [{ uri }], "list the kubeconfig contexts");
  if (result === undefined) {
    return;
  }
  const contexts = contextsOf(result);
  if (contexts.length === 0) {
    void vscode.window.showInformationMessage("mirrord-ls found no contexts in your kubeconfig.");
    return;
  }
  const current = mgr.currentStatus?.context;
  const picked = await vscode.window.showQuickPick(
    contexts.map((c) => ({ label: c, description: c === current ? "current" : undefined })),
    { title: "Kubernetes context for this mirrord config", placeHolder: "The config's kube_context is set to the context you pick" },
  );
  if (picked === undefined) {
    return;
  }
  await mgr.executeServerCommand(SERVER_COMMANDS.switchContext, [{ uri, context: picked.label }], "switch the context");
}

