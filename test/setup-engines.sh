#!/usr/bin/env bash
# Sets up what the e2e tests need: Docker and Podman engines answering on their
# unix sockets, and offline fixture images (fizz-test/busybox:1 and :2) on both.
# Idempotent and fast when everything is already in place; prints one line per
# thing it did and fails loudly (exit 1, "setup-engines: error: ...") when a
# piece cannot be set up. Safe to run concurrently: a lock serialises runs.
set -euo pipefail

DOCKER_SOCK=/var/run/docker.sock
PODMAN_SOCK=/run/podman/podman.sock
WAIT_SECONDS=${FIZZ_ENGINE_WAIT_SECONDS:-60}
IMAGES=("fizz-test/busybox:1" "fizz-test/busybox:2")

say() { echo "setup-engines: $*"; }
die() { echo "setup-engines: error: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || die "not root and no sudo: cannot install or start engines"
else
  SUDO=
fi

# One run at a time (several test runs may start together on a shared machine).
mkdir -p /run/lock 2>/dev/null || true
exec 9>/run/lock/fizz-setup-engines.lock
flock -w 300 9 || die "another setup-engines run holds /run/lock/fizz-setup-engines.lock for >300s"

# --- packages -------------------------------------------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

wait_dpkg_lock() {
  local waited=0
  while { command -v fuser >/dev/null && fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; } \
    || pgrep -x apt-get >/dev/null 2>&1 || pgrep -x dpkg >/dev/null 2>&1; do
    [ "$waited" = 0 ] && say "waiting for another apt/dpkg run to finish"
    waited=$((waited + 2))
    [ "$waited" -gt 600 ] && die "apt/dpkg lock still held after 600s"
    sleep 2
  done
}

missing=()
for p in docker.io podman busybox-static iptables; do have_pkg "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  wait_dpkg_lock
  # Re-check: the run we waited for may have installed them.
  still=()
  for p in "${missing[@]}"; do have_pkg "$p" || still+=("$p"); done
  if [ "${#still[@]}" -gt 0 ]; then
    say "installing ${still[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null || die "apt-get update failed"
    $SUDO apt-get install -y -qq --no-install-recommends "${still[@]}" >/tmp/fizz-apt-install.log 2>&1 \
      || die "apt-get install ${still[*]} failed; see /tmp/fizz-apt-install.log"
    for p in "${still[@]}"; do have_pkg "$p" || die "package $p still not installed after apt-get install"; done
    say "installed ${still[*]}"
  fi
fi
command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
command -v podman >/dev/null || die "podman not found after installing podman"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || die "busybox not found after installing busybox-static"

# --- podman rlimits (the sandbox lacks CAP_SYS_RESOURCE) -------------------
CONF=/etc/containers/containers.conf
if ! grep -qs '^ *default_ulimits *= *\["nofile=1024:1024", *"nproc=4096:4096"\]' "$CONF"; then
  $SUDO mkdir -p /etc/containers
  if [ -s "$CONF" ] && grep -qs '^\[containers\]' "$CONF"; then
    # Keep the rest of an existing file; replace or add the key under [containers].
    tmp=$(mktemp)
    awk '
      /^\[containers\]/ { print; print "default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]"; inside=1; next }
      /^\[/ { inside=0 }
      inside && /^ *default_ulimits *=/ { next }
      { print }' "$CONF" >"$tmp"
    $SUDO cp "$tmp" "$CONF"
    rm -f "$tmp"
  else
    printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' | $SUDO tee -a "$CONF" >/dev/null
  fi
  say "wrote default_ulimits to $CONF"
  # A service started before the config was written would keep the old limits.
  if pgrep -f "podman system service" >/dev/null 2>&1; then
    for pid in $(pgrep -f "podman system service"); do $SUDO kill "$pid" 2>/dev/null || true; done
    say "stopped the running podman service so it picks up the new limits"
    sleep 1
  fi
fi

# --- engines ----------------------------------------------------------------
ping_sock() { curl -fsS --max-time 3 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }

if ! command -v curl >/dev/null; then
  wait_dpkg_lock
  $SUDO apt-get install -y -qq curl >/dev/null 2>&1 || { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq curl >/dev/null; } \
    || die "curl is needed to ping the engine sockets and could not be installed"
  say "installed curl"
fi

started_docker=0
if ! ping_sock "$DOCKER_SOCK"; then
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is running but not answering yet; waiting"
  else
    # A stale pidfile from a killed dockerd blocks a new one.
    [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null && $SUDO rm -f /var/run/docker.pid
    $SUDO setsid nohup dockerd >>/var/log/fizz-dockerd.log 2>&1 </dev/null 9>&- &
    say "started dockerd (log: /var/log/fizz-dockerd.log)"
  fi
  started_docker=1
fi

started_podman=0
if ! ping_sock "$PODMAN_SOCK"; then
  if pgrep -f "podman system service.*$PODMAN_SOCK" >/dev/null 2>&1; then
    say "podman service is running but not answering yet; waiting"
  else
    $SUDO mkdir -p "$(dirname "$PODMAN_SOCK")"
    $SUDO rm -f "$PODMAN_SOCK"
    $SUDO setsid nohup podman system service --time=0 "unix://$PODMAN_SOCK" >>/var/log/fizz-podman.log 2>&1 </dev/null 9>&- &
    say "started podman system service (log: /var/log/fizz-podman.log)"
  fi
  started_podman=1
fi

deadline=$((SECONDS + WAIT_SECONDS))
until ping_sock "$DOCKER_SOCK" && ping_sock "$PODMAN_SOCK"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    ping_sock "$DOCKER_SOCK" || { tail -n 20 /var/log/fizz-dockerd.log >&2 2>/dev/null || true; die "docker did not answer on $DOCKER_SOCK within ${WAIT_SECONDS}s (log above)"; }
    tail -n 20 /var/log/fizz-podman.log >&2 2>/dev/null || true
    die "podman did not answer on $PODMAN_SOCK within ${WAIT_SECONDS}s (log above)"
  fi
  sleep 0.5
done
[ "$started_docker" = 1 ] && say "docker answers on $DOCKER_SOCK"
[ "$started_podman" = 1 ] && say "podman answers on $PODMAN_SOCK"

# --- fixture images ---------------------------------------------------------
# Both tags hold busybox; :2 differs by a file and a label so its ID differs
# (rolling-update tests switch between them).
docker_has() { docker -H "unix://$DOCKER_SOCK" image inspect "$1" >/dev/null 2>&1; }
podman_has() { podman image exists "$1" >/dev/null 2>&1; }

need=()
for img in "${IMAGES[@]}"; do
  docker_has "$img" || need+=("docker:$img")
  podman_has "$img" || need+=("podman:$img")
done

if [ "${#need[@]}" -gt 0 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for tag in 1 2; do
    root="$work/rootfs$tag"
    mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/tmp" "$root/etc" "$root/www" "$root/root" "$root/proc" "$root/sys" "$root/dev" "$root/var"
    chmod 1777 "$root/tmp"
    cp "$BUSYBOX" "$root/bin/busybox"
    # --install -s needs /proc/self/exe to point at the target busybox; run it via chroot.
    if ! chroot "$root" /bin/busybox --install -s 2>/dev/null; then
      for app in $("$BUSYBOX" --list-full); do
        [ -e "$root/$app" ] || ln -s /bin/busybox "$root/$app"
      done
    fi
    [ -e "$root/bin/sh" ] && [ -e "$root/bin/sleep" ] || die "busybox applet links missing in fixture rootfs"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    echo "fizz-test busybox fixture version $tag" >"$root/etc/fizz-fixture"
    echo "hello from fizz-test/busybox:$tag" >"$root/www/index.html"
    tar -C "$root" -cf "$work/rootfs$tag.tar" .
  done
  for item in "${need[@]}"; do
    engine=${item%%:*}
    img=${item#*:}
    tag=${img##*:}
    changes=(--change 'CMD ["sh"]' --change "LABEL io.fizz.fixture=busybox-$tag" --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin')
    if [ "$engine" = docker ]; then
      docker -H "unix://$DOCKER_SOCK" import "${changes[@]}" "$work/rootfs$tag.tar" "$img" >/dev/null \
        || die "docker import of $img failed"
    else
      podman import -q "${changes[@]}" "$work/rootfs$tag.tar" "$img" >/dev/null \
        || die "podman import of $img failed"
    fi
    say "built $img on $engine"
  done
fi
exit 0
