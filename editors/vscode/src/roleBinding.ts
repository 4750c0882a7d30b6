/**
 * The RBAC fixes for an admin, as quick fixes: "Copy the RoleBinding for your
 * admin" on `operator-forbidden` (`mirrord-ls.roleBinding`: a ClusterRoleBinding
 * to `mirrord-operator-user`) and the Role and RoleBinding mirrord's agent needs
 * on `agent-forbidden` (`mirrord-ls.agentRole`). The server answers with the YAML;
 * the extension puts it on the clipboard and offers to open it, instead of
 * opening a file unasked. No `vscode` import here, so unit tests can load it.
 */

export const ROLE_BINDING_COMMAND = "mirrord-ls.roleBinding";
export const AGENT_ROLE_COMMAND = "mirrord-ls.agentRole";
/** The commands whose answer is YAML for an admin. */
export const ADMIN_FIX_COMMANDS: readonly string[] = [ROLE_BINDING_COMMAND, AGENT_ROLE_COMMAND];
/** The file the server writes the YAML to (its cache folder); see features/role_binding.py. */
export const ROLE_BINDING_FILE = "mirrord-operator-user-binding.yaml";
/** features/agent_role.py: `mirrord-agent-role-<namespace>-<user>.yaml` in the same folder. */
const AGENT_ROLE_FILE = /\/mirrord-agent-role-[a-z0-9-]+\.yaml$/;
export const OPEN_ACTION = "Open it";

export type RoleBinding = {
  yaml: string;
  user: string;
  path?: string;
  /** Set for the agent's Role: the namespace it is for. */
  namespace?: string;
};
export type RoleBindingAnswer = { kind: "binding"; binding: RoleBinding } | { kind: "error"; message: string };

/** Reads the server's answer: `{yaml, user, path?, namespace?}` or `{error}`. */
export function parseRoleBinding(result: unknown, command: string = ROLE_BINDING_COMMAND): RoleBindingAnswer {
  const none = command === AGENT_ROLE_COMMAND ? "the server gave no Role" : "the server gave no RoleBinding";
  if (typeof result !== "object" || result === null) {
    return { kind: "error", message: none };
  }
  const r = result as Record<string, unknown>;
  if (typeof r.yaml === "string" && r.yaml.trim() !== "") {
    const binding: RoleBinding = {
      yaml: r.yaml,
      user: typeof r.user === "string" && r.user ? r.user : "you",
      path: typeof r.path === "string" && r.path ? r.path : undefined,
    };
    if (command === AGENT_ROLE_COMMAND) {
      binding.namespace = typeof r.namespace === "string" && r.namespace ? r.namespace : "its namespace";
    }
    return { kind: "binding", binding };
  }
  return { kind: "error", message: typeof r.error === "string" ? r.error : none };
}

/** The message shown once the YAML is on the clipboard. */
export function copiedMessage(binding: RoleBinding): string {
  if (binding.namespace !== undefined) {
    return `mirrord-ls: the Role and RoleBinding mirrord's agent needs in namespace ${binding.namespace}, for ${binding.user}, are on the clipboard; send them to an admin of that namespace, who applies them with kubectl apply -f.`;
  }
  return `mirrord-ls: the ClusterRoleBinding for ${binding.user} is on the clipboard; send it to your cluster admin, who applies it with kubectl apply -f.`;
}

/** Is `uri` a file the server writes such YAML to? */
export function isRoleBindingFile(uri: string): boolean {
  return uri.endsWith(`/${ROLE_BINDING_FILE}`) || AGENT_ROLE_FILE.test(uri);
}
