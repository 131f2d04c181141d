#!/usr/bin/env bash
# Installs the npm dependencies exactly as locked in package-lock.json, with
# `npm ci` and nothing else: the one install path of the quick start, the test
# command and CI. The lockfile records every platform's optional binary package
# (bun's @oven/*, deno's @deno/*), so npm ci accepts it on any platform, and
# package.json's allowScripts lets bun's and deno's postinstall run under npm 11
# (they swap the JS launcher for the native binary). Skipped when node_modules
# already matches the lockfile. Never writes package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x node_modules/.bin/bun ] && [ -f node_modules/.package-lock.json ] \
  && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
  && [ ! package.json -nt node_modules/.package-lock.json ]; then
  exit 0
fi
cp package-lock.json /tmp/fizz-package-lock.committed.$$
trap 'rm -f /tmp/fizz-package-lock.committed.$$' EXIT
if ! npm ci --no-audit --no-fund; then
  echo "install-deps: error: npm ci failed (above). If it says the lockfile is out of sync, run 'npm install --package-lock-only' and commit package-lock.json." >&2
  exit 1
fi
if ! cmp -s package-lock.json /tmp/fizz-package-lock.committed.$$; then
  echo "install-deps: error: npm ci changed package-lock.json; that is a bug in npm or the lockfile" >&2
  exit 1
fi
echo "install-deps: npm ci"
