#!/usr/bin/env bash
# Runs every benchmark; each prints its own table with ratios against a baseline
# measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

bun bench/scheduler.ts
bun bench/crypto.ts
bun bench/sim-membership.ts
bun bench/anti-entropy.ts
bun bench/startup.ts
bun bench/compose.ts
bun bench/fastyaml.ts
bun bench/up-down.ts
bun bench/agent-api.ts
bun bench/dns.ts
bun bench/ingress.ts
bun bench/mesh-throughput.ts
bun bench/secrets.ts --cluster
bun bench/registry.ts
flock /tmp/fizz-heavy.lock bun bench/cluster-vs-swarm.ts
