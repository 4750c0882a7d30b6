"""Hover text from cluster facts: the operator verdict, the context's server and user.

No token, key or certificate is ever part of these facts, so none can show.
"""

from __future__ import annotations

from typing import Any

from mirrord_ls.features.operator_hover import operator_lines, target_lines
from mirrord_ls.features.status import SHORT


def cluster_hover(path: tuple[Any, ...], facts: Any) -> str | None:
    key = path[0] if path else None
    if key == "operator":
        verdict = facts.verdict
        if verdict is None:
            if facts.operator_setting is False:
                return "**Operator:** off (`operator: false`): mirrord runs in open-source mode."
            return None
        lines = [f"**Operator: {SHORT.get(verdict.kind, verdict.kind)}** — {verdict.detail}"]
        info = verdict.operator
        path_lines = operator_lines(getattr(facts, "operator_path", None))
        lines += path_lines
        if info is not None and not path_lines:
            if info.version:
                lines.append(f"- version: {info.version}")
            if info.license_name or info.license_organization:
                holder = info.license_organization or info.license_name
                lines.append(
                    f"- licence: {holder}"
                    + (f", expires {info.license_expires}" if info.license_expires else "")
                )
            if info.default_namespace:
                lines.append(f"- default namespace: {info.default_namespace}")
        if verdict.missing:
            lines.append(f"- missing permission: `{verdict.missing}`")
        lines.append(
            f"- context `{facts.context}` ({facts.server}), checked"
            f" {verdict.checked_at.isoformat(timespec='seconds')}, {verdict.requests} request(s)"
        )
        return "\n".join(lines)
    if key == "kube_context" and facts.context:
        return (
            f"**Context `{facts.context}`**\n\n- server: {facts.server}\n- user: {facts.user}\n"
            f"- namespace: {facts.namespace}"
        )
    if key == "target" and getattr(facts, "target", None) is not None:
        target = facts.target
        lookup = facts.target_lookup
        lines = [f"**Target `{target.display}`** ({target.kind})"]
        if lookup is None:
            lines.append("- not checked in the cluster yet")
        else:
            lines.append(f"- namespace: {lookup.namespace}")
            exists = {
                "found": "exists",
                "not-found": "does not exist",
                "container-not-found": "exists, but not that container",
                "forbidden": "unknown: you may not read it",
                "error": "unknown: the cluster did not answer",
            }[lookup.kind]
            lines.append(f"- {exists}")
            if lookup.containers:
                lines.append(f"- containers: {', '.join(lookup.containers)}")
            if lookup.ready:
                lines.append(f"- {lookup.ready}")
        if target.needs_operator:
            lines.append("- needs the mirrord operator")
        lines += target_lines(getattr(facts, "operator_path", None))
        return "\n".join(lines)
    if key == "kubeconfig":
        files = "\n".join(f"- `{p}`" for p in facts.kubeconfig_files)
        return f"**Kubeconfig** (from {facts.kubeconfig_origin}):\n\n{files}"
    return None
