#!/usr/bin/env bash
# Removes what the multi-host test harness (test/cluster/harness.ts) created for
# one or more cluster prefixes: containers, agents, dockerds (with their
# containerd and shims), container processes, mounts under the data dirs, data
# dirs, cgroups, network namespaces, veths, the bridge and its FORWARD rule.
# Idempotent: anything already gone is skipped. Cluster.destroy() runs this, and
# it is the tool for leftovers after a crashed or killed test run.
#
#   bash test/cluster/cleanup.sh PREFIX...     one or more clusters by prefix
#   bash test/cluster/cleanup.sh --all         every harness cluster whose owning
#                                              process is gone
#   bash test/cluster/cleanup.sh --all --force every harness cluster, even live ones
#
# Names (kept in sync with harness.ts): namespace fizzc-P-I, host-side veth
# fzcP-I, bridge fizzbr-P, cgroup parent /fizzc-P-I, data dir
# ${FIZZ_CLUSTER_DIR:-/tmp/fizz-cluster}/P. Exit status 0 when nothing is left.
set -uo pipefail

BASE=${FIZZ_CLUSTER_DIR:-/tmp/fizz-cluster}
PREFIX_RE='^[a-z0-9]{1,8}$'

log() { printf 'cleanup: %s\n' "$*" >&2; }

namespaces_of() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^fizzc-$1-[0-9]+$" || true; }

cgroups_of() { find /sys/fs/cgroup/ -mindepth 1 -maxdepth 2 -type d -name "fizzc-$1-*" 2>/dev/null || true; }

# Every live process that belongs to cluster $1: in one of its namespaces, in
# one of its cgroups, or an engine process (dockerd, containerd, shim) naming
# its data dir on the command line (which outlives a deleted namespace).
pids_of() {
  local p=$1 dir="$BASE/$1/" ns ino f c pid cg
  local inos=()
  for ns in $(namespaces_of "$p"); do
    ino=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null) && inos+=("$ino")
  done
  {
    if [ ${#inos[@]} -gt 0 ]; then
      stat -L -c '%n %i' /proc/[0-9]*/ns/net 2>/dev/null |
        awk -v set=" ${inos[*]} " 'index(set, " " $2 " ") { split($1, a, "/"); print a[3] }'
    fi
    local engines=()
    for f in /proc/[0-9]*/comm; do
      { read -r c <"$f"; } 2>/dev/null || continue
      case "$c" in dockerd | containerd | containerd-shim* | docker-proxy | runc) ;; *) continue ;; esac
      pid=${f#/proc/}
      engines+=("/proc/${pid%/comm}/cmdline")
    done
    if [ ${#engines[@]} -gt 0 ]; then
      grep -alsF -- "$dir" "${engines[@]}" | cut -d/ -f3
    fi
    for cg in $(cgroups_of "$p"); do
      find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
    done
  } | grep -vxF -e "$$" -e "$BASHPID" | sort -un
}

graceful_stop_host() {
  local h=$1 sock="$1/docker.sock" pidf="$1/docker.pid" ids pid i
  if [ -S "$sock" ] && ids=$(timeout 5 docker -H "unix://$sock" ps -aq 2>/dev/null); then
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      timeout 30 docker -H "unix://$sock" rm -f -v $ids >/dev/null 2>&1 || log "rm -f on $sock failed; killing instead"
    fi
  fi
  if [ -f "$pidf" ] && pid=$(cat "$pidf" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
}

cleanup_prefix() {
  local p=$1 dir="$BASE/$1" h pids i mnts ns cg link
  if ! [[ $p =~ $PREFIX_RE ]]; then log "bad prefix '$p' (want [a-z0-9]{1,8})"; return 1; fi

  # 1. Graceful where an engine still answers: rm -f unmounts and tears down
  #    container network namespaces properly; then SIGTERM the daemons.
  if [ -d "$dir" ]; then
    for h in "$dir"/h*; do
      [ -d "$h" ] && graceful_stop_host "$h" &
    done
    wait
  fi

  # 2. SIGKILL whatever is left (agents, dockerd, containerd, shims, containers).
  for i in $(seq 1 25); do
    pids=$(pids_of "$p")
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.2
  done
  pids=$(pids_of "$p")
  [ -n "$pids" ] && log "processes of $p still alive: $(echo $pids)"

  # 3. Unmount everything under the data dir, deepest first (overlay rootfs,
  #    shm, nsfs handles in exec-root/netns, the data-root bind on itself).
  for i in 1 2 3 4 5; do
    mnts=$(awk -v d="$dir/" 'index($5, d) == 1 || $5 == substr(d, 1, length(d) - 1) {print $5}' /proc/self/mountinfo | sort -r)
    [ -z "$mnts" ] && break
    for m in $mnts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  done

  # 4. Shim sockets of SIGKILLed shims: containerd names them
  #    /run/containerd/s/sha256(<containerd socket>/moby/<container id>).
  if [ -d "$dir" ]; then
    for h in "$dir"/h*; do
      [ -d "$h/data/containers" ] || continue
      for id in $(ls "$h/data/containers" 2>/dev/null); do
        rm -f "/run/containerd/s/$(printf '%s' "$h/exec/containerd/containerd.sock/moby/$id" | sha256sum | cut -d' ' -f1)"
      done
    done
  fi

  # 5. Data dirs (never crossing into a mount that somehow survived).
  [ -e "$dir" ] && rm -rf --one-file-system "$dir" 2>/dev/null

  # 6. Container cgroups, children before parents.
  for cg in $(cgroups_of "$p"); do
    find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
  done

  # 7. Namespaces (their eth0 ends take the veth pairs with them), stray
  #    host-side veths, the bridge.
  for ns in $(namespaces_of "$p"); do ip netns del "$ns" 2>/dev/null; done
  # wireguard-go control sockets of the hosts' mesh interfaces (harness.ts meshInterface).
  rm -f /var/run/wireguard/fzm"$p"-*.sock 2>/dev/null
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^fzc$p-[0-9]+$"); do
    ip link del "$link" 2>/dev/null
  done
  ip link show "fizzbr-$p" >/dev/null 2>&1 && ip link del "fizzbr-$p" 2>/dev/null

  # 8. The FORWARD rule (the harness adds it once; loop in case of repeats).
  for i in $(seq 1 20); do
    iptables -D FORWARD -i "fizzbr-$p" -o "fizzbr-$p" -m comment --comment "fizz-cluster:$p" -j ACCEPT 2>/dev/null || break
  done
  for i in $(seq 1 20); do
    iptables -D FORWARD -i "fizzbr-$p" -o "fizzbr-$p" -j ACCEPT 2>/dev/null || break
  done

  leftovers "$p"
}

# Prints what is left of cluster $1; returns 1 if anything is.
leftovers() {
  local p=$1 left=() pids
  pids=$(pids_of "$p")
  [ -n "$pids" ] && left+=("processes: $(echo $pids)")
  [ -n "$(namespaces_of "$p")" ] && left+=("namespaces: $(namespaces_of "$p" | tr '\n' ' ')")
  ip link show "fizzbr-$p" >/dev/null 2>&1 && left+=("bridge fizzbr-$p")
  iptables -S FORWARD 2>/dev/null | grep -qE -- "-i fizzbr-$p -o fizzbr-$p " && left+=("FORWARD rule for fizzbr-$p")
  grep -qF " $BASE/$p/" /proc/self/mountinfo && left+=("mounts under $BASE/$p")
  [ -e "$BASE/$p" ] && left+=("dir $BASE/$p")
  [ -n "$(cgroups_of "$p")" ] && left+=("cgroups: $(cgroups_of "$p" | tr '\n' ' ')")
  if [ ${#left[@]} -gt 0 ]; then
    log "left over for $p: ${left[*]}"
    return 1
  fi
  return 0
}

all_prefixes() {
  {
    [ -d "$BASE" ] && find "$BASE" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'
    ip netns list 2>/dev/null | awk '{print $1}' | sed -nE 's/^fizzc-([a-z0-9]+)-[0-9]+$/\1/p'
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed -nE 's/^fizzbr-([a-z0-9]+)(@.*)?$/\1/p'
    iptables -S FORWARD 2>/dev/null | sed -nE 's/.*fizz-cluster:([a-z0-9]+).*/\1/p'
    find /sys/fs/cgroup/ -mindepth 1 -maxdepth 2 -type d -name 'fizzc-*' -printf '%f\n' 2>/dev/null |
      sed -nE 's/^fizzc-([a-z0-9]+)-[0-9]+$/\1/p'
  } | grep -E "$PREFIX_RE" | sort -u
}

owner_alive() {
  local pid
  pid=$(cat "$BASE/$1/owner" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

main() {
  if [ "$(id -u)" != 0 ]; then log "needs root (ip netns, iptables, mounts)"; return 1; fi
  if [ $# -eq 0 ]; then sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; return 2; fi
  local all=0 force=0 rc=0 p prefixes=()
  for a in "$@"; do
    case "$a" in
      --all) all=1 ;;
      --force) force=1 ;;
      -*) log "unknown option $a"; return 2 ;;
      *) prefixes+=("$a") ;;
    esac
  done
  if [ $all = 1 ]; then
    for p in $(all_prefixes); do
      if [ $force = 0 ] && owner_alive "$p"; then log "skipping $p: its owner $(cat "$BASE/$p/owner") is alive (--force to remove)"; continue; fi
      prefixes+=("$p")
    done
    # Saved image archives whose process is gone.
    for f in "$BASE"/images-*.tar; do
      [ -e "$f" ] || continue
      pid=${f##*/images-}; pid=${pid%%[-.]*}
      if [ $force = 1 ] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$f"; fi
    done
  fi
  for p in "${prefixes[@]}"; do
    cleanup_prefix "$p" || rc=1
  done
  [ -d "$BASE" ] && rmdir "$BASE" 2>/dev/null
  return $rc
}

main "$@"
