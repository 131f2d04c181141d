#!/usr/bin/env bash
# Sets up what the e2e tests need: Docker and Podman engines answering on their
# unix sockets, and offline fixture images (fizz-test/busybox:1 and :2, and the
# wordpress/mariadb stand-ins of test/images/build-wordpress.sh) on both.
# Idempotent and fast when everything is already in place; prints one line per
# thing it did and fails loudly (exit 1, "setup-engines: error: ...") when a
# piece cannot be set up. Safe to run concurrently: a lock serialises runs.
# Runs as root, or as a user with sudo (CI runners); engines run as root.
set -euo pipefail

DOCKER_SOCK=/var/run/docker.sock
PODMAN_SOCK=/run/podman/podman.sock
WAIT_SECONDS=${FIZZ_ENGINE_WAIT_SECONDS:-60}
# FIZZ_FIXTURE_REPO lets a check of this script build under another name.
REPO=${FIZZ_FIXTURE_REPO:-fizz-test/busybox}
IMAGES=("$REPO:1" "$REPO:2")

say() { echo "setup-engines: $*"; }
die() { echo "setup-engines: error: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: cannot install or start engines"
  SUDO="sudo -n"
  $SUDO true 2>/dev/null || die "not root and sudo needs a password: run as root or allow passwordless sudo"
else
  SUDO=
fi

# One run at a time (several test runs may start together on a shared machine).
# The lock fd is closed for the daemons we start, so they never hold it.
LOCK=/run/lock/fizz-setup-engines.lock
[ -w /run/lock ] || LOCK=/tmp/fizz-setup-engines-$(id -u).lock
exec 9>"$LOCK"
flock -w 300 9 || die "another setup-engines run holds $LOCK for more than 300s"

# --- packages -------------------------------------------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
ping_sock() { $SUDO curl -fsS --max-time 3 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }

# A statically linked busybox: the fixture rootfs has no libc.
static_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox $(command -v busybox 2>/dev/null || true); do
    [ -x "$b" ] || continue
    if ! ldd "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
  done
  return 1
}

# What is missing, by what we need rather than by package name: a machine with
# docker-ce or moby already has dockerd, and installing docker.io would fight it.
needed() {
  local out=()
  have_cmd curl || out+=(curl)
  { have_cmd dockerd || ping_sock "$DOCKER_SOCK"; } || out+=(docker.io)
  have_cmd podman || out+=(podman)
  # Podman's CNI networks resolve container names only with the dnsname plugin,
  # which Debian's podman does not pull in (compose services find each other by name).
  [ -x /usr/lib/cni/dnsname ] || out+=(golang-github-containernetworking-plugin-dnsname)
  static_busybox >/dev/null || out+=(busybox-static)
  have_cmd iptables || out+=(iptables)
  # Real peers the suite compares against or drives: docker-compose 1.29 (compose
  # meaning), promtool and a Prometheus server (metrics), openssl (TLS certs),
  # ip/nsenter (multi-host harness).
  have_cmd docker-compose || out+=(docker-compose)
  { have_cmd promtool && have_cmd prometheus; } || out+=(prometheus)
  have_cmd openssl || out+=(openssl)
  have_cmd ip || out+=(iproute2)
  have_cmd nsenter || out+=(util-linux)
  # Wave 2 (mesh, DNS, ingress, secrets, registry, compose parity): the real
  # tools a node uses (wg, wireguard-go) and the real peers the suite checks
  # interop and baselines against.
  have_cmd wg || out+=(wireguard-tools)
  have_cmd wireguard-go || out+=(wireguard-go)
  have_cmd age || out+=(age)
  have_cmd skopeo || out+=(skopeo)
  have_cmd docker-registry || out+=(docker-registry)
  have_cmd pebble || out+=(pebble)
  have_cmd dig || out+=(dnsutils)
  have_cmd dnsmasq || out+=(dnsmasq-base)
  have_cmd dnsperf || out+=(dnsperf)
  have_cmd hey || out+=(hey)
  have_cmd haproxy || out+=(haproxy)
  have_cmd wrk || out+=(wrk)
  have_cmd tcpdump || out+=(tcpdump)
  have_cmd iperf3 || out+=(iperf3)
  have_cmd debootstrap || out+=(debootstrap)
  have_cmd zsh || out+=(zsh)
  have_cmd fish || out+=(fish)
  echo "${out[@]+"${out[@]}"}"
}

wait_dpkg_lock() {
  local waited=0
  while { have_cmd fuser && $SUDO fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; } \
    || pgrep -x apt-get >/dev/null 2>&1 || pgrep -x dpkg >/dev/null 2>&1; do
    [ "$waited" = 0 ] && say "waiting for another apt/dpkg run to finish"
    waited=$((waited + 2))
    [ "$waited" -gt 600 ] && die "apt/dpkg lock still held after 600s"
    sleep 2
  done
}

missing=$(needed)
if [ -n "$missing" ]; then
  wait_dpkg_lock
  missing=$(needed) # the run we waited for may have installed them
  if [ -n "$missing" ]; then
    say "installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    # Skip the slow index refresh when the packages are already known.
    # shellcheck disable=SC2086
    if ! apt-cache show $missing >/dev/null 2>&1 || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
      $SUDO apt-get update -qq >/dev/null || die "apt-get update failed"
    fi
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/tmp/fizz-apt-install.log 2>&1 \
      || { $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/tmp/fizz-apt-install.log 2>&1; } \
      || die "apt-get install $missing failed; see /tmp/fizz-apt-install.log"
    left=$(needed)
    [ -z "$left" ] || die "still missing after apt-get install: $left"
    say "installed $missing"
  fi
fi
BUSYBOX=$(static_busybox) || die "no statically linked busybox (apt-get install busybox-static)"

# --- podman rlimits (the sandbox lacks CAP_SYS_RESOURCE) -------------------
CONF=/etc/containers/containers.conf
if ! grep -qs '^ *default_ulimits *= *\["nofile=1024:1024", *"nproc=4096:4096"\]' "$CONF"; then
  $SUDO mkdir -p /etc/containers
  tmp=$(mktemp)
  if [ -s "$CONF" ] && grep -qs '^\[containers\]' "$CONF"; then
    # Keep the rest of an existing file; replace or add the key under [containers].
    awk '
      /^\[containers\]/ { print; print "default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]"; inside=1; next }
      /^\[/ { inside=0 }
      inside && /^ *default_ulimits *=/ { next }
      { print }' "$CONF" >"$tmp"
  else
    { [ -s "$CONF" ] && cat "$CONF"; printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'; } >"$tmp"
  fi
  $SUDO cp "$tmp" "$CONF"
  rm -f "$tmp"
  say "wrote default_ulimits to $CONF"
  # A service started before the config was written keeps the old limits.
  for pid in $(pgrep -f "podman system service" || true); do
    $SUDO kill "$pid" 2>/dev/null || true
    say "stopped podman service $pid so it picks up the new limits"
    sleep 1
  done
fi

# --- engines ----------------------------------------------------------------
# Starts a daemon that outlives this script: own session, no stdin, our lock fd closed.
background() {
  local log=$1
  shift
  $SUDO sh -c 'log=$1; shift; setsid nohup "$@" >>"$log" 2>&1 </dev/null 9>&- &' sh "$log" "$@"
}

started_docker=0
if ! ping_sock "$DOCKER_SOCK"; then
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is running but not answering yet; waiting"
  else
    # A stale pidfile from a killed dockerd blocks a new one.
    if [ -f /var/run/docker.pid ] && ! $SUDO kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then $SUDO rm -f /var/run/docker.pid; fi
    background /var/log/fizz-dockerd.log "$(command -v dockerd || echo /usr/sbin/dockerd)"
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
    background /var/log/fizz-podman.log "$(command -v podman)" system service --time=0 "unix://$PODMAN_SOCK"
    say "started podman system service (log: /var/log/fizz-podman.log)"
  fi
  started_podman=1
fi

deadline=$((SECONDS + WAIT_SECONDS))
until ping_sock "$DOCKER_SOCK" && ping_sock "$PODMAN_SOCK"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    if ! ping_sock "$DOCKER_SOCK"; then
      $SUDO tail -n 20 /var/log/fizz-dockerd.log >&2 2>/dev/null || true
      die "docker did not answer on $DOCKER_SOCK within ${WAIT_SECONDS}s (log above)"
    fi
    $SUDO tail -n 20 /var/log/fizz-podman.log >&2 2>/dev/null || true
    die "podman did not answer on $PODMAN_SOCK within ${WAIT_SECONDS}s (log above)"
  fi
  sleep 0.5
done
[ "$started_docker" = 1 ] && say "docker answers on $DOCKER_SOCK"
[ "$started_podman" = 1 ] && say "podman answers on $PODMAN_SOCK"

# Tests run as this user; on a throwaway CI machine, open the sockets to it.
if [ -n "$SUDO" ]; then
  for s in "$DOCKER_SOCK" "$PODMAN_SOCK"; do
    if ! curl -fsS --max-time 3 --unix-socket "$s" http://localhost/_ping >/dev/null 2>&1; then
      $SUDO chmod 666 "$s"
      say "made $s usable by $(id -un)"
    fi
  done
fi

# --- fixture images ---------------------------------------------------------
# Both tags hold busybox; :2 differs by a file and a label so its ID differs
# (rolling-update tests switch between them).
DOCKER=(${SUDO} docker -H "unix://$DOCKER_SOCK")
PODMAN=(${SUDO} podman)
docker_has() { "${DOCKER[@]}" image inspect "$1" >/dev/null 2>&1; }
podman_has() { "${PODMAN[@]}" image exists "$1" >/dev/null 2>&1; }

need=()
for img in "${IMAGES[@]}"; do
  docker_has "$img" || need+=("docker:$img")
  podman_has "$img" || need+=("podman:$img")
done

if [ "${#need[@]}" -gt 0 ]; then
  command -v docker >/dev/null || die "the docker CLI is missing (it comes with docker.io)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for tag in 1 2; do
    root="$work/rootfs$tag"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,tmp,etc,www,root,proc,sys,dev,var}
    chmod 1777 "$root/tmp"
    cp "$BUSYBOX" "$root/bin/busybox"
    for app in $("$BUSYBOX" --list-full); do
      [ -e "$root/$app" ] || ln -s /bin/busybox "$root/$app"
    done
    [ -e "$root/bin/sh" ] && [ -e "$root/bin/sleep" ] || die "busybox applet links missing in the fixture rootfs"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    echo "fizz-test busybox fixture version $tag" >"$root/etc/fizz-fixture"
    echo "hello from fizz-test/busybox:$tag" >"$root/www/index.html"
    tar --owner=0 --group=0 -C "$root" -cf "$work/rootfs$tag.tar" .
  done
  for item in "${need[@]}"; do
    engine=${item%%:*}
    img=${item#*:}
    tag=${img##*:}
    changes=(--change 'CMD ["sh"]' --change "LABEL io.fizz.fixture=busybox-$tag" --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin')
    if [ "$engine" = docker ]; then
      "${DOCKER[@]}" import "${changes[@]}" "$work/rootfs$tag.tar" "$img" >/dev/null || die "docker import of $img failed"
    else
      "${PODMAN[@]}" import -q "${changes[@]}" "$work/rootfs$tag.tar" "$img" >/dev/null || die "podman import of $img failed"
    fi
    say "built $img on $engine"
  done
fi
# Stand-ins for Docker Hub's wordpress and mariadb images (examples/wordpress-compose.yml),
# built offline from Debian packages; cached by content hash, about 2 minutes when
# missing. FIZZ_SETUP_WORDPRESS=0 skips them (the quick start does not need them).
wordpress_images=""
if [ "${FIZZ_SETUP_WORDPRESS:-1}" != 0 ]; then
  $SUDO bash "$(dirname "$0")/images/build-wordpress.sh" || die "building the wordpress/mariadb stand-in images failed (above)"
  wordpress_images=" wordpress:6 mariadb:10.11"
fi
say "ready: docker at $DOCKER_SOCK, podman at $PODMAN_SOCK, images ${IMAGES[*]}$wordpress_images"
exit 0
