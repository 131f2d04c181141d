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
    find cmd core platform -type f -name '*.ts' -print0 2>/dev/null | sort -z | xargs -0 sha256sum
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

built=()
for target in $targets; do
  out="dist/fizz-$target"
  flags=(--compile --minify --bytecode --format=esm --define "FIZZ_BUILD_COMMIT=\"$commit\"")
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
