#!/bin/sh
# The demo's database instance: a PostgreSQL cluster of its own, trusting the VPC, logging connections.
set -e
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then
  echo "hyperplane-demo: PostgreSQL is not installed; installing the Debian package postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
DATA="@DATA@"
rm -rf "$DATA"
mkdir -p "$DATA"
chown postgres "$DATA"
chmod 700 "$DATA"
runuser -u postgres -- "$PGBIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
echo "host all all @VPC_CIDR@ trust" >> "$DATA/pg_hba.conf"
echo "hyperplane-demo: starting $("$PGBIN/postgres" --version)"
exec runuser -u postgres -- "$PGBIN/postgres" -D "$DATA" -c listen_addresses='*' -c log_connections=on \
  -c unix_socket_directories="$DATA" -c max_connections=200
