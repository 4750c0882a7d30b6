/**
 * The language client's error handler: restart a crashed server a few times,
 * then stop and tell the user once, instead of the client's own loop of
 * notifications. The counting is in `restartPolicy.ts` (pure).
 */
import { CloseAction, ErrorAction, type CloseHandlerResult, type ErrorHandler, type ErrorHandlerResult, type Message } from "vscode-languageclient/node";

import type { RestartPolicy } from "./restartPolicy";

export class CappedErrorHandler implements ErrorHandler {
  constructor(
    private readonly policy: RestartPolicy,
    /** Called once when the handler gives up; the caller tells the user. */
    private readonly gaveUp: (reason: string) => void,
    private readonly log: (line: string) => void,
  ) {}

  error(error: Error, _message: Message | undefined, count: number | undefined): ErrorHandlerResult {
    // Errors writing to or reading from the server: a few are survivable
    // (the connection closes if not, and `closed` decides).
    this.log(`connection error (${count ?? 0}): ${error.message}`);
    if (count !== undefined && count <= 3) {
      return { action: ErrorAction.Continue, handled: true };
    }
    return { action: ErrorAction.Shutdown, handled: true };
  }

  closed(): CloseHandlerResult {
    if (this.policy.crashed()) {
      this.log(`the server exited; restarting it (${this.policy.recentCrashes} of ${this.policy.maxRestarts} restarts allowed)`);
      return { action: CloseAction.Restart, handled: true };
    }
    const minutes = Math.round(this.policy.windowMs / 60_000);
    const reason = `The mirrord-ls server stopped ${this.policy.recentCrashes} times in ${minutes} minutes and will not be restarted automatically.`;
    this.gaveUp(reason);
    return { action: CloseAction.DoNotRestart, handled: true };
  }
}
