/**
 * Finding the mirrord-ls server to start.
 *
 * Pure: the file system is reached only through `env.isExecutableFile`, so
 * tests describe a machine with a few paths. Order of preference:
 * `mirrordLs.server.path` (an executable, run as `<path> serve`), then
 * `mirrordLs.server.python` (run as `<python> -m mirrord_ls serve`), then
 * `mirrord-ls` on PATH. A setting that names something missing is an error
 * of its own: silently starting some other server would hide the typo.
 */
import * as path from "node:path";

import { INSTALL_URL } from "./constants";

export interface DiscoveryEnv {
  /** The PATH environment variable. */
  pathEnv: string | undefined;
  /** PATHEXT on Windows. */
  pathExtEnv?: string | undefined;
  platform: NodeJS.Platform;
  homeDir: string;
  /** First workspace folder: relative paths in settings are resolved against it. */
  workspaceFolder?: string | undefined;
  isExecutableFile(file: string): boolean;
}

export type ServerSource = "mirrordLs.server.path" | "mirrordLs.server.python" | "PATH";

export type Discovery =
  | { kind: "found"; command: string; args: string[]; source: ServerSource }
  | { kind: "missing"; message: string };

export const SERVER_EXECUTABLE = "mirrord-ls";
export const SERVE_ARGS: readonly string[] = ["serve"];
export const PYTHON_ARGS: readonly string[] = ["-m", "mirrord_ls", "serve"];

export function findServer(settings: { serverPath: string; serverPython: string }, env: DiscoveryEnv): Discovery {
  if (settings.serverPath) {
    const file = resolveSettingPath(settings.serverPath, env);
    if (env.isExecutableFile(file)) {
      return { kind: "found", command: file, args: [...SERVE_ARGS], source: "mirrordLs.server.path" };
    }
    return {
      kind: "missing",
      message: `mirrordLs.server.path is set to ${JSON.stringify(settings.serverPath)}, but ${file} is not an executable file. Fix the setting, or clear it to use mirrord-ls from PATH.`,
    };
  }

  if (settings.serverPython) {
    const looksLikePath = settings.serverPython.includes("/") || settings.serverPython.includes("\\") || settings.serverPython.startsWith("~");
    const python = looksLikePath ? resolveSettingPath(settings.serverPython, env) : which(settings.serverPython, env);
    if (python !== undefined && env.isExecutableFile(python)) {
      return { kind: "found", command: python, args: [...PYTHON_ARGS], source: "mirrordLs.server.python" };
    }
    return {
      kind: "missing",
      message: `mirrordLs.server.python is set to ${JSON.stringify(settings.serverPython)}, but no such Python interpreter was found. Fix the setting, or clear it to use mirrord-ls from PATH.`,
    };
  }

  const onPath = which(SERVER_EXECUTABLE, env);
  if (onPath !== undefined) {
    return { kind: "found", command: onPath, args: [...SERVE_ARGS], source: "PATH" };
  }
  return {
    kind: "missing",
    message: `The mirrord-ls language server was not found on PATH. Install it with \`pip install mirrord-ls\` (see ${INSTALL_URL}), or set mirrordLs.server.path to the mirrord-ls executable.`,
  };
}

/** Expands `~` and `${userHome}`, and resolves a relative path against the workspace folder. */
export function resolveSettingPath(value: string, env: DiscoveryEnv): string {
  const p = env.platform === "win32" ? path.win32 : path.posix;
  let v = value.replace(/\$\{userHome\}/g, env.homeDir);
  if (env.workspaceFolder !== undefined) {
    v = v.replace(/\$\{workspaceFolder\}/g, env.workspaceFolder);
  }
  if (v === "~" || v.startsWith("~/") || v.startsWith("~\\")) {
    v = p.join(env.homeDir, v.slice(1));
  }
  if (!p.isAbsolute(v) && env.workspaceFolder !== undefined) {
    v = p.resolve(env.workspaceFolder, v);
  }
  return p.normalize(v);
}

/** The first executable called `name` on PATH, like `command -v`. */
export function which(name: string, env: DiscoveryEnv): string | undefined {
  const win = env.platform === "win32";
  const p = win ? path.win32 : path.posix;
  const dirs = (env.pathEnv ?? "").split(win ? ";" : ":").filter((d) => d.length > 0);
  const exts = win ? ["", ...(env.pathExtEnv ?? ".EXE;.CMD;.BAT;.COM").split(";").filter((e) => e.length > 0)] : [""];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = p.join(dir, name + ext);
      if (env.isExecutableFile(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}
