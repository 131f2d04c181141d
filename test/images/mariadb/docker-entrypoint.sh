#!/bin/bash
# Entrypoint of the fizz stand-in for the official mariadb image, same
# contract for the variables it knows. On the first start with an empty
# /var/lib/mysql it makes the data directory: root's password from
# MARIADB_ROOT_PASSWORD (or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD /
# MARIADB_RANDOM_ROOT_PASSWORD), MARIADB_ROOT_HOST (default %), the database
# MARIADB_DATABASE, the user MARIADB_USER / MARIADB_PASSWORD with all rights
# on it, a `healthcheck` user for healthcheck.sh, and runs
# /docker-entrypoint-initdb.d/*.sql and *.sh. Every MARIADB_X may be given as
# MYSQL_X, and as X_FILE naming a file (a compose secret). Then it runs
# mariadbd as the mysql user.
set -Eeuo pipefail

log() { echo "$(date -u '+%F %T') 0 [Note] [Entrypoint]: $*"; }
fail() { echo "$(date -u '+%F %T') 0 [ERROR] [Entrypoint]: $*" >&2; exit 1; }

# M_X := MARIADB_X, else MYSQL_X, each either direct or from the file in *_FILE.
file_env() {
	local name=$1 def=${2:-} v="" src
	for src in "MARIADB_$name" "MYSQL_$name"; do
		local file_var="${src}_FILE"
		if [ -n "${!src:-}" ] && [ -n "${!file_var:-}" ]; then fail "both $src and $file_var are set (but are exclusive)"; fi
		if [ -n "${!src:-}" ]; then v=${!src}; break; fi
		if [ -n "${!file_var:-}" ]; then
			[ -r "${!file_var}" ] || fail "$file_var names ${!file_var}, which cannot be read"
			v=$(<"${!file_var}")
			break
		fi
	done
	printf -v "M_$name" '%s' "${v:-$def}"
}

# A value for a single-quoted SQL string.
sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }

if [ "${1:0:1}" = - ]; then set -- mariadbd "$@"; fi

if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
	DATADIR=/var/lib/mysql
	SOCKET=/run/mysqld/mysqld.sock
	mkdir -p /run/mysqld
	if [ "$(id -u)" = 0 ]; then chown -R mysql:mysql "$DATADIR" /run/mysqld; fi

	if [ ! -d "$DATADIR/mysql" ]; then
		file_env ROOT_PASSWORD
		file_env ALLOW_EMPTY_ROOT_PASSWORD
		file_env RANDOM_ROOT_PASSWORD
		file_env ROOT_HOST %
		file_env DATABASE
		file_env USER
		file_env PASSWORD
		if [ -z "$M_ROOT_PASSWORD" ] && [ -z "$M_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$M_RANDOM_ROOT_PASSWORD" ]; then
			fail "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD (or a *_FILE form)"
		fi
		if [ -n "$M_USER" ] && [ "$M_USER" = root ]; then fail "MARIADB_USER=root: use MARIADB_ROOT_PASSWORD for root"; fi
		if [ -n "$M_RANDOM_ROOT_PASSWORD" ]; then
			M_ROOT_PASSWORD=$(head -c 18 /dev/urandom | base64)
			log "GENERATED ROOT PASSWORD: $M_ROOT_PASSWORD"
		fi

		log "Initializing database files"
		mariadb-install-db --user=mysql --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
			--skip-test-db --default-time-zone=SYSTEM --skip-log-bin --expire-logs-days=0 >/dev/null
		log "Database files initialized"

		log "Starting temporary server"
		mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$SOCKET" --skip-log-bin \
			--loose-innodb-buffer-pool-load-at-startup=0 --loose-innodb-buffer-pool-dump-at-shutdown=0 &
		pid=$!
		for _ in $(seq 60); do
			mariadb-admin --socket="$SOCKET" -uroot ping >/dev/null 2>&1 && break
			kill -0 "$pid" 2>/dev/null || fail "the temporary server exited during initialisation"
			sleep 0.5
		done
		mariadb-admin --socket="$SOCKET" -uroot ping >/dev/null 2>&1 || fail "the temporary server did not start"
		log "Temporary server started."

		hc_password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
		rp=$(sql_escape "$M_ROOT_PASSWORD")
		{
			echo "SET @@SESSION.SQL_LOG_BIN=0;"
			echo "DELETE FROM mysql.user WHERE user NOT IN ('mysql.sys', 'mariadb.sys', 'root') OR host NOT IN ('localhost');"
			echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$rp';"
			if [ "$M_ROOT_HOST" != localhost ]; then
				echo "CREATE USER 'root'@'$(sql_escape "$M_ROOT_HOST")' IDENTIFIED BY '$rp';"
				echo "GRANT ALL ON *.* TO 'root'@'$(sql_escape "$M_ROOT_HOST")' WITH GRANT OPTION;"
			fi
			for h in 127.0.0.1 ::1 localhost; do
				echo "CREATE USER 'healthcheck'@'$h' IDENTIFIED BY '$hc_password';"
				echo "GRANT USAGE ON *.* TO 'healthcheck'@'$h';"
			done
			if [ -n "$M_DATABASE" ]; then
				log "Creating database $M_DATABASE" >&2
				echo "CREATE DATABASE IF NOT EXISTS \`${M_DATABASE//\`/\`\`}\`;"
			fi
			if [ -n "$M_USER" ] && [ -n "$M_PASSWORD" ]; then
				log "Creating user $M_USER" >&2
				echo "CREATE USER '$(sql_escape "$M_USER")'@'%' IDENTIFIED BY '$(sql_escape "$M_PASSWORD")';"
				if [ -n "$M_DATABASE" ]; then
					log "Giving user $M_USER access to schema $M_DATABASE" >&2
					echo "GRANT ALL ON \`${M_DATABASE//\`/\`\`}\`.* TO '$(sql_escape "$M_USER")'@'%';"
				fi
			fi
			echo "FLUSH PRIVILEGES;"
		} | mariadb --socket="$SOCKET" -uroot --binary-mode

		printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$SOCKET" "$hc_password" >"$DATADIR/.my-healthcheck.cnf"
		chown mysql:mysql "$DATADIR/.my-healthcheck.cnf"
		chmod 600 "$DATADIR/.my-healthcheck.cnf"

		for f in /docker-entrypoint-initdb.d/*; do
			[ -e "$f" ] || continue
			case "$f" in
				*.sh) log "$0: running $f"; . "$f" ;;
				*.sql) log "$0: running $f"; mariadb --socket="$SOCKET" -uroot -p"$M_ROOT_PASSWORD" ${M_DATABASE:+"$M_DATABASE"} <"$f" ;;
				*.sql.gz) log "$0: running $f"; gunzip -c "$f" | mariadb --socket="$SOCKET" -uroot -p"$M_ROOT_PASSWORD" ${M_DATABASE:+"$M_DATABASE"} ;;
				*) log "$0: ignoring $f" ;;
			esac
		done

		log "Stopping temporary server"
		kill "$pid"
		wait "$pid" || true
		log "Temporary server stopped"
		log "MariaDB init process done. Ready for start up."
	fi

	if [ "$(id -u)" = 0 ]; then exec setpriv --reuid=mysql --regid=mysql --init-groups "$@"; fi
fi

exec "$@"
