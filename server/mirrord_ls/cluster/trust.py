"""Workspace trust: which kubeconfigs, programs and config values may reach a cluster.

Opening a repository is not consent to talk to its cluster. A repository can ship a
kubeconfig whose ``server`` is its author's HTTPS endpoint and whose user reads
``tokenFile: ~/.ssh/id_ed25519``; a request would carry that file to the author as a
bearer token. So, unless the workspace is trusted:

* a kubeconfig that comes from the workspace is not used at all (no file it names is read,
  no request is made): :func:`kubeconfig_trust` says which and why, for a finding;
* an exec credential plugin from such a kubeconfig, or from one the workspace's config
  names, is not run (:class:`TrustPolicy`);
* a config value rendered by a template (``{{ get_env(name="AWS_SECRET_ACCESS_KEY") }}``)
  is not sent in any request (:func:`templated_value`).

"The workspace" is every workspace folder plus the folder the config belongs to
(:func:`workspace_root_of`), so a config opened without a folder, or checked by
``mirrord-ls check`` from elsewhere, is judged by where it lives, not by the current
folder. Files under ``~/.kube`` are the user's own whatever the workspace (no clone
writes there), so opening the home folder does not disown ``~/.kube/config``.

No LSP types, no I/O beyond ``stat``/``realpath``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrord_ls.cluster.kubeconfig import KubeconfigOrigin, KubeconfigSource

__all__ = [
    "TRUST_HINT",
    "TrustPolicy",
    "UntrustedKubeconfig",
    "kubeconfig_trust",
    "templated_value",
    "workspace_root_of",
]

TRUST_HINT = (
    "Trust this workspace (VS Code: Manage Workspace Trust; or set"
    " mirrordLs.trustWorkspaceKubeconfigs; `check --trust-workspace`)"
)
VCS_MARKERS = (".git", ".hg", ".svn", ".jj")

_HOW = {
    KubeconfigOrigin.MIRRORD_ENV: "named by MIRRORD_KUBECONFIG",
    KubeconfigOrigin.CONFIG_FIELD: "named by the config's kubeconfig field",
    KubeconfigOrigin.KUBECONFIG_ENV: "from KUBECONFIG",
    KubeconfigOrigin.DEFAULT: "the default ~/.kube/config",
}


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: judge the path as written
        return Path(os.path.abspath(path))


def _lexical(path: Path) -> Path:
    return Path(os.path.normpath(os.path.abspath(path)))


def workspace_root_of(config_path: Path, home: Path | None = None) -> Path:
    """The folder a config file belongs to, for trust: the nearest version-control root above
    it (below the home folder), else the parent of a ``.mirrord`` folder, else its folder."""
    folder = _lexical(config_path).parent
    home_real = _real(home) if home is not None else None
    for candidate in (folder, *folder.parents):
        if home_real is not None and home_real.is_relative_to(_real(candidate)):
            break  # the home folder (or above) is no repository's root
        if any(os.path.lexists(candidate / marker) for marker in VCS_MARKERS):
            return candidate
    if folder.name == ".mirrord":
        return folder.parent
    return folder


@dataclass(frozen=True)
class _Roots:
    """Workspace folders as written and as resolved, and the user's own ``~/.kube``
    (resolved once per decision, not once per file)."""

    lexical: tuple[Path, ...]
    real: tuple[Path, ...]
    kube: Path | None

    @classmethod
    def of(cls, roots: Iterable[Path], home: Path | None) -> _Roots:
        lexical = tuple(_lexical(r) for r in roots)
        kube = _real(home / ".kube") if home is not None else None
        return cls(lexical, tuple(_real(r) for r in lexical), kube)

    def user_owned(self, real: Path) -> bool:
        """A file whose real path lies under ``~/.kube``: the user's own, whatever the
        workspace."""
        return self.kube is not None and real.is_relative_to(self.kube)

    def inside(self, path: Path, real: Path) -> tuple[Path, bool] | None:
        """The root ``path`` lies in, and whether only its real path does (a symlink)."""
        lexical = _lexical(path)
        for root in self.lexical:
            if lexical.is_relative_to(root):
                return root, False
        for root, real_root in zip(self.lexical, self.real, strict=True):
            if real.is_relative_to(real_root):
                return root, True
        return None


@dataclass(frozen=True)
class UntrustedKubeconfig:
    """A kubeconfig the workspace controls, in a workspace that is not trusted."""

    path: Path
    origin: KubeconfigOrigin
    reason: str

    @property
    def message(self) -> str:
        return (
            f"mirrord-ls did not use the kubeconfig {self.path} ({_HOW[self.origin]}): "
            f"{self.reason}, and this workspace is not trusted. Nothing it names was read and"
            " no cluster was contacted: a repository's kubeconfig could send your"
            f" credentials to a server of its choosing. {TRUST_HINT} to check the cluster."
        )


def _unique(roots: Iterable[Path | None]) -> tuple[Path, ...]:
    out: dict[Path, None] = {}
    for root in roots:
        if root is not None and str(root):
            out[_lexical(root)] = None
    return tuple(out)


def kubeconfig_trust(
    source: KubeconfigSource,
    workspace_folders: Iterable[Path | None],
    *,
    trusted: bool,
    home: Path | None = None,
) -> UntrustedKubeconfig | None:
    """Why the kubeconfig files of ``source`` may not be used, or ``None`` when they may.

    A file may not be used, in an untrusted workspace, when it lies inside a workspace folder,
    is a symlink into one, or was written as a relative path (anchored at a folder the
    workspace decides), unless it is the user's own (under ``~/.kube``). Files that do not
    exist are skipped, as kubectl skips them: they are never read.
    """
    if trusted:
        return None
    roots = _Roots.of(_unique(workspace_folders), home)
    relative = set(source.relative)
    for path in source.paths:
        if not os.path.lexists(path):
            continue
        real = _real(path)
        if roots.user_owned(real):
            continue
        inside = roots.inside(path, real)
        if inside is not None:
            root, via_link = inside
            reason = (
                f"it is a symlink into the workspace folder {root} ({_real(path)})"
                if via_link
                else f"it lies inside the workspace folder {root}"
            )
            return UntrustedKubeconfig(path, source.origin, reason)
        if path in relative:
            return UntrustedKubeconfig(
                path,
                source.origin,
                "it is named by a relative path, anchored at a folder the workspace decides",
            )
    return None


def templated_value(analysis: Any, path: tuple[str | int, ...]) -> bool:
    """Does the config value at ``path`` (or any part of it) come from template output?

    Such a value may hold the environment (``get_env``); in an untrusted workspace it is
    never sent to a cluster.
    """
    from mirrord_ls.config.document import locate

    found = locate(analysis.parsed.root, path)
    if found is None:
        return False
    return bool(analysis.rendered.templated(found.node.start, found.node.end))


@dataclass(frozen=True)
class TrustPolicy:
    """Which kubeconfigs may start exec plugins, and whose files may be read.

    A kubeconfig inside one of ``untrusted_roots`` (workspace folders) or listed in
    ``untrusted_files`` (named by the workspace's config) may not run a plugin, unless
    ``trusted``; one inside ``untrusted_roots`` may not be read from either
    (:meth:`allows_reading`). Files under ``home``'s ``.kube`` folder are the user's own.
    """

    untrusted_roots: tuple[Path, ...] = ()
    untrusted_files: tuple[Path, ...] = ()
    trusted: bool = False
    home: Path | None = None
    _roots: _Roots = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_roots", _Roots.of(self.untrusted_roots, self.home))

    @classmethod
    def for_workspace(
        cls,
        folders: Iterable[Path | None],
        source: KubeconfigSource | None,
        *,
        trusted: bool,
        home: Path | None = None,
    ) -> TrustPolicy:
        """The policy for a workspace: its folders, plus the file its config pointed at."""
        files: tuple[Path, ...] = ()
        if source is not None and source.origin is KubeconfigOrigin.CONFIG_FIELD:
            files = source.paths
        return cls(_unique(folders), files, trusted, home)

    def allows_reading(self, kubeconfig: Path) -> bool:
        """May files this kubeconfig names be read and its cluster be asked?"""
        if self.trusted:
            return True
        real = _real(kubeconfig)
        return self._roots.user_owned(real) or self._roots.inside(kubeconfig, real) is None

    def in_workspace(self, path: Path) -> bool:
        """Does ``path`` lie in (or link into) a workspace folder, trusted or not?"""
        return self._roots.inside(path, _real(path)) is not None

    def allows(self, kubeconfig: Path) -> bool:
        """May this kubeconfig's exec plugin run?"""
        if self.trusted:
            return True
        # Compare real paths, so a symlink cannot smuggle a workspace file out (or in).
        real = _real(kubeconfig)
        if any(real == _real(f) for f in self.untrusted_files):
            return False
        return self.allows_reading(kubeconfig)
