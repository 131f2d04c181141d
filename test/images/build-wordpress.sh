#!/usr/bin/env bash
# Builds offline stand-ins for Docker Hub's `wordpress` and `mariadb` images,
# under the same names (wordpress:6, mariadb:10.11), on Docker and on Podman,
# so examples/wordpress-compose.yml runs as written on a machine that cannot
# pull. They are made from Debian bookworm's packages: one debootstrap
# (--variant=minbase) base, then `apt-get install --no-install-recommends`
# of wordpress + apache2 + libapache2-mod-php + php-mysql, or mariadb-server,
# in a copy of it; `docker import`, then `docker save | podman load` (one
# build for both engines). The entrypoints in test/images/{wordpress,mariadb}/
# honour the official images' main variables (WORDPRESS_DB_*, MARIADB_* and
# MYSQL_*, each with its *_FILE form for secrets), and mariadb has the official
# image's healthcheck.sh (--connect, --innodb_initialized).
#
# Idempotent and cached: every image carries the label io.fizz.standin=<hash of
# this script and the stand-in files>; an engine that already has both images
# with that label is left alone. An image under one of these names that is not
# a stand-in (a real one, pulled on a normal machine) is never replaced.
# Needs root (debootstrap, chroot) and the normal Debian mirror.
#
#   bash test/images/build-wordpress.sh            # build what is missing
#   FIZZ_STANDIN_ENGINES=docker bash test/images/build-wordpress.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
WP_IMAGE=wordpress:6
DB_IMAGE=mariadb:10.11
MIRROR=${FIZZ_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ENGINES=${FIZZ_STANDIN_ENGINES:-docker podman}
DOCKER_SOCK=/var/run/docker.sock

say() { echo "build-wordpress: $*"; }
die() { echo "build-wordpress: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && exec sudo -n -E bash "$0" "$@"; die "needs root (debootstrap, chroot)"; }

HASH=$(cd "$HERE" && cat build-wordpress.sh wordpress/* mariadb/* | sha256sum | cut -c1-16)
LABEL=io.fizz.standin

# The stand-in label of an image on an engine: the hash, "none" for an image
# that is not a stand-in, "" when the image is absent.
label_of() {
  local engine=$1 img=$2 out
  if [ "$engine" = docker ]; then
    out=$(docker -H "unix://$DOCKER_SOCK" image inspect --format '{{json .Config.Labels}}' "$img" 2>/dev/null) || { echo ""; return; }
  else
    out=$(podman image inspect --format '{{json .Labels}}' "$img" 2>/dev/null) || { echo ""; return; }
  fi
  out=$(printf '%s' "$out" | { grep -o "\"$LABEL\":\"[0-9a-f]*\"" || true; } | cut -d'"' -f4)
  echo "${out:-none}"
}

# An engine needs the build when an image is absent or an older stand-in;
# a real image under the name (label "none") is kept.
needs() {
  local img l
  for img in "$WP_IMAGE" "$DB_IMAGE"; do
    l=$(label_of "$1" "$img")
    [ "$l" = "$HASH" ] || [ "$l" = none ] || return 0
  done
  return 1
}
need=()
for engine in $ENGINES; do needs "$engine" && need+=("$engine"); done
if [ "${#need[@]}" = 0 ]; then
  say "ready: $WP_IMAGE and $DB_IMAGE on $ENGINES (stand-ins $HASH, or real images)"
  exit 0
fi

started=$SECONDS
# Older stand-ins are removed once replaced (each is ~400 MB), unless a container still uses them.
stale=()
for engine in docker podman; do
  for img in "$WP_IMAGE" "$DB_IMAGE"; do
    l=$(label_of "$engine" "$img")
    [ -n "$l" ] && [ "$l" != none ] && [ "$l" != "$HASH" ] || continue
    if [ "$engine" = docker ]; then id=$(docker -H "unix://$DOCKER_SOCK" image inspect --format '{{.Id}}' "$img"); else id=$(podman image inspect --format '{{.Id}}' "$img"); fi
    stale+=("$engine:$id")
  done
done
# Docker holds the one build; Podman loads it from there.
build_needed=0
needs docker && build_needed=1

if [ "$build_needed" = 1 ]; then
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || die "debootstrap is missing (apt-get install debootstrap; test/setup-engines.sh installs it)"
  work=$(mktemp -d /var/tmp/fizz-standin.XXXXXX)
  # Unmounts every /proc mounted in the work dir, then removes it (never through a live mount).
  cleanup() {
    local m
    for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts); do umount -l "$m" 2>/dev/null || true; done
    if awk -v w="$work/" 'index($2, w) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
      echo "build-wordpress: warning: a mount is left under $work; not removing it" >&2
      return
    fi
    rm -rf "$work"
  }
  trap cleanup EXIT

  say "debootstrap bookworm (minbase) from $MIRROR"
  PATH=$PATH:/usr/sbin:/sbin debootstrap --variant=minbase bookworm "$work/base" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  # No daemons start inside the chroot; dpkg skips fsync (the rootfs is thrown away on failure).
  printf '#!/bin/sh\nexit 101\n' >"$work/base/usr/sbin/policy-rc.d"
  chmod 755 "$work/base/usr/sbin/policy-rc.d"
  echo force-unsafe-io >"$work/base/etc/dpkg/dpkg.cfg.d/fizz-unsafe-io"
  # Docs, man pages and translations stay out of the images, as in Debian's own.
  cat >"$work/base/etc/dpkg/dpkg.cfg.d/fizz-nodoc" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
  chroot "$work/base" apt-get update -qq >"$work/apt-update.log" 2>&1 || { cat "$work/apt-update.log" >&2; die "apt-get update in the chroot failed"; }

  # apt-get install in a copy of the base; both images at once (the mirror and dpkg overlap).
  install_into() {
    local name=$1
    shift
    chroot "$work/$name" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >"$work/$name.apt.log" 2>&1
  }
  for name in wordpress mariadb; do
    cp -a "$work/base" "$work/$name"
    mount -t proc proc "$work/$name/proc"
  done
  say "apt-get install (wordpress, mariadb) in two copies of the base"
  install_into wordpress wordpress wordpress-theme-twentytwentythree apache2 libapache2-mod-php php-mysql &
  wp_pid=$!
  install_into mariadb mariadb-server &
  db_pid=$!
  wait "$wp_pid" || { tail -n 30 "$work/wordpress.apt.log" >&2; die "apt-get install of wordpress failed (log above)"; }
  wait "$db_pid" || { tail -n 30 "$work/mariadb.apt.log" >&2; die "apt-get install of mariadb-server failed (log above)"; }
  umount "$work/wordpress/proc" "$work/mariadb/proc"

  # --- wordpress: the official image's layout --------------------------------
  r=$work/wordpress
  # WordPress itself in /usr/src/wordpress (copied into the /var/www/html volume on
  # first start); Debian's symlinks into system libraries resolved, its
  # multi-host wp-config.php replaced by the entrypoint's environment-driven one.
  # (Inside the chroot: the symlinks are absolute paths of the image.)
  chroot "$r" sh -ec '
    cp -aL /usr/share/wordpress /usr/src/wordpress
    rm -rf /usr/src/wordpress/wp-content
    cp -aL /var/lib/wordpress/wp-content /usr/src/wordpress/wp-content
    cp -aL /usr/share/wordpress/wp-content/. /usr/src/wordpress/wp-content/
    rm -f /usr/src/wordpress/wp-config.php /usr/src/wordpress/.htaccess
    rm -rf /usr/share/wordpress /var/lib/wordpress /etc/wordpress'
  chown -R 33:33 "$r/usr/src/wordpress"
  install -m 644 "$HERE/wordpress/wp-config-docker.php" "$r/usr/src/wordpress/wp-config-docker.php"
  install -m 755 "$HERE/wordpress/docker-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
  install -m 755 "$HERE/wordpress/apache2-foreground" "$r/usr/local/bin/apache2-foreground"
  install -m 644 "$HERE/wordpress/apache-wordpress.conf" "$r/etc/apache2/conf-available/docker-wordpress.conf"
  chroot "$r" sh -c 'a2enmod -q rewrite expires >/dev/null && a2enconf -q docker-wordpress >/dev/null'
  rm -rf "$r/var/www/html" && mkdir -p "$r/var/www/html" && chown 33:33 "$r/var/www/html"
  # Logs to the container's stdout/stderr, as the official image does.
  ln -sfT /dev/stdout "$r/var/log/apache2/access.log"
  ln -sfT /dev/stderr "$r/var/log/apache2/error.log"
  ln -sfT /dev/stdout "$r/var/log/apache2/other_vhosts_access.log"

  # --- mariadb ---------------------------------------------------------------
  r=$work/mariadb
  # The data directory is made by the entrypoint from the MARIADB_* variables.
  rm -rf "$r/var/lib/mysql" && mkdir -p "$r/var/lib/mysql" "$r/run/mysqld"
  chroot "$r" chown mysql:mysql /var/lib/mysql /run/mysqld
  install -m 644 "$HERE/mariadb/fizz-standin.cnf" "$r/etc/mysql/mariadb.conf.d/99-fizz-standin.cnf"
  install -m 755 "$HERE/mariadb/docker-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
  install -m 755 "$HERE/mariadb/healthcheck.sh" "$r/usr/local/bin/healthcheck.sh"

  for r in "$work/wordpress" "$work/mariadb"; do
    chroot "$r" apt-get clean
    rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/debconf/*-old "$r"/var/log/apt/* "$r"/var/log/dpkg.log "$r"/tmp/* \
      "$r/usr/sbin/policy-rc.d" "$r/etc/dpkg/dpkg.cfg.d/fizz-unsafe-io"
  done

  common=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change "LABEL $LABEL=$HASH"
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]')
  import_image() {
    local dir=$1 img=$2
    shift 2
    if [ "$(label_of docker "$img")" = none ]; then say "docker has a real $img; keeping it"; return; fi
    say "importing $img into docker"
    tar --numeric-owner -C "$dir" -cf - . | docker -H "unix://$DOCKER_SOCK" import "${common[@]}" "$@" - "$img" >/dev/null \
      || die "docker import of $img failed"
  }
  import_image "$work/wordpress" "$WP_IMAGE" --change 'CMD ["apache2-foreground"]' --change 'WORKDIR /var/www/html' \
    --change 'VOLUME /var/www/html' --change 'EXPOSE 80'
  import_image "$work/mariadb" "$DB_IMAGE" --change 'CMD ["mariadbd"]' --change 'VOLUME /var/lib/mysql' --change 'EXPOSE 3306'
  cleanup
  trap - EXIT
fi

for engine in "${need[@]}"; do
  [ "$engine" = podman ] || continue
  load=()
  for img in "$WP_IMAGE" "$DB_IMAGE"; do
    l=$(label_of podman "$img")
    [ "$l" = "$HASH" ] || [ "$l" = none ] || load+=("$img")
  done
  say "loading ${load[*]} into podman (docker save | podman load)"
  docker -H "unix://$DOCKER_SOCK" save "${load[@]}" | podman load -q >/dev/null || die "podman load failed"
  # Podman files Docker's short names under localhost/; a pull would have made docker.io/library/….
  for img in "${load[@]}"; do
    podman tag "localhost/$img" "docker.io/library/$img" && podman untag "localhost/$img" "localhost/$img" || die "podman tag of $img failed"
  done
done
for engine in $ENGINES; do
  for img in "$WP_IMAGE" "$DB_IMAGE"; do
    l=$(label_of "$engine" "$img")
    [ "$l" = "$HASH" ] || [ "$l" = none ] || die "$engine has no $img stand-in after the build (label '$l')"
  done
done
for item in "${stale[@]+"${stale[@]}"}"; do
  if [ "${item%%:*}" = docker ]; then docker -H "unix://$DOCKER_SOCK" image rm "${item#*:}" >/dev/null 2>&1 || true; else podman image rm "${item#*:}" >/dev/null 2>&1 || true; fi
done
size() { docker -H "unix://$DOCKER_SOCK" image inspect --format '{{.Size}}' "$1" | awk '{printf "%d MB", $1/1e6}'; }
say "built $WP_IMAGE ($(size "$WP_IMAGE")) and $DB_IMAGE ($(size "$DB_IMAGE")), stand-ins $HASH, for ${need[*]} in $((SECONDS - started)) s"
