#!/usr/bin/env bash
# The quick start in one command, on a fresh machine of this kind: installs what
# fizz needs (npm dependencies, a container engine), builds the fizz executable,
# and runs `fizz up -d --wait` on examples/quickstart, then shows it answering.
#
# This machine cannot reach any image registry, so the example's base image is
# built locally from Debian's busybox-static (test/setup-engines.sh does that);
# on a normal server `fizz up` simply pulls busybox from Docker Hub.
# Idempotent: run it again and nothing is recreated. Stop with:
#   dist/fizz-linux-x64 down -v -f examples/quickstart/compose.yaml
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
FIZZ_SETUP_WORDPRESS=0 bash test/setup-engines.sh
bash scripts/build.sh >/dev/null
case "$(uname -m)" in aarch64|arm64) fizz=dist/fizz-linux-arm64 ;; *) fizz=dist/fizz-linux-x64 ;; esac

export BASE_IMAGE="${BASE_IMAGE:-fizz-test/busybox:1}" WEB_PORT="${WEB_PORT:-8080}"
"$fizz" up -d --wait -f examples/quickstart/compose.yaml
"$fizz" ps -f examples/quickstart/compose.yaml
echo
echo "GET http://127.0.0.1:${WEB_PORT}/cgi-bin/visits -> $(curl -fsS "http://127.0.0.1:${WEB_PORT}/cgi-bin/visits")"
echo "Open http://127.0.0.1:${WEB_PORT}/ ; logs: $fizz logs -f -f examples/quickstart/compose.yaml"
