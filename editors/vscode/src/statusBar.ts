/** The status bar item: copies `renderStatus`'s view onto a `vscode.StatusBarItem`. */
import * as vscode from "vscode";

import { TRUSTED_COMMANDS, renderStatus, type StatusInput } from "./status";

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("mirrordLs.status", vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = "mirrord-ls";
  }

  update(input: StatusInput): void {
    const view = renderStatus(input);
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip, true);
    tooltip.isTrusted = { enabledCommands: [...TRUSTED_COMMANDS] };
    tooltip.supportHtml = false;
    this.item.tooltip = tooltip;
    this.item.command = view.command;
    this.item.backgroundColor =
      view.background === undefined ? undefined : new vscode.ThemeColor(`statusBarItem.${view.background}Background`);
    if (view.visible) {
      this.item.show();
    } else {
      this.item.hide();
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
