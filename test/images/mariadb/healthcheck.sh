#!/bin/bash
# The official mariadb image's healthcheck.sh, for the tests the fizz
# stand-in needs (compose: test: ["CMD", "healthcheck.sh", "--connect",
# "--innodb_initialized"]). Each --test must pass; exit 0 when all do.
#   --connect             the server accepts TCP connections (not the
#                         init-time server, which listens on no port)
#   --innodb_initialized  the InnoDB engine is up
# It connects as the `healthcheck` user the entrypoint made, with the
# credentials in /var/lib/mysql/.my-healthcheck.cnf. --su-mysql and
# --defaults-extra-file=… are accepted as in the original.
set -uo pipefail

extra_file=/var/lib/mysql/.my-healthcheck.cnf
tests=()
for arg in "$@"; do
	case "$arg" in
		--connect | --innodb_initialized) tests+=("${arg#--}") ;;
		--su-mysql | --su=mysql) ;;
		--defaults-extra-file=*) extra_file=${arg#*=} ;;
		*) echo "healthcheck.sh: unknown option '$arg' (this stand-in knows --connect and --innodb_initialized)" >&2; exit 1 ;;
	esac
done
[ "${#tests[@]}" -gt 0 ] || { echo "healthcheck.sh: name a test, e.g. --connect" >&2; exit 1; }

client() {
	mariadb --defaults-extra-file="$extra_file" --skip-ssl -h 127.0.0.1 --protocol=tcp "$@"
}

for t in "${tests[@]}"; do
	case "$t" in
		connect)
			# Access denied still means the server is up; only "Can't connect" fails.
			if client -e 'select 1' 2>&1 | grep -qF "Can't connect"; then
				echo "healthcheck connect failed" >&2
				exit 1
			fi
			;;
		innodb_initialized)
			out=$(client -N -B -e "select 1 from information_schema.ENGINES where engine='innodb' and support in ('YES', 'DEFAULT', 'ENABLED')" 2>&1)
			if [ "$out" != 1 ]; then
				echo "healthcheck innodb_initialized failed: ${out:-no InnoDB}" >&2
				exit 1
			fi
			;;
	esac
done
exit 0
