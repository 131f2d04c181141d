#!/bin/bash
# Entrypoint of the fizz stand-in for the official wordpress image (Apache
# variant), same contract: on the first start of an empty /var/www/html
# (usually a named volume) it copies WordPress in; when there is no
# wp-config.php and a WORDPRESS_* variable is set, it writes one that reads
# WORDPRESS_DB_HOST/USER/PASSWORD/NAME, WORDPRESS_TABLE_PREFIX,
# WORDPRESS_DEBUG, WORDPRESS_CONFIG_EXTRA, the salts, and each *_FILE form,
# at run time. Then it runs the command (apache2-foreground).
set -Eeuo pipefail

if [[ "$1" == apache2* ]] || [ "$1" = php-fpm ]; then
	cd /var/www/html
	if [ ! -e index.php ] && [ ! -e wp-includes/version.php ]; then
		echo >&2 "WordPress not found in $PWD - copying now..."
		if [ -n "$(find . -mindepth 1 -maxdepth 1 -not -name wp-content)" ]; then
			echo >&2 "WARNING: $PWD is not empty! (copying anyhow)"
		fi
		tar -C /usr/src/wordpress -cf - --one-file-system . | tar -xf - --no-overwrite-dir
		chown -R www-data:www-data . 2>/dev/null || true
		echo >&2 "Complete! WordPress has been successfully copied to $PWD"
	fi

	wpEnvs=( "${!WORDPRESS_@}" )
	if [ ! -s wp-config.php ] && [ "${#wpEnvs[@]}" -gt 0 ]; then
		for wpConfigDocker in wp-config-docker.php /usr/src/wordpress/wp-config-docker.php; do
			if [ -s "$wpConfigDocker" ]; then
				echo >&2 "No 'wp-config.php' found in $PWD, but 'WORDPRESS_...' variables supplied; copying '$wpConfigDocker' (${wpEnvs[*]})"
				# Unique salts, so the file is safe to keep (the variables still win).
				awk '
					/put your unique phrase here/ {
						cmd = "head -c1m /dev/urandom | sha1sum | cut -d\\  -f1"
						cmd | getline str
						close(cmd)
						gsub("put your unique phrase here", str)
					}
					{ print }
				' "$wpConfigDocker" > wp-config.php
				chown www-data:www-data wp-config.php 2>/dev/null || true
				break
			fi
		done
	fi
fi

exec "$@"
