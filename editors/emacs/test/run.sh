#!/usr/bin/env bash
# Headless test of editors/emacs/mirrord-ls.el with eglot (Debian 12: emacs-nox + elpa-eglot,
# eglot 1.9 on Emacs 28) against the real server: a config with a schema error must show up
# as a flymake diagnostic, the mode line must show the mirrord/status, the recheck command
# must answer. Prints PASS/FAIL lines and `N passed, M failed`; exits 1 on a failure.
#
# Env: MIRRORD_LS_BIN (default .venv/bin/mirrord-ls), MIRRORD_LS_VENV, EMACS (default emacs),
#      MIRRORD_LS_SCHEMA (mirrord's published schema, when you have a copy;
#      editors/run-tests passes the tests' reference copy).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
venv="${MIRRORD_LS_VENV:-$root/.venv}"
bin="${MIRRORD_LS_BIN:-$venv/bin/mirrord-ls}"
emacs="${EMACS:-emacs}"
schema="${MIRRORD_LS_SCHEMA:-}"

fail_early() {
  echo "FAIL emacs: $1"
  echo "0 passed, 1 failed"
  exit 1
}
command -v "$emacs" >/dev/null || fail_early "$emacs not found (apt-get install emacs-nox elpa-eglot)"
[ -x "$bin" ] || fail_early "no server at $bin (run ./dev setup)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ws="$tmp/ws"
mkdir -p "$ws/.mirrord"
echo '{"name": "not a mirrord config"}' >"$ws/package.json"
if [ -f "$schema" ]; then
  printf '{\n  "feature": {\n    "nework": {}\n  }\n}\n' >"$ws/.mirrord/mirrord.json"
  code=unknown-field line=3
else
  echo "(no $schema: testing a config error the built-in schema catches)"
  printf '{\n  "operator": "yes"\n}\n' >"$ws/.mirrord/mirrord.json"
  code=invalid-value line=2 schema=""
fi
echo "== emacs: eglot + flymake ($code)"
out="$tmp/emacs.out"
(
  cd "$ws" &&
    HOME="$tmp/home" MIRRORD_LS_CACHE_DIR="$tmp/schema-cache" \
    MIRRORD_LS_BIN="$bin" MIRRORD_LS_EMACS_DIR="$(cd "$here/.." && pwd)" \
    MIRRORD_LS_TEST_FILE="$ws/.mirrord/mirrord.json" MIRRORD_LS_TEST_CODE=$code \
    MIRRORD_LS_TEST_LINE=$line MIRRORD_LS_TEST_SCHEMA="$schema" \
    timeout 90 "$emacs" --batch -q -l "$here/eglot-test.el"
) </dev/null >"$out" 2>&1
rc=$?
grep -E '^(PASS|FAIL|  )' "$out"
passed=$(grep -c '^PASS ' "$out")
failed=$(grep -c '^FAIL ' "$out")
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
  echo "FAIL emacs: emacs exited with $rc"
  failed=$((failed + 1))
fi
if [ "$failed" != 0 ]; then
  echo "--- emacs output"
  cat "$out"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
