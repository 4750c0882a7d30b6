/**
 * "Copy the RoleBinding for your admin" (the quick fix on `operator-forbidden`):
 * the server's `mirrord-ls.roleBinding` command answers with the YAML; the
 * extension puts it on the clipboard and offers to open it, instead of opening
 * a file unasked. No `vscode` import here, so unit tests can load it.
 */

export const ROLE_BINDING_COMMAND = "mirrord-ls.roleBinding";
/** The file the server writes the YAML to (its cache folder); see features/role_binding.py. */
export const ROLE_BINDING_FILE = "mirrord-operator-user-binding.yaml";
export const OPEN_ACTION = "Open it";

export type RoleBinding = { yaml: string; user: string; path?: string };
export type RoleBindingAnswer = { kind: "binding"; binding: RoleBinding } | { kind: "error"; message: string };

/** Reads the server's answer: `{yaml, user, path?}` or `{error}`. */
export function parseRoleBinding(result: unknown): RoleBindingAnswer {
  if (typeof result !== "object" || result === null) {
    return { kind: "error", message: "the server gave no RoleBinding" };
  }
  const r = result as Record<string, unknown>;
  if (typeof r.yaml === "string" && r.yaml.trim() !== "") {
    return {
      kind: "binding",
      binding: {
        yaml: r.yaml,
        user: typeof r.user === "string" && r.user ? r.user : "you",
        path: typeof r.path === "string" && r.path ? r.path : undefined,
      },
    };
  }
  return { kind: "error", message: typeof r.error === "string" ? r.error : "the server gave no RoleBinding" };
}

/** The message shown once the YAML is on the clipboard. */
export function copiedMessage(binding: RoleBinding): string {
  return `mirrord-ls: the ClusterRoleBinding for ${binding.user} is on the clipboard; send it to your cluster admin, who applies it with kubectl apply -f.`;
}

/** Is `uri` the file the server writes the YAML to? */
export function isRoleBindingFile(uri: string): boolean {
  return uri.endsWith(`/${ROLE_BINDING_FILE}`);
}
