"""Unit tests of kubeconfig source precedence, loading errors, resolution and redaction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mirrord_ls.cluster.kubeconfig import (
    ClusterHasNoServer,
    ClusterNotFound,
    ContextNotFound,
    ContextOrigin,
    InvalidEnvValue,
    KubeconfigError,
    KubeconfigErrorKind,
    KubeconfigFile,
    KubeconfigLoadFailed,
    KubeconfigOrigin,
    NoCurrentContext,
    ResolvedCluster,
    Secret,
    SecretBytes,
    SettingOrigin,
    UserNotFound,
    accept_invalid_certificates,
    effective_context,
    expand_path,
    kubeconfig_paths,
    load_kubeconfig_file,
    load_merged,
    operator_enabled,
    resolve,
)

from .helpers import FIXTURES, PLANTED_SECRETS

HOME = Path("/home/alice")
WS = Path("/work/ws")
SEP = os.pathsep

# -- which files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config_value", "env", "origin", "paths"),
    [
        (None, {}, KubeconfigOrigin.DEFAULT, [HOME / ".kube/config"]),
        (None, {"KUBECONFIG": "/a:/b"}, KubeconfigOrigin.KUBECONFIG_ENV, ["/a", "/b"]),
        ("k.yaml", {"KUBECONFIG": "/a"}, KubeconfigOrigin.CONFIG_FIELD, [WS / "k.yaml"]),
        ("~/k.yaml", {}, KubeconfigOrigin.CONFIG_FIELD, [HOME / "k.yaml"]),
        ("$D/k.yaml", {"D": "/d"}, KubeconfigOrigin.CONFIG_FIELD, ["/d/k.yaml"]),
        ("${D}/x/../k.yaml", {"D": "/d"}, KubeconfigOrigin.CONFIG_FIELD, ["/d/k.yaml"]),
        (
            "k.yaml",
            {"MIRRORD_KUBECONFIG": "~/m.yaml", "KUBECONFIG": "/a"},
            KubeconfigOrigin.MIRRORD_ENV,
            [HOME / "m.yaml"],
        ),
        ("k.yaml", {"MIRRORD_KUBECONFIG": "$D/m"}, KubeconfigOrigin.MIRRORD_ENV, ["/d/m"]),
        # Empty values count as unset.
        ("", {"MIRRORD_KUBECONFIG": "", "KUBECONFIG": ""}, KubeconfigOrigin.DEFAULT, None),
    ],
)
def test_kubeconfig_source_precedence(
    config_value: str | None,
    env: dict[str, str],
    origin: KubeconfigOrigin,
    paths: list[str | Path] | None,
) -> None:
    env = {k: v.replace(":", SEP) if k == "KUBECONFIG" else v for k, v in env.items()}
    env.setdefault("D", "/d")
    source = kubeconfig_paths(config_value, WS, env, HOME, cwd=Path("/cwd"))
    assert source.origin is origin
    if paths is not None:
        assert list(source.paths) == [Path(p) for p in paths]
    assert source.explicit == (
        origin in (KubeconfigOrigin.MIRRORD_ENV, KubeconfigOrigin.CONFIG_FIELD)
    )


def test_kubeconfig_list_like_kubectl() -> None:
    value = SEP.join(["a", "", "/b", "a", "", "c"])
    source = kubeconfig_paths(None, None, {"KUBECONFIG": value}, HOME, cwd=Path("/cwd"))
    assert source.paths == (Path("/cwd/a"), Path("/b"), Path("/cwd/c"))
    # Only separators: no file at all, and no fallback to ~/.kube/config (kubectl does the same).
    empty = kubeconfig_paths(None, None, {"KUBECONFIG": SEP}, HOME)
    assert empty.origin is KubeconfigOrigin.KUBECONFIG_ENV and empty.paths == ()


def test_undefined_variables_are_reported() -> None:
    source = kubeconfig_paths("$NOPE/k.yaml", WS, {}, HOME)
    assert source.undefined_vars == ("NOPE",)
    assert source.raw == "$NOPE/k.yaml"


@given(st.text(alphabet=st.characters(blacklist_characters="$~\x00"), max_size=30))
def test_expand_path_leaves_plain_text_alone(text: str) -> None:
    assert expand_path(text, {}, HOME) == (text, ())


def test_relative_config_value_without_config_dir_uses_cwd() -> None:
    source = kubeconfig_paths("k.yaml", None, {}, HOME, cwd=Path("/cwd"))
    assert source.paths == (Path("/cwd/k.yaml"),)


# -- context and flags ------------------------------------------------------------------------


def test_effective_context_precedence() -> None:
    assert effective_context({"MIRRORD_KUBE_CONTEXT": "e"}, "c").name == "e"
    assert effective_context({}, "c").origin is ContextOrigin.CONFIG_FIELD
    choice = effective_context({"MIRRORD_KUBE_CONTEXT": ""}, None)
    assert choice.name is None and choice.origin is ContextOrigin.CURRENT_CONTEXT


@pytest.mark.parametrize(
    ("env", "config", "cluster", "value", "origin"),
    [
        ({"MIRRORD_ACCEPT_INVALID_CERTIFICATES": "TRUE"}, False, False, True, SettingOrigin.ENV),
        ({"MIRRORD_ACCEPT_INVALID_CERTIFICATES": "false"}, True, True, False, SettingOrigin.ENV),
        ({}, False, True, False, SettingOrigin.CONFIG),
        ({}, None, True, True, SettingOrigin.KUBECONFIG),
        ({}, None, False, False, SettingOrigin.DEFAULT),
    ],
)
def test_accept_invalid_certificates(
    env: dict[str, str], config: bool | None, cluster: bool, value: bool, origin: SettingOrigin
) -> None:
    setting = accept_invalid_certificates(env, config, cluster)
    assert not isinstance(setting, InvalidEnvValue)
    assert (setting.value, setting.origin) == (value, origin)


def test_invalid_env_bool_is_reported() -> None:
    bad = accept_invalid_certificates({"MIRRORD_ACCEPT_INVALID_CERTIFICATES": "yes"}, None, False)
    assert isinstance(bad, InvalidEnvValue)
    assert "MIRRORD_ACCEPT_INVALID_CERTIFICATES='yes'" in bad.message
    assert isinstance(operator_enabled({"MIRRORD_OPERATOR_ENABLE": "1"}, True), InvalidEnvValue)


@pytest.mark.parametrize(
    ("env", "config", "value"),
    [
        ({}, None, None),
        ({}, True, True),
        ({"MIRRORD_OPERATOR_ENABLE": "False"}, True, False),
        ({"MIRRORD_OPERATOR_ENABLE": "true"}, None, True),
    ],
)
def test_operator_enabled(env: dict[str, str], config: bool | None, value: bool | None) -> None:
    setting = operator_enabled(env, config)
    assert not isinstance(setting, InvalidEnvValue)
    assert setting.value is value


# -- loading ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "line", "words"),
    [
        ("bad-yaml.yaml", KubeconfigErrorKind.INVALID_YAML, 5, "invalid YAML"),
        ("clusters-not-list.yaml", KubeconfigErrorKind.INVALID_SHAPE, 3, "clusters must be a list"),
        ("server-number.yaml", KubeconfigErrorKind.INVALID_SHAPE, 4, "server must be a string"),
        ("duplicate-name.yaml", KubeconfigErrorKind.INVALID_SHAPE, 5, "defined twice"),
        ("bad-base64.yaml", KubeconfigErrorKind.INVALID_SHAPE, 4, "not valid base64"),
        ("wrong-version.yaml", KubeconfigErrorKind.INVALID_SHAPE, 1, "not a kubeconfig"),
        ("top-level-list.yaml", KubeconfigErrorKind.INVALID_SHAPE, 1, "must be a mapping"),
        ("args-not-list.yaml", KubeconfigErrorKind.INVALID_SHAPE, 4, "args must be a list"),
    ],
)
def test_invalid_files_give_located_errors(
    name: str, kind: KubeconfigErrorKind, line: int, words: str
) -> None:
    path = FIXTURES / "invalid" / name
    error = load_kubeconfig_file(path)
    assert isinstance(error, KubeconfigError), error
    assert error.kind is kind
    assert error.file == path
    assert error.line == line and error.column is not None
    assert words in error.message
    assert str(error).startswith(f"{path}:{line}:")
    for secret in PLANTED_SECRETS:
        assert secret not in str(error) and secret not in repr(error)


def test_quirks_are_warnings(tmp_path: Path) -> None:
    dup = load_kubeconfig_file(FIXTURES / "quirks" / "duplicate-key.yaml")
    assert isinstance(dup, KubeconfigFile)
    assert dup.current_context == "b"  # the last one, as kubectl
    assert [w.line for w in dup.warnings] == [3]
    nameless = load_kubeconfig_file(FIXTURES / "quirks" / "nameless-entry.yaml")
    assert isinstance(nameless, KubeconfigFile) and "" in nameless.clusters
    assert "has no name" in nameless.warnings[0].message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "null\n", "---\n", "\ufeff{}"])
def test_empty_files_are_empty_configs(text: str) -> None:
    loaded = load_kubeconfig_file(Path("/x/k.yaml"), text=text)
    assert isinstance(loaded, KubeconfigFile)
    assert not loaded.clusters and loaded.current_context is None


def test_missing_files(tmp_path: Path) -> None:
    listed = load_merged([tmp_path / "nope.yaml", FIXTURES / "merge" / "first.yaml"])
    assert listed.missing == (tmp_path / "nope.yaml",) and not listed.errors
    explicit = load_merged(kubeconfig_paths(str(tmp_path / "nope.yaml"), None, {}, HOME))
    assert [e.kind for e in explicit.errors] == [KubeconfigErrorKind.NOT_FOUND]
    assert isinstance(resolve(explicit, "x"), KubeconfigLoadFailed)
    folder = load_merged([tmp_path])
    assert folder.errors[0].kind is KubeconfigErrorKind.UNREADABLE


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    text = (
        "clusters:\n"
        "- name: a\n"
        "  cluster: &base {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}\n"
        "- name: b\n"
        "  cluster: {<<: *base, server: 'https://127.0.0.1:2'}\n"
    )
    loaded = load_kubeconfig_file(tmp_path / "k.yaml", text=text)
    assert isinstance(loaded, KubeconfigFile)
    assert loaded.clusters["b"].server == "https://127.0.0.1:2"
    assert loaded.clusters["b"].insecure_skip_tls_verify


def _merge_fixture(merge_dir: Path) -> tuple[Path, Path, Path]:
    return merge_dir / "first.yaml", merge_dir / "nested" / "second.yaml", merge_dir / "third.yaml"


def test_merge_origins_and_relative_paths(merge_dir: Path) -> None:
    first, second, third = _merge_fixture(merge_dir)
    merged = load_merged([first, second, third])
    assert merged.clusters["shared"].origin == first
    assert merged.clusters["only-second"].origin == second
    assert (
        merged.clusters["only-second"].certificate_authority == merge_dir / "nested/ca-second.pem"
    )
    assert merged.users["file-user"].token_file == merge_dir / "nested/token.txt"
    assert merged.users["cert-user"].client_key == merge_dir / "certs/client.key"
    exec_config = merged.users["exec-user"].exec
    assert exec_config is not None and exec_config.command == str(
        merge_dir / "nested/bin/plugin.sh"
    )
    path_exec = merged.users["path-user"].exec
    assert path_exec is not None and path_exec.command == "aws"  # left for PATH lookup
    assert merged.contexts["shared-ctx"].origin == first
    assert (merged.current_context, merged.current_context_origin) == ("exec-ctx", second)


def test_watched_files(merge_dir: Path) -> None:
    first, second, third = _merge_fixture(merge_dir)
    missing = merge_dir / "missing.yaml"
    merged = load_merged([first, missing, second, third])
    watched = set(merged.watched_files())
    assert {first, missing, second, third} <= watched
    assert {
        merge_dir / "certs/ca-first.pem",
        merge_dir / "nested/ca-second.pem",
        merge_dir / "certs/client.crt",
        merge_dir / "certs/client.key",
        merge_dir / "nested/token.txt",
    } <= watched


# -- resolution -------------------------------------------------------------------------------


def test_resolve_current_context(merge_dir: Path) -> None:
    merged = load_merged(list(_merge_fixture(merge_dir)))
    resolved = resolve(merged, None)
    assert isinstance(resolved, ResolvedCluster)
    assert resolved.context_name == "exec-ctx" and resolved.cluster_name == "only-second"
    assert resolved.server == "http://127.0.0.1:1"
    assert resolved.proxy_url == "http://127.0.0.1:3128"
    assert resolved.namespace == "second-ns"
    assert resolved.certificate_authority is not None
    assert resolved.certificate_authority.file == merge_dir / "nested/ca-second.pem"
    assert resolved.credentials is not None and resolved.credentials.exec is not None


def test_resolve_fields(merge_dir: Path) -> None:
    first, second, third = _merge_fixture(merge_dir)
    merged = load_merged([third, first, second])
    third_ctx = resolve(merged, "third-ctx")
    assert isinstance(third_ctx, ResolvedCluster)
    assert third_ctx.certificate_authority is not None
    assert (
        third_ctx.certificate_authority.data
        == b"-----BEGIN CERTIFICATE-----\nthird\n-----END CERTIFICATE-----\n"
    )
    assert third_ctx.credentials is not None and third_ctx.credentials.client_key_data is not None
    cert_ctx = resolve(merged, "cert-ctx")
    assert isinstance(cert_ctx, ResolvedCluster)
    assert cert_ctx.insecure_skip_tls_verify and cert_ctx.tls_server_name == "api.internal"
    assert cert_ctx.namespace == "default"
    anonymous = resolve(merged, "anonymous-ctx")
    assert isinstance(anonymous, ResolvedCluster) and anonymous.credentials is None


def test_resolve_errors(merge_dir: Path, tmp_path: Path) -> None:
    merged = load_merged(list(_merge_fixture(merge_dir)))
    missing = resolve(merged, "nope")
    assert isinstance(missing, ContextNotFound)
    assert "exec-ctx" in missing.available and "'nope' not found" in missing.message
    assert isinstance(resolve(merged, "broken-cluster-ctx"), ClusterNotFound)
    user = resolve(merged, "broken-user-ctx")
    assert isinstance(user, UserNotFound) and "'ghost'" in user.message
    assert isinstance(resolve(load_merged([]), None), NoCurrentContext)
    (tmp_path / "k.yaml").write_text(
        "clusters: [{name: c, cluster: {}}]\ncontexts: [{name: x, context: {cluster: c}}]\n"
    )
    noserver = load_merged([tmp_path / "k.yaml"])
    assert isinstance(resolve(noserver, "x"), ClusterHasNoServer)


def test_identity_is_stable_and_distinguishes_credentials(merge_dir: Path) -> None:
    merged = load_merged(list(_merge_fixture(merge_dir)))
    a, b = resolve(merged, "shared-ctx"), resolve(merged, "shared-ctx")
    assert isinstance(a, ResolvedCluster) and isinstance(b, ResolvedCluster)
    assert a.identity == b.identity and hash(a.identity) == hash(b.identity)
    others = {
        r.identity.credential
        for name in ("shared-ctx", "exec-ctx", "file-ctx", "basic-ctx", "anonymous-ctx")
        if isinstance(r := resolve(merged, name), ResolvedCluster)
    }
    assert len(others) == 5
    for secret in PLANTED_SECRETS:
        assert secret not in repr(a.identity)
    # Replacing the CA file's content changes the trust fingerprint.
    before = resolve(merged, "exec-ctx")
    (merge_dir / "nested/ca-second.pem").write_text("another CA")
    after = resolve(merged, "exec-ctx")
    assert isinstance(before, ResolvedCluster) and isinstance(after, ResolvedCluster)
    assert before.identity.trust != after.identity.trust


# -- secrets never shown ----------------------------------------------------------------------


def test_no_secret_in_any_repr(merge_dir: Path) -> None:
    merged = load_merged(list(_merge_fixture(merge_dir)))
    texts = [repr(merged), str(merged)]
    for name in merged.contexts:
        result = resolve(merged, name)
        texts += [repr(result), str(result)]
    blob = "\n".join(texts)
    for secret in PLANTED_SECRETS:
        assert secret not in blob
    assert "SECRET-KEY-DATA" not in blob
    assert repr(Secret("SECRET-TOKEN-123")) == "Secret(<redacted>)"
    assert "SECRET" not in str(SecretBytes(b"SECRET-KEY-DATA"))
