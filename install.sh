#!/bin/sh
# Fizz installer.
#
#   curl -fsSL https://github.com/fizz-orchestrator/fizz/releases/latest/download/install.sh | sh
#   curl -fsSL .../install.sh | sh -s -- --systemd --engine podman
#
# Downloads fizz-<os>-<arch>.tar.gz and SHA256SUMS from the release URL, verifies the
# checksum (refusing, and installing nothing, on a mismatch), and installs `fizz` to
# /usr/local/bin (root) or ~/.local/bin (non-root). If no container engine is present it
# installs one with the OS package manager (Docker, or Podman on dnf/yum systems) and
# starts it. Safe to run again: it replaces the binary atomically and leaves an
# up-to-date install untouched.
#
# Options:
#   --systemd            also install and enable a systemd unit running `fizz agent`
#   --engine E           engine to install if none is found: docker or podman
#   --no-engine          never install a container engine
#   --no-mesh            never install WireGuard tools (wireguard-tools, and
#                        wireguard-go where the kernel has no module)
#   --version X          install release X instead of the latest
#   -h, --help           this text
# Environment:
#   FIZZ_BASE_URL        where the release files are (default: the latest GitHub release)
#   FIZZ_INSTALL_DIR     install directory (default /usr/local/bin, or ~/.local/bin as non-root)
#   FIZZ_SYSTEMD_DIR     where --systemd writes fizz.service (default /etc/systemd/system)
#   FIZZ_NO_SUDO=1       never use sudo; fail instead when root is needed
#   FIZZ_OS, FIZZ_ARCH   override the detected OS / architecture
#   FIZZ_LIBC            override the detected C library: glibc or musl (Alpine)
#   FIZZ_ENGINE_SOCKETS  engine sockets that count as "an engine is present"
#
# Everything is inside functions and main runs on the last line, so a download cut
# short in `curl | sh` runs nothing.

FIZZ_RELEASES=https://github.com/fizz-orchestrator/fizz/releases

say() { printf 'fizz-install: %s\n' "$*"; }
warn() { printf 'fizz-install: warning: %s\n' "$*" >&2; }
die() {
  printf 'fizz-install: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  if [ -f "$1" ] && [ "$(sed -n 2p "$1")" = "# Fizz installer." ]; then
    sed -n '2,29p' "$1" | sed 's/^# \{0,1\}//'
  else # piped into sh: no file to read this header from
    echo "usage: curl -fsSL <url>/install.sh | sh -s -- [--systemd] [--engine docker|podman] [--no-engine] [--no-mesh] [--version X]"
    echo "env: FIZZ_BASE_URL, FIZZ_INSTALL_DIR, FIZZ_SYSTEMD_DIR, FIZZ_NO_SUDO=1"
  fi
}

has() { command -v "$1" >/dev/null 2>&1; }

is_root() { [ "$(id -u)" = 0 ]; }

# Runs a command as root: directly when root, through sudo unless FIZZ_NO_SUDO.
as_root() {
  if is_root; then
    "$@"
  elif [ -z "${FIZZ_NO_SUDO:-}" ] && has sudo; then
    sudo "$@"
  else
    warn "needs root to run: $*"
    return 1
  fi
}

can_be_root() { is_root || { [ -z "${FIZZ_NO_SUDO:-}" ] && has sudo; }; }

detect_platform() {
  os=${FIZZ_OS:-$(uname -s)}
  case "$os" in
    Linux | linux) os=linux ;;
    Darwin | darwin) die "macOS is not supported yet: fizz ships for Linux (x64, arm64); run it in a Linux VM" ;;
    *) die "unsupported operating system '$os': fizz ships for Linux (x64, arm64)" ;;
  esac
  arch=${FIZZ_ARCH:-$(uname -m)}
  case "$arch" in
    x86_64 | amd64 | x64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "unsupported architecture '$arch': fizz ships for linux-x64 and linux-arm64" ;;
  esac
  # musl systems (Alpine) need the -musl build: a glibc binary does not start there.
  libc=${FIZZ_LIBC:-}
  if [ -z "$libc" ]; then
    libc=glibc
    for f in /lib/ld-musl-*.so.1; do [ -e "$f" ] && libc=musl; done
    for f in /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.* /lib/*-linux-gnu/ld-linux-*.so.*; do
      [ -e "$f" ] && libc=glibc # both present (musl installed on glibc): glibc
    done
  fi
  case "$libc" in
    glibc | gnu) suffix="" ;;
    musl) suffix=-musl ;;
    *) die "unknown C library '$libc' (FIZZ_LIBC): use glibc or musl" ;;
  esac
}

download() { # url file
  if has curl; then
    curl -fsSL --retry 2 -o "$2" "$1" || die "could not download $1"
  elif has wget; then
    wget -q -O "$2" "$1" || die "could not download $1"
  else
    die "need curl or wget to download fizz"
  fi
}

sha256_of() {
  if has sha256sum; then
    sha256sum "$1" | cut -d' ' -f1
  elif has shasum; then
    shasum -a 256 "$1" | cut -d' ' -f1
  elif has openssl; then
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  else
    die "need sha256sum, shasum or openssl to verify the download"
  fi
}

default_install_dir() {
  if is_root; then
    echo /usr/local/bin
  else
    [ -n "${HOME:-}" ] || die "HOME is not set; set FIZZ_INSTALL_DIR"
    echo "$HOME/.local/bin"
  fi
}

fetch_and_verify() {
  asset="fizz-$os-$arch$suffix.tar.gz"
  download "$base/SHA256SUMS" "$tmp/SHA256SUMS"
  expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS" | tr 'A-F' 'a-f')
  if [ -z "$expected" ]; then
    [ -z "$suffix" ] || die "this release has no musl build ($asset is not in SHA256SUMS from $base); nothing was installed"
    die "SHA256SUMS from $base has no entry for $asset; nothing was installed"
  fi
  say "downloading $base/$asset"
  download "$base/$asset" "$tmp/$asset"
  actual=$(sha256_of "$tmp/$asset")
  if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for $asset: expected $expected, got $actual. The download is corrupted or was tampered with; nothing was installed"
  fi
  say "checksum verified ($asset sha256 $actual)"
  mkdir "$tmp/x"
  tar -xzf "$tmp/$asset" -C "$tmp/x" fizz || die "$asset is not a valid fizz tarball; nothing was installed"
  [ -f "$tmp/x/fizz" ] || die "$asset does not contain fizz; nothing was installed"
  chmod 0755 "$tmp/x/fizz"
  new_version=$("$tmp/x/fizz" --version 2>"$tmp/run.err") || {
    head -3 "$tmp/run.err" >&2
    die "the downloaded fizz does not run on this machine ($os-$arch, $libc); nothing was installed"
  }
  if [ -n "$want_version" ]; then
    case "$new_version" in
      "fizz ${want_version#v} "*) ;;
      *) die "asked for version $want_version but $base has '$new_version'; nothing was installed" ;;
    esac
  fi
}

install_binary() {
  dir=${FIZZ_INSTALL_DIR:-$(default_install_dir)}
  [ -n "$dir" ] || exit 1
  mkdir -p "$dir" || die "cannot create $dir (set FIZZ_INSTALL_DIR to a writable directory)"
  [ -w "$dir" ] || die "cannot write to $dir (run as root, or set FIZZ_INSTALL_DIR)"
  bin="$dir/fizz"
  if [ -f "$bin" ] && cmp -s "$tmp/x/fizz" "$bin"; then
    say "$bin is already $new_version; left as is"
    return
  fi
  old=""
  [ -x "$bin" ] && old=$("$bin" --version 2>/dev/null || echo "an unknown version")
  # Copy next to the target, then rename: a running fizz keeps its inode, and a
  # reader never sees a half-written file.
  cp "$tmp/x/fizz" "$dir/.fizz.new.$$" || die "cannot write to $dir"
  chmod 0755 "$dir/.fizz.new.$$"
  mv -f "$dir/.fizz.new.$$" "$bin" || {
    rm -f "$dir/.fizz.new.$$"
    die "cannot replace $bin"
  }
  if [ -n "$old" ]; then
    say "replaced $old with $new_version at $bin"
  else
    say "installed $new_version to $bin"
  fi
  case ":${PATH:-}:" in
    *":$dir:"*) ;;
    *) say "note: $dir is not on your PATH; add it: export PATH=\"$dir:\$PATH\"" ;;
  esac
}

# --- container engine -------------------------------------------------------

engine_present() {
  for e in docker podman; do
    if has "$e"; then
      found="$e ($(command -v "$e"))"
      return 0
    fi
  done
  sockets=${FIZZ_ENGINE_SOCKETS-/var/run/docker.sock /run/podman/podman.sock ${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/podman/podman.sock}}
  for s in $sockets; do
    if [ -S "$s" ]; then
      found="an engine socket at $s"
      return 0
    fi
  done
  return 1
}

package_manager() {
  for pm in apt-get dnf yum apk zypper pacman; do
    if has "$pm"; then
      echo "$pm"
      return
    fi
  done
}

engine_package() { # pm engine
  case "$1:$2" in
    apt-get:docker) echo docker.io ;;
    dnf:docker) echo moby-engine ;;
    *) echo "$2" ;;
  esac
}

pm_install() { # pm package
  case "$1" in
    apt-get)
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2"
      ;;
    dnf) as_root dnf install -y "$2" ;;
    yum) as_root yum install -y "$2" ;;
    apk) as_root apk add --no-cache "$2" ;;
    zypper) as_root zypper --non-interactive install "$2" ;;
    pacman) as_root pacman -Sy --noconfirm --needed "$2" ;;
  esac
}

start_engine() { # engine
  if [ "$1" = docker ]; then unit=docker.service; else unit=podman.socket; fi
  if has systemctl && [ -d /run/systemd/system ]; then
    if as_root systemctl enable --now "$unit"; then
      say "enabled and started $unit (systemctl enable --now $unit)"
    else
      warn "could not start $unit; start it with: systemctl enable --now $unit"
    fi
  elif has rc-service && [ "$1" = docker ]; then
    as_root rc-update add docker default >/dev/null 2>&1 || true
    if as_root rc-service docker start; then
      say "started docker with OpenRC (rc-update add docker default; rc-service docker start)"
    else
      warn "could not start docker; start it with: rc-service docker start"
    fi
  elif [ "$1" = docker ]; then
    say "no service manager found: start the engine yourself, e.g. 'dockerd &'"
  else
    say "no service manager found: start the API socket yourself, e.g. 'podman system service --time=0 &'"
  fi
}

ensure_engine() {
  if [ -n "$no_engine" ]; then
    say "not checking for a container engine (--no-engine)"
    return
  fi
  found=""
  if [ -n "$engine" ]; then
    if has "$engine"; then
      say "found $engine ($(command -v "$engine")), not installing an engine"
      return
    fi
  elif engine_present; then
    say "found $found, not installing an engine"
    return
  fi
  pm=$(package_manager)
  [ -n "$pm" ] || die "no container engine found and no supported package manager (apt-get, dnf, yum, apk, zypper, pacman); install Docker or Podman yourself, or pass --no-engine"
  if [ -z "$engine" ]; then
    case "$pm" in
      dnf | yum) engine=podman ;;
      *) engine=docker ;;
    esac
  fi
  can_be_root || die "no container engine found, and installing one needs root: rerun as root (or with sudo), install Docker or Podman yourself, or pass --no-engine"
  pkg=$(engine_package "$pm" "$engine")
  say "no container engine found: installing $engine (package $pkg) with $pm"
  pm_install "$pm" "$pkg" || die "installing $pkg with $pm failed; install Docker or Podman yourself and rerun, or pass --no-engine"
  say "installed $pkg with $pm"
  start_engine "$engine"
}

# --- mesh tools ---------------------------------------------------------------
# A cluster's nodes talk over WireGuard, driven with `wg` and `ip`; where the
# kernel has no WireGuard module the userspace wireguard-go runs the interface.
# Without them a node still runs single-node workloads (the agent says so).

wireguard_in_kernel() {
  [ -d /sys/module/wireguard ] && return 0
  has modprobe && as_root modprobe -n wireguard >/dev/null 2>&1
}

ensure_mesh_tools() {
  if [ -n "$no_mesh" ]; then
    say "not checking for WireGuard tools (--no-mesh)"
    return
  fi
  need=""
  has wg || need="wireguard-tools"
  if ! wireguard_in_kernel && ! has wireguard-go; then need="$need wireguard-go"; fi
  if [ -z "$need" ]; then
    say "found WireGuard tools ($(command -v wg)$(wireguard_in_kernel && echo ', kernel module' || echo ', wireguard-go'))"
    return
  fi
  pm=$(package_manager)
  fix="install ${need# } (e.g. apt-get install ${need# }) to let this node join a cluster's mesh; it runs single-node workloads without them"
  if [ -z "$pm" ] || ! can_be_root; then
    warn "missing ${need# }: $fix"
    return
  fi
  for p in $need; do
    say "installing $p with $pm (the cluster mesh needs it)"
    pm_install "$pm" "$p" || warn "installing $p with $pm failed: $fix"
  done
}

# --- systemd ----------------------------------------------------------------

unit_text() { # binary
  cat <<EOF
# Installed by fizz install.sh; rerunning it with --systemd rewrites this file.
[Unit]
Description=Fizz agent (leaderless container orchestrator)
Documentation=https://github.com/fizz-orchestrator/fizz
Wants=network-online.target
After=network-online.target docker.service podman.socket

[Service]
Type=simple
ExecStart=$1 agent
Restart=always
RestartSec=2
# The agent manages mesh interfaces, DNS and ingress ports.
User=root
LimitNOFILE=1048576
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
EOF
}

install_unit() {
  unit_dir=${FIZZ_SYSTEMD_DIR:-/etc/systemd/system}
  unit="$unit_dir/fizz.service"
  unit_text "$bin" >"$tmp/fizz.service"
  if [ -f "$unit" ] && cmp -s "$tmp/fizz.service" "$unit"; then
    say "$unit is up to date"
  else
    if [ -w "$unit_dir" ] || { [ ! -e "$unit_dir" ] && mkdir -p "$unit_dir" 2>/dev/null; }; then
      { cp "$tmp/fizz.service" "$unit_dir/.fizz.service.new.$$" && mv -f "$unit_dir/.fizz.service.new.$$" "$unit"; } ||
        die "cannot write $unit"
    else
      {
        as_root mkdir -p "$unit_dir" && as_root cp "$tmp/fizz.service" "$unit_dir/.fizz.service.new.$$" &&
          as_root mv -f "$unit_dir/.fizz.service.new.$$" "$unit"
      } || die "cannot write $unit: rerun as root (or with sudo)"
    fi
    say "wrote systemd unit $unit (ExecStart=$bin agent)"
  fi
  if [ -n "${FIZZ_SYSTEMD_DIR:-}" ]; then
    say "FIZZ_SYSTEMD_DIR is set: not enabling the unit"
  elif has systemctl && [ -d /run/systemd/system ]; then
    if as_root systemctl daemon-reload && as_root systemctl enable fizz.service && as_root systemctl restart fizz.service; then
      say "enabled and (re)started fizz.service"
    else
      warn "could not enable fizz.service; run: systemctl daemon-reload && systemctl enable --now fizz.service"
    fi
  else
    say "systemd is not running here: fizz.service written but not enabled"
  fi
}

main() {
  systemd="" engine="" no_engine="" no_mesh="" want_version=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --systemd) systemd=1 ;;
      --engine)
        [ $# -ge 2 ] || die "--engine needs a value: docker or podman"
        engine=$2
        shift
        ;;
      --engine=*) engine=${1#--engine=} ;;
      --no-engine) no_engine=1 ;;
      --no-mesh) no_mesh=1 ;;
      --version)
        [ $# -ge 2 ] || die "--version needs a value, e.g. --version 0.1.0"
        want_version=$2
        shift
        ;;
      --version=*) want_version=${1#--version=} ;;
      -h | --help)
        usage "$0"
        exit 0
        ;;
      *) die "unknown option '$1' (try --help)" ;;
    esac
    shift
  done
  case "$engine" in
    "" | docker | podman) ;;
    *) die "unknown engine '$engine': use --engine docker or --engine podman" ;;
  esac
  [ -z "$engine" ] || [ -z "$no_engine" ] || die "--engine and --no-engine contradict each other"
  case "$want_version" in
    "" | v[0-9]* | [0-9]*) ;;
    *) die "bad version '$want_version', expected e.g. 0.1.0" ;;
  esac

  detect_platform
  if [ -n "${FIZZ_BASE_URL:-}" ]; then
    base=${FIZZ_BASE_URL%/}
  elif [ -n "$want_version" ]; then
    base="$FIZZ_RELEASES/download/v${want_version#v}"
  else
    base="$FIZZ_RELEASES/latest/download"
  fi

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/fizz-install.XXXXXX") || die "cannot create a temporary directory"
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM

  fetch_and_verify
  install_binary
  [ -z "$systemd" ] || install_unit
  ensure_engine
  ensure_mesh_tools
  say "done: run '$bin --help' to get started"
}

main "$@"
