#!/usr/bin/env bash
# End-to-end test of the Neovim plugin (editors/neovim) in headless Neovim (0.7.2+)
# against the real server:
#   1. a config with a schema error: the diagnostic in vim.diagnostic.get, the status;
#   2. the cluster warning: a loopback cluster whose RBAC forbids the user,
#      `operator-forbidden` in vim.diagnostic.get and in the statusline helper.
# Prints PASS/FAIL lines and a last line `N passed, M failed`; exits 1 on a failure.
#
# Env: MIRRORD_LS_BIN (default .venv/bin/mirrord-ls), MIRRORD_LS_VENV, NVIM (default nvim),
#      MIRRORD_LS_SCHEMA (mirrord's published schema, when you have a copy;
#      editors/run-tests passes the tests' reference copy).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
plugin=$(cd "$here/.." && pwd)
root=$(cd "$here/../../.." && pwd)
venv="${MIRRORD_LS_VENV:-$root/.venv}"
bin="${MIRRORD_LS_BIN:-$venv/bin/mirrord-ls}"
python="$venv/bin/python"
nvim="${NVIM:-nvim}"
schema="${MIRRORD_LS_SCHEMA:-}"

if ! command -v "$nvim" >/dev/null; then
  echo "FAIL neovim: $nvim not found (apt-get install neovim)"
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -x "$bin" ]; then
  echo "FAIL neovim: no server at $bin (run ./dev setup)"
  echo "0 passed, 1 failed"
  exit 1
fi

tmp=$(mktemp -d)
cluster_pid=""
cleanup() {
  if [ -n "$cluster_pid" ]; then
    kill "$cluster_pid" 2>/dev/null
    wait "$cluster_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

results="$tmp/results"
: >"$results"

# run_nvim NAME FILE: one headless session; its output is appended to $results.
run_nvim() {
  local name=$1 file=$2 log="$tmp/$1.out"
  (
    cd "$(dirname "$file")" &&
      XDG_CONFIG_HOME="$tmp/xdg/config" XDG_DATA_HOME="$tmp/xdg/data" \
      XDG_STATE_HOME="$tmp/xdg/state" XDG_CACHE_HOME="$tmp/xdg/cache" \
      MIRRORD_LS_CACHE_DIR="$tmp/schema-cache" \
      MIRRORD_LS_PLUGIN_DIR="$plugin" MIRRORD_LS_BIN="$bin" MIRRORD_LS_TEST_NAME="$name" \
      timeout 90 "$nvim" --headless -i NONE -u "$here/init.lua" "$file" -c 'lua MirrordLsTest()'
  ) </dev/null >"$log" 2>&1
  local rc=$?
  cat "$log"
  grep -E '^(PASS|FAIL) ' "$log" >>"$results"
  if ! grep -qE '^(PASS|FAIL) ' "$log"; then
    echo "FAIL $name: nvim printed no result (exit $rc)" | tee -a "$results"
  elif [ "$rc" != 0 ] && ! grep -q '^FAIL ' "$log"; then
    echo "FAIL $name: nvim exited with $rc" | tee -a "$results"
  fi
  if grep -q '^FAIL ' "$log"; then
    for f in "$tmp"/xdg/cache/nvim/lsp.log "$tmp"/xdg/state/nvim/lsp.log; do
      [ -f "$f" ] && { echo "--- tail of $f"; tail -n 40 "$f"; }
    done
  fi
}

# 1. Config diagnostics (no cluster).
ws1="$tmp/ws-config"
mkdir -p "$ws1/.mirrord"
if [ -f "$schema" ]; then
  printf '{\n  "feature": {\n    "nework": {}\n  }\n}\n' >"$ws1/.mirrord/mirrord.json"
  settings=$(printf '{"schema": "%s", "cluster": {"enabled": false}}' "$schema")
  code=unknown-field line=2
else
  echo "(no $schema: testing a config error the built-in schema catches)"
  printf '{\n  "operator": "yes"\n}\n' >"$ws1/.mirrord/mirrord.json"
  settings='{"cluster": {"enabled": false}}'
  code=invalid-value line=1
fi
echo "== neovim: config diagnostics ($code)"
MIRRORD_LS_TEST_SETTINGS="$settings" MIRRORD_LS_TEST_CODE=$code MIRRORD_LS_TEST_LINE=$line \
  MIRRORD_LS_TEST_SEVERITY=ERROR MIRRORD_LS_TEST_STATUS="mirrord: ✗" \
  run_nvim config "$ws1/.mirrord/mirrord.json"

# 2. The cluster verdict: the operator is installed but RBAC forbids the user. An error:
# mirrord stops (client.rs `OperatorApi::try_new` returns the 403 when the kind is listed).
echo "== neovim: cluster error (operator-forbidden)"
kubeconfig="$tmp/kubeconfig"
# It writes the kubeconfig, prints it (redacted), then "Serving until Ctrl-C." and serves until killed.
coproc CLUSTER { exec "$python" -m mirrord_ls.loopback --kubeconfig "$kubeconfig" --scenarios 2>&1; }
cluster_pid=$CLUSTER_PID
ready=0
deadline=$((SECONDS + 30))
while [ "$SECONDS" -lt "$deadline" ] && IFS= read -r -t $((deadline - SECONDS)) out_line <&"${CLUSTER[0]}"; do
  printf '%s\n' "$out_line" >>"$tmp/cluster.log"
  if [[ "$out_line" == "Serving until"* ]] && [ -s "$kubeconfig" ]; then
    ready=1
    break
  fi
done
if [ "$ready" != 1 ]; then
  echo "FAIL cluster: the loopback cluster did not start" | tee -a "$results"
  cat "$tmp/cluster.log"
fi
if [ "$ready" = 1 ]; then
  ws2="$tmp/ws-cluster"
  mkdir -p "$ws2/.git" "$ws2/team"
  printf '{\n  "kube_context": "forbidden"\n}\n' >"$ws2/team/staging.mirrord.json"
  KUBECONFIG="$kubeconfig" MIRRORD_LS_TEST_SETTINGS='{"cluster": {"timeoutSeconds": 15}}' \
    MIRRORD_LS_TEST_CODE=operator-forbidden MIRRORD_LS_TEST_LINE=1 MIRRORD_LS_TEST_SEVERITY=ERROR \
    MIRRORD_LS_TEST_STATUS="mirrord: ✗,forbidden,(forbidden)" \
    run_nvim cluster "$ws2/team/staging.mirrord.json"
fi

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
