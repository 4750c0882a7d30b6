"""Discovery documents shaped as kube-apiserver writes them.

Legacy discovery: `/api` (APIVersions), `/api/v1` and `/apis/G/V`
(APIResourceList), `/apis` (APIGroupList), `/apis/G` (APIGroup).

Aggregated discovery (apidiscovery.k8s.io/v2), which kubectl 1.26+ asks for
on `/api` and `/apis` through the Accept header: one document with every
group, version and resource. A group version whose aggregated APIService is
down is listed with `freshness: Stale`, as the aggregator does, so clients
report it instead of silently missing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mirrord_ls.loopback.resources import ResourceType, group_versions

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

VERSION_INFO: dict[str, str] = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def wants_aggregated(accept: str) -> bool:
    """True when the Accept header asks for apidiscovery.k8s.io/v2 before plain JSON."""
    for media in accept.split(","):
        params = {p.strip() for p in media.split(";")[1:]}
        if {"g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"} <= params:
            return True
        if media.split(";")[0].strip() in ("application/json", "*/*"):
            return False
    return False


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _gv(group: str, version: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/{version}", "version": version}


def api_group(group: str, versions: Sequence[str]) -> dict[str, Any]:
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": [_gv(group, v) for v in versions],
        "preferredVersion": _gv(group, versions[0]),
    }


def api_group_list(resources: Iterable[ResourceType]) -> dict[str, Any]:
    groups = [
        {k: v for k, v in api_group(g, vs).items() if k not in ("kind", "apiVersion")}
        for g, vs in group_versions(resources).items()
        if g
    ]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _resource_entry(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.name,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def api_resource_list(
    group: str, version: str, resources: Iterable[ResourceType]
) -> dict[str, Any]:
    """`/api/v1` or `/apis/G/V`. The core list has no apiVersion, as the real one."""
    doc: dict[str, Any] = {"kind": "APIResourceList"}
    if group:
        doc["apiVersion"] = "v1"
    doc["groupVersion"] = f"{group}/{version}" if group else version
    doc["resources"] = [
        _resource_entry(rt) for rt in resources if rt.group == group and rt.version == version
    ]
    return doc


def _aggregated_resources(group: str, version: str, resources: Sequence[ResourceType]) -> list[Any]:
    mine = [rt for rt in resources if rt.group == group and rt.version == version]
    out: list[dict[str, Any]] = []
    for rt in mine:
        if rt.is_subresource:
            continue
        entry: dict[str, Any] = {
            "resource": rt.name,
            "responseKind": {"group": group, "version": version, "kind": rt.kind},
            "scope": "Namespaced" if rt.namespaced else "Cluster",
            "singularResource": rt.singular,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        subs = [
            {
                "subresource": s.subresource,
                "responseKind": {"group": group, "version": version, "kind": s.kind},
                "verbs": list(s.verbs),
            }
            for s in mine
            if s.is_subresource and s.plural == rt.name
        ]
        if subs:
            entry["subresources"] = subs
        out.append(entry)
    return out


def aggregated(
    resources: Sequence[ResourceType], *, core: bool, stale_groups: Iterable[str] = ()
) -> dict[str, Any]:
    """The APIGroupDiscoveryList for `/api` (core=True) or `/apis`."""
    stale = set(stale_groups)
    items = []
    for group, versions in group_versions(resources).items():
        if bool(group) == core:
            continue
        metadata: dict[str, Any] = {"creationTimestamp": None}
        if group:
            metadata["name"] = group
        items.append(
            {
                "metadata": metadata,
                "versions": [
                    {
                        "version": v,
                        # A stale version keeps no resources: the aggregator could not ask.
                        "resources": []
                        if group in stale
                        else _aggregated_resources(group, v, resources),
                        "freshness": "Stale" if group in stale else "Current",
                    }
                    for v in versions
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
