#!/usr/bin/env bash
# Times the backup actions end to end through `watchdeck action backup --yes` (the same code
# path as the cockpit) against the bare tools, on data this script makes:
#   - PostgreSQL: a database of 1,000,000 rows (~200 MB) on 127.0.0.1:5432 (trust, user postgres)
#     → pg_dump -Fc -Z9, pg_restore -f /dev/null verification, restore drill of the table;
#   - SQLite: a 65 MB database in WAL mode → online backup, PRAGMA integrity_check, fsyncs.
# Usage: scripts/bench-actions.sh [runs]   (needs a release build: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bin=target/release/watchdeck
[ -x "$bin" ] || { echo "build first: cargo build --release"; exit 1; }
work=$(mktemp -d)
db=wd_bench_$$
trap 'psql -h 127.0.0.1 -U postgres -XAtqc "DROP DATABASE IF EXISTS $db" >/dev/null; rm -rf "$work"' EXIT
psql -h 127.0.0.1 -U postgres -XAtqc "CREATE DATABASE $db"
psql -h 127.0.0.1 -U postgres -d "$db" -XAtqc "CREATE TABLE events (seq bigint PRIMARY KEY, topic text, body text);
  INSERT INTO events SELECT i, 'topic-' || (i % 50), repeat(md5(i::text), 4) FROM generate_series(1, 1000000) i;"
echo "postgres database: $(psql -h 127.0.0.1 -U postgres -XAtc "SELECT pg_size_pretty(pg_database_size('$db'))")"
python3 - "$work/app.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("pragma journal_mode=wal")
c.execute("create table event_raw(id integer primary key, at int, kind text, payload text)")
c.executemany("insert into event_raw(at, kind, payload) values (?, ?, ?)",
              ((i, "chat", "x" * 200) for i in range(300000)))
c.commit()
PY
echo "sqlite database: $(du -h "$work/app.db" | cut -f1)"
cat > "$work/config.toml" <<TOML
[actions]
state_dir = "$work/state"

[[target]]
name = "pg"
health = ["http://127.0.0.1:9/healthz"]
[target.postgres]
dsn = "postgres://postgres@127.0.0.1:5432/$db"
[target.backup]
kind = "postgres"
dir = "$work/pg"
keep = 2
drill_tables = ["public.events"]

[[target]]
name = "lite"
health = ["http://127.0.0.1:9/healthz"]
[target.backup]
kind = "sqlite"
database = "$work/app.db"
dir = "$work/lite"
keep = 2
TOML
t() { /usr/bin/time -f "%e" "$@" 2>&1 >/dev/null | tail -n 1; }
for i in $(seq "$runs"); do
  echo "run $i: watchdeck pg backup (dump + verify + drill + retention): $(t "$bin" --config "$work/config.toml" action backup --target pg --yes) s"
  echo "run $i: bare pg_dump -Fc -Z9: $(t pg_dump -h 127.0.0.1 -U postgres --format=custom --compress=9 -f "$work/bare.dump" "$db") s;" \
       "bare pg_restore -f /dev/null: $(t pg_restore -f /dev/null "$work/bare.dump") s"
  echo "run $i: watchdeck sqlite backup (online backup + integrity_check + fsyncs): $(t "$bin" --config "$work/config.toml" action backup --target lite --yes) s"
  rm -f "$work/bare.db"
  echo "run $i: bare sqlite3 .backup: $(t sqlite3 "$work/app.db" ".backup $work/bare.db") s"
done
echo "dump size: $(du -h "$(ls "$work"/pg/*.dump | tail -n 1)" | cut -f1)"
