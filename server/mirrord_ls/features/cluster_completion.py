"""Completion of values the cluster knows: kube contexts, targets by kind, containers, namespaces.

Answers from cache at once. A cold answer never blocks typing: it waits a
few tens of milliseconds for the cluster, then returns what is known with
`isIncomplete` set, and the fetch goes on so the next keystroke has it.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import TYPE_CHECKING

from mirrord_ls.cluster.targets import Listing
from mirrord_ls.config.files import Format
from mirrord_ls.config.targets import KIND_ALIASES
from mirrord_ls.features.completion import CursorContext, Item

if TYPE_CHECKING:
    from mirrord_ls.cluster.service import ClusterFacts, ClusterService
    from mirrord_ls.tasks import Tasks

COLD_WAIT = 0.04
CLUSTER_VALUE_PATHS = frozenset(
    {
        ("kube_context",),
        ("target",),
        ("target", "path"),
        ("target", "namespace"),
        ("agent", "namespace"),
    }
)
KIND_PREFIXES = (
    "deployment/",
    "pod/",
    "rollout/",
    "statefulset/",
    "job/",
    "cronjob/",
    "service/",
    "replicaset/",
    "label/",
)


def _insert(value: str, fmt: Format, quoted: bool) -> str:
    if quoted or fmt == "yaml":
        return value
    return json.dumps(value)


def _problem_item(problem: str, ctx: CursorContext) -> Item:
    # One explanatory item instead of an empty list.
    return Item(f"(cluster: {problem})", "", "value", problem, None, ctx.start)


async def _listing(
    service: ClusterService, tasks: Tasks, facts: ClusterFacts, kind: str, namespace: str
) -> tuple[Listing | None, bool]:
    assert facts.identity is not None and facts.resolved is not None and facts.trust is not None
    cached = service.cached_listing(facts.identity, kind, namespace)
    if cached is not None:
        return cached, False
    task = tasks.start(
        service.listing(facts.resolved, kind, namespace, facts.trust, dict(os.environ)),
        f"list:{kind}:{namespace}",
    )
    try:
        return await asyncio.wait_for(asyncio.shield(task), COLD_WAIT), False
    except TimeoutError:
        return None, True


async def cluster_values(
    service: ClusterService,
    tasks: Tasks,
    facts: ClusterFacts | None,
    fmt: Format,
    ctx: CursorContext,
) -> tuple[list[Item], bool]:
    """Values the cluster knows for the field at the cursor, and whether more may come.

    `facts` None: the cluster check of this text has not answered yet, so the list is
    incomplete (the editor asks again as the user types)."""
    path = ctx.path
    if facts is None:
        return [], path in CLUSTER_VALUE_PATHS
    if path == ("kube_context",):
        contexts = list(facts.contexts)
        return [
            Item(c, _insert(c, fmt, ctx.quoted), "value", "kube context", None, ctx.start)
            for c in contexts
        ], False
    if facts.resolved is None or facts.trust is None:
        return [], False
    namespace = facts.resolved.namespace or "default"
    target = facts.target
    if target is not None and target.namespace:
        namespace = target.namespace
    if path in (("target", "namespace"), ("agent", "namespace")):
        listing, incomplete = await _listing(service, tasks, facts, "namespace", "")
        if listing is None:
            return [], incomplete
        if listing.problem:
            return [_problem_item(listing.problem, ctx)], False
        return [
            Item(n, _insert(n, fmt, ctx.quoted), "value", "namespace", None, ctx.start)
            for n in listing.names
        ], False
    if path not in (("target",), ("target", "path")):
        return [], False
    typed = ctx.prefix
    if "/" not in typed:
        items = [
            Item(k, _insert(k, fmt, ctx.quoted), "value", "target kind", None, ctx.start)
            for k in KIND_PREFIXES
        ]
        items.append(
            Item(
                "targetless",
                _insert("targetless", fmt, ctx.quoted),
                "value",
                "no target",
                None,
                ctx.start,
            )
        )
        return items, True  # the list changes once a kind is typed
    kind_word, _, rest = typed.partition("/")
    kind = KIND_ALIASES.get(kind_word)
    if kind is None or kind == "label":
        return [], False
    listing, incomplete = await _listing(service, tasks, facts, kind, namespace)
    if listing is None:
        return [], incomplete
    if listing.problem:
        return [_problem_item(listing.problem, ctx)], False
    name, sep, _ = rest.partition("/container/")
    items = []
    if sep:
        for container in listing.extra.get(name, ()):
            value = f"{kind_word}/{name}/container/{container}"
            items.append(
                Item(value, _insert(value, fmt, ctx.quoted), "value", "container", None, ctx.start)
            )
        return items, False
    for workload in listing.names:
        value = f"{kind_word}/{workload}"
        detail = f"{kind} in {namespace}"
        containers = listing.extra.get(workload, ())
        doc = f"containers: {', '.join(containers)}" if containers else None
        items.append(Item(value, _insert(value, fmt, ctx.quoted), "value", detail, doc, ctx.start))
    return items, False
