#!/bin/sh
# The postgres module's build: a database cluster made by initdb (as the host's
# postgres user: initdb refuses root) in $MODULE_BUILD/data, set up for a VM
# (listening on every address, trust for clients through the forwarded port,
# small memory, SysV shared memory, the unix socket in /tmp), and pg-start.
set -eu
bin=/usr/lib/postgresql/15/bin
test -x $bin/initdb || { echo "the postgres module needs PostgreSQL 15; install it with: apt-get install -y postgresql-15" >&2; exit 1; }
id postgres >/dev/null 2>&1 || { echo "the postgres module runs initdb as the host user postgres, which is missing (it comes with postgresql-common)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chown postgres "$tmp"
TZ=UTC runuser -u postgres -- $bin/initdb -D "$tmp/data" -U postgres --auth=trust --encoding=UTF8 --locale=C --wal-segsize=1 --no-sync >"$tmp/initdb.log" 2>&1 ||
	{ cat "$tmp/initdb.log" >&2; exit 1; }
cat >>"$tmp/data/postgresql.conf" <<'CONF'
# tailor: one server in a VM
listen_addresses = '0.0.0.0'
port = 5432
unix_socket_directories = '/tmp'
max_connections = 20
shared_buffers = 16MB
dynamic_shared_memory_type = sysv
huge_pages = off
timezone = 'UTC'
log_timezone = 'UTC'
CONF
echo 'host all all 0.0.0.0/0 trust' >>"$tmp/data/pg_hba.conf"
rm -rf "$MODULE_BUILD/data"
cp -r "$tmp/data" "$MODULE_BUILD/data"
$CC $CFLAGS -Wall -Wextra -Werror -static -o "$MODULE_BUILD/pg-start" "$MODULE_DIR/pg-start.c"
