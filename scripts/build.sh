#!/usr/bin/env bash
# Builds the release artifacts into dist/:
#   fizz-linux-x64, fizz-linux-arm64        single executables (bun build --compile)
#   fizz-linux-<arch>.tar.gz                 each holding one file, `fizz`
#   install.sh                               the installer, a copy of ./install.sh
#   SHA256SUMS                               `sha256sum` format, over all of the above
#
# The commit is baked in with `--define FIZZ_BUILD_COMMIT=...` (see cmd/version.ts).
# --bytecode --minify halves `fizz --version` cold start (bench/startup.ts); --bytecode
# needs --format=esm because cmd/fizz.ts uses top-level await.
#
# Resident memory of the idle agent (bench/agent-api.ts; most of it is pages of this
# executable, not heap):
#   --bytecode-order   the host binary is built once, run as `fizz agent` (fresh data dir
#                      in a temp dir, default engine, stopped once it serves) and as
#                      `fizz --version`; the recorded profiles lay the bytecode those runs
#                      use out together, so less of the file is read and decoded (~4 MB
#                      less RSS). The runs only read the engine (a fresh agent has no
#                      deployments). Without a reachable engine the agent run stops early
#                      and the profile covers less; the binary works the same either way.
#   --compile-jit-policy=16   run-once startup code stays in the interpreter instead of
#                      waking the JIT compilers (~2.5 MB less RSS, and CLI verbs start no
#                      slower); the agent restores the normal policy once it serves
#                      (platform/runtime.ts settleAfterStartup).
#   --no-compile-autoload-dotenv/-bunfig   the executable must not load the user's .env into
#                      its environment: that is the compose project's file, which Fizz reads
#                      with Compose's rules (a self-referencing IMAGE=${IMAGE:-app} stayed
#                      literal otherwise, and beat the file as a "shell" value).
#
# arm64 is cross-compiled: bun fetches that target's runtime from the npm registry on
# first use. If that fails (offline), it is skipped with a note, never failing the build.
#
# Idempotent: when dist/ already holds artifacts built from the same inputs (commit,
# sources, lockfile) it does nothing; --force rebuilds. FIZZ_BUILD_TARGETS overrides the
# target list (default "linux-x64 linux-arm64"; linux-x64-musl and linux-arm64-musl
# also cross-compile, for Alpine, which needs `apk add libstdc++ libgcc`).
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

BUN=node_modules/.bin/bun
[ -x "$BUN" ] || BUN=$(command -v bun || true)
[ -n "$BUN" ] || { echo "build.sh: bun not found (run npm ci)" >&2; exit 1; }

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' package.json | head -1)
targets=${FIZZ_BUILD_TARGETS:-linux-x64 linux-arm64}

case "$(uname -m)" in
  x86_64|amd64) host=linux-x64 ;;
  aarch64|arm64) host=linux-arm64 ;;
  *) host=other ;;
esac

# Fingerprint of everything that goes into the binary.
stamp=$(
  {
    echo "$commit $version $targets $("$BUN" --version)"
    find cmd controllers core platform -type f -name '*.ts' -print0 2>/dev/null | sort -z | xargs -0 sha256sum
    sha256sum package.json package-lock.json 2>/dev/null || true
    sha256sum "$0" install.sh
  } | sha256sum | cut -d' ' -f1
)

mkdir -p dist
if [ "$force" = 0 ] && [ -f dist/.stamp ] && [ "$(cat dist/.stamp)" = "$stamp" ] && [ -f dist/SHA256SUMS ] \
  && (cd dist && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
  echo "build: dist/ is up to date (fizz $version, commit $commit); --force rebuilds"
  exit 0
fi
rm -f dist/.stamp

tmp=$(mktemp -d dist/.build.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

base_flags=(--compile --minify --bytecode --format=esm --compile-jit-policy=16 --no-compile-autoload-dotenv --no-compile-autoload-bunfig --define "FIZZ_BUILD_COMMIT=\"$commit\"")

# Profiles for --bytecode-order (see the top), recorded with a host binary. One
# profile serves every target; with no host target in the list, none is recorded.
record_agent() {
  local bin=$1 out=$2 dir pid i
  dir=$(mktemp -d "${TMPDIR:-/tmp}/fizz-build-agent.XXXXXX") # short: a unix socket path is limited
  : >"$dir/config.yaml"
  BUN_BYTECODE_ORDER_OUT="$out" FIZZ_LOG_FORMAT=json "$bin" agent --config "$dir/config.yaml" \
    --data-dir "$dir/data" --api "unix:$dir/fizz.sock" --log-level info >"$dir/log" 2>&1 </dev/null &
  pid=$!
  for i in $(seq 1 150); do
    grep -q "API listening" "$dir/log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  # Past the first reconcile pass and the settling after startup (cmd/agent.ts).
  kill -0 "$pid" 2>/dev/null && sleep 1.5
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true # the profile is written on a clean exit only
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
order_flags=()
case " $targets " in
  *" $host "*)
    echo "build: recording the bytecode layout profile (fizz agent, fizz --version)"
    if "$BUN" build "${base_flags[@]}" cmd/fizz.ts --outfile "$tmp/fizz-profile" >"$tmp/log" 2>&1; then
      record_agent "$tmp/fizz-profile" "$PWD/$tmp/agent.order"
      BUN_BYTECODE_ORDER_OUT="$PWD/$tmp/version.order" "$tmp/fizz-profile" --version >/dev/null 2>&1 || true
      orders=()
      for f in "$tmp/agent.order" "$tmp/version.order"; do [ -s "$f" ] && orders+=("$f"); done
      if [ "${#orders[@]}" -gt 0 ]; then
        order_flags=(--bytecode-order="$(IFS=,; echo "${orders[*]}")")
      else
        echo "build: note: no bytecode layout profile was recorded; building without one" >&2
      fi
      rm -f "$tmp/fizz-profile"
    else
      cat "$tmp/log" >&2
      echo "build: compiling the profiling binary failed" >&2
      exit 1
    fi
    ;;
esac

built=()
for target in $targets; do
  out="dist/fizz-$target"
  flags=("${base_flags[@]}" "${order_flags[@]}")
  [ "$target" = "$host" ] || flags+=(--target="bun-$target")
  echo "build: $out (commit $commit)"
  if ! "$BUN" build "${flags[@]}" cmd/fizz.ts --outfile "$tmp/fizz-$target" >"$tmp/log" 2>&1; then
    if [ "$target" = "$host" ]; then
      cat "$tmp/log" >&2
      echo "build: compiling $target failed" >&2
      exit 1
    fi
    echo "build: note: skipping $target, cross-compiling failed (is the npm registry reachable?):" >&2
    tail -3 "$tmp/log" | sed 's/^/  /' >&2
    rm -f "$out" "$out.tar.gz"
    continue
  fi

  # The binary we can run must report the baked-in commit; run it outside the checkout
  # so a missing --define cannot fall back to `git rev-parse`.
  if [ "$target" = "$host" ]; then
    line=$(cd / && "$OLDPWD/$tmp/fizz-$target" --version)
    if [ "$line" != "fizz $version (commit $commit)" ]; then
      echo "build: $out --version printed '$line', expected 'fizz $version (commit $commit)'" >&2
      exit 1
    fi
  fi

  mv -f "$tmp/fizz-$target" "$tmp/$target.bin"
  built+=("$target")
done

# Tarballs with a single `fizz`, reproducible (fixed owner, mtime, no gzip name/time);
# compressed in parallel, gzip being most of the build time.
pids=()
for target in "${built[@]}"; do
  mkdir -p "$tmp/$target"
  cp "$tmp/$target.bin" "$tmp/$target/fizz"
  chmod 0755 "$tmp/$target/fizz"
  (tar -C "$tmp/$target" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - fizz | gzip -n -6 >"$tmp/fizz-$target.tar.gz") &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

files=()
for target in "${built[@]}"; do
  mv -f "$tmp/$target.bin" "dist/fizz-$target"
  mv -f "$tmp/fizz-$target.tar.gz" "dist/fizz-$target.tar.gz"
  files+=("fizz-$target" "fizz-$target.tar.gz")
done

# The installer ships beside the tarballs: `curl -fsSL <release>/install.sh | sh`.
cp install.sh "$tmp/install.sh"
mv -f "$tmp/install.sh" dist/install.sh
files+=(install.sh)

# Artifacts of targets no longer in the list would be stale: drop them.
for f in dist/fizz-linux-*; do
  [ -e "$f" ] || continue
  keep=0
  for b in "${files[@]}"; do [ "dist/$b" = "$f" ] && keep=1; done
  [ "$keep" = 1 ] || rm -f "$f"
done

(cd dist && sha256sum "${files[@]}" >"${tmp#dist/}/SHA256SUMS" && mv -f "${tmp#dist/}/SHA256SUMS" SHA256SUMS)
echo "$stamp" >dist/.stamp
echo "build: done"
ls -l dist | sed -n '2,$p'
