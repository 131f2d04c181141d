#!/usr/bin/env bash
# Installs the npm dependencies exactly as locked in package-lock.json.
#
# `npm ci` is tried first. npm 11 refuses this lockfile, though: it records only
# this platform's optional binary package of `deno` (@deno/linux-x64-glibc) and
# then asks for the other platforms' ones as well. `npm install` with the
# lockfile installs the same locked versions; we then check it left the lockfile
# byte for byte as committed, so nothing unlocked slips in.
set -euo pipefail
cd "$(dirname "$0")/.."
if npm ci --no-audit --no-fund >/tmp/fizz-npm-ci.log 2>&1; then
  echo "install-deps: npm ci"
  exit 0
fi
cp package-lock.json /tmp/fizz-package-lock.committed
npm install --no-audit --no-fund
if ! cmp -s package-lock.json /tmp/fizz-package-lock.committed; then
  echo "install-deps: npm install changed package-lock.json; commit a lockfile in sync with package.json" >&2
  exit 1
fi
echo "install-deps: npm install from the lockfile (npm ci refused it; see /tmp/fizz-npm-ci.log)"
