#!/usr/bin/env bash
# A backup is only as good as its restore: dump a PostgreSQL database with pg_dump, restore the dump
# into a scratch database beside it, and compare the row count of every table. Exits non-zero on a
# failed dump or restore, or when any table's count differs.
#
#   scripts/backup_restore_check.sh [DATABASE_URL]      (default: $DATABASE_URL)
#   BACKUP_FILE=/backups/chama-$(date +%F).dump scripts/backup_restore_check.sh   keeps the dump
#   KEEP_SCRATCH=1 ...                                   leaves the restored database for a look
#
# The user needs CREATEDB. Counts are compared after the dump: run it where nothing writes during
# the check (a replica, or at a quiet hour), or a table being written to may show a difference.
set -euo pipefail

URL="${1:-${DATABASE_URL:-}}"
case "$URL" in
  postgres://*|postgresql://*) ;;
  *) echo "Give a PostgreSQL DATABASE_URL (postgres://user@host:5432/name), as an argument or in the environment." >&2; exit 2 ;;
esac

BASE="${URL%%\?*}"                 # postgres://user@host:5432/name
QUERY="${URL#"$BASE"}"             # ?sslmode=... or empty
NAME="${BASE##*/}"
SCRATCH="${NAME}_restore_check_$$"
SCRATCH_URL="${BASE%/*}/${SCRATCH}${QUERY}"

WORK="$(mktemp -d)"
DUMP="${BACKUP_FILE:-$WORK/$NAME.dump}"
cleanup() {
  if [ -z "${KEEP_SCRATCH:-}" ]; then
    psql "$URL" -qtA -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$SCRATCH\"" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Every table of every schema but PostgreSQL's own, with its exact row count.
COUNTS="SELECT format('%I.%I', n.nspname, c.relname),
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                                              false, true, '')))[1]::text::bigint
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
 ORDER BY 1"

started=$SECONDS
echo "Dumping $NAME to $DUMP ..."
pg_dump --format=custom --no-owner --file="$DUMP" "$URL"
echo "  $(du -h "$DUMP" | cut -f1), $((SECONDS - started)) s"

started=$SECONDS
echo "Restoring into the scratch database $SCRATCH ..."
psql "$URL" -qtA -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$SCRATCH\"" >/dev/null
pg_restore --no-owner --exit-on-error --dbname="$SCRATCH_URL" "$DUMP"
echo "  $((SECONDS - started)) s"

psql "$URL" -qtA -F ' ' -v ON_ERROR_STOP=1 -c "$COUNTS" > "$WORK/source.txt"
psql "$SCRATCH_URL" -qtA -F ' ' -v ON_ERROR_STOP=1 -c "$COUNTS" > "$WORK/restored.txt"

tables=$(wc -l < "$WORK/source.txt")
rows=$(awk '{ total += $2 } END { print total + 0 }' "$WORK/source.txt")
if [ "$tables" -eq 0 ]; then
  echo "FAILED: $NAME has no tables to compare." >&2
  exit 1
fi
if ! diff -u --label "$NAME" --label "$SCRATCH (restored)" "$WORK/source.txt" "$WORK/restored.txt"; then
  echo "FAILED: the restored database differs from $NAME (lines above: table and row count)." >&2
  exit 1
fi
echo "OK: $tables tables, $rows rows, every table's count the same after the restore."
