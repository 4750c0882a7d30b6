/** Names shared by the extension's modules; no `vscode` import, so unit tests can load it. */

/** Where the README explains how to install the server. One place, so it is easy to change. */
export const INSTALL_URL = "https://github.com/metalbear-co/mirrord-ls#install";

/** The official mirrord extension; it validates `*mirrord.json` through VS Code's JSON service. */
export const OFFICIAL_EXTENSION_ID = "MetalBear.mirrord";

/** Settings section, also the language client id (so the client reads `mirrordLs.trace.server`). */
export const SECTION = "mirrordLs";

export const OUTPUT_NAME = "mirrord-ls";

/** Where mirrord looks for configs: in every case JSON, TOML or YAML. */
export const CONFIG_GLOBS = [
  "**/.mirrord/*.{json,toml,yaml,yml}",
  "**/*mirrord.{json,toml,yaml,yml}",
  "**/*.mirrord/*.{json,toml,yaml,yml}",
] as const;

/** Custom protocol shared with the server: typed in protocol.ts. */
export { ACTIVE_DOCUMENT_NOTIFICATION, SERVER_COMMANDS, STATUS_NOTIFICATION } from "./protocol";

/** VS Code commands contributed by this extension. */
export const COMMANDS = {
  recheck: "mirrordLs.recheck",
  restartServer: "mirrordLs.restartServer",
  showOutput: "mirrordLs.showOutput",
  switchContext: "mirrordLs.switchContext",
  showStatus: "mirrordLs.showStatus",
} as const;
