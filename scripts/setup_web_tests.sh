#!/usr/bin/env bash
# What the `liveseg web` tests need beyond pip: Chromium (Debian's package; Playwright only
# drives it) and onnxruntime-web from npm (version and hashes pinned in
# src/liveseg/web/package.json and package-lock.json, installed into the git-ignored
# src/liveseg/web/node_modules). CI runs this before pip. What cannot be installed is said
# loudly; the browser tests then skip with the same words, the rest of the suite still runs.
set -uo pipefail
cd "$(dirname "$0")/.."

warn() { printf '\n!!! WARNING: %s\n!!! The liveseg web page will NOT be tested in a browser.\n\n' "$1" >&2; }

if [ -n "${LIVESEG_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
  echo "setup_web_tests: chromium: $(command -v chromium || echo "$LIVESEG_CHROMIUM")"
elif command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup_web_tests: installing chromium (apt-get)"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
      --no-install-recommends chromium >/dev/null; }; then
    warn "apt-get could not install chromium"
  fi
else
  warn "no chromium and no apt-get: install Chromium, or set LIVESEG_CHROMIUM to its binary"
fi

if command -v npm >/dev/null 2>&1; then
  echo "setup_web_tests: onnxruntime-web (npm ci)"
  npm ci --ignore-scripts --omit=dev --no-audit --no-fund --prefix src/liveseg/web >/dev/null \
    || warn "npm ci --prefix src/liveseg/web failed (onnxruntime-web not installed)"
else
  warn "npm is not installed (apt-get install npm): onnxruntime-web cannot be fetched"
fi
exit 0
