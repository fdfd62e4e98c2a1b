//! Every statement the Postgres source sends, as text that docs and `--help` can show.
//!
//! All of them read only `pg_stat_*` views, `pg_locks`, `pg_tablespace`, settings and size
//! functions, so a role with `pg_monitor` (and SELECT on the outbox tables) is enough; none
//! passes user text into SQL except the operator's own `backlog_query`, and table names only
//! as validated, quoted identifiers. Query texts of other sessions are cut server-side to 2 KiB;
//! bind parameters are never read (`pg_stat_activity` does not have them).

use crate::config::{BacklogSource, OutboxTables};

/// Session facts: who we are, where, our backend's pid, the server version, whether this connection uses TLS,
/// and whether the role sees other sessions (`pg_read_all_stats`, part of `pg_monitor`).
pub const SESSION_SQL: &str = "\
SELECT current_user::text, current_database()::text, current_setting('server_version'), \
current_setting('server_version_num')::int4, \
coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false), \
pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'), pg_backend_pid()";

/// Client connections of the whole server by state, with `max_connections` and the slots
/// reserved for superusers. A NULL state is a session the role may not see.
pub const CONNECTIONS_SQL: &str = "\
SELECT a.state, coalesce(a.n, 0), current_setting('max_connections')::int8, \
current_setting('superuser_reserved_connections')::int8 \
FROM (SELECT 1) AS one LEFT JOIN (\
SELECT state, count(*)::int8 AS n FROM pg_stat_activity \
WHERE backend_type = 'client backend' GROUP BY state) AS a ON true";

/// The session of this database (not our own) whose `$since` is oldest, with how long ago that
/// was and its state, application, user and statement; `$also` narrows the sessions further.
macro_rules! oldest_session_sql {
    ($since:literal, $also:literal) => {
        concat!(
            "SELECT pid, extract(epoch FROM now() - ",
            $since,
            ")::float8, \
coalesce(state, ''), coalesce(application_name, ''), coalesce(usename::text, ''), \
left(coalesce(query, ''), 2048) \
FROM pg_stat_activity \
WHERE datname = current_database() AND backend_type = 'client backend' ",
            $also,
            "AND ",
            $since,
            " IS NOT NULL AND pid <> pg_backend_pid() ORDER BY ",
            $since,
            " LIMIT 1"
        )
    };
}

/// The statement running longest in this database (not our own).
pub const LONGEST_QUERY_SQL: &str = oldest_session_sql!(
    "query_start",
    "AND state IN ('active', 'fastpath function call') "
);

/// The transaction open longest in this database (not our own), with its last statement.
pub const OLDEST_TRANSACTION_SQL: &str = oldest_session_sql!("xact_start", "");

/// Sessions of this database waiting for a heavyweight lock, one row per (waiter, blocker),
/// longest wait first; `$wait_start` is when the wait began, as the server can tell.
macro_rules! lock_waits_sql {
    ($wait_start:literal) => {
        concat!(
            "SELECT w.pid, extract(epoch FROM now() - ",
            $wait_start,
            ")::float8 AS waited, \
coalesce(w.wait_event, ''), coalesce(w.application_name, ''), left(coalesce(w.query, ''), 2048), \
bp.pid, coalesce(b.state, ''), coalesce(b.application_name, ''), left(coalesce(b.query, ''), 2048), \
extract(epoch FROM now() - b.xact_start)::float8 \
FROM pg_stat_activity AS w \
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid) \
LEFT JOIN pg_stat_activity AS b ON b.pid = bp.pid \
WHERE w.datname = current_database() AND w.wait_event_type = 'Lock' \
ORDER BY waited DESC, w.pid, bp.pid LIMIT 200"
        )
    };
}

/// Sessions of this database waiting for a heavyweight lock, one row per (waiter, blocker),
/// longest wait first. PostgreSQL 14 and newer: the wait starts at `pg_locks.waitstart`.
pub const LOCK_WAITS_SQL: &str = lock_waits_sql!(
    "coalesce((SELECT min(l.waitstart) FROM pg_locks AS l WHERE l.pid = w.pid AND NOT l.granted), \
w.query_start)"
);

/// [`LOCK_WAITS_SQL`] for PostgreSQL 10 to 13, which do not record when a wait began: the
/// waiting statement's start stands in for it.
pub const LOCK_WAITS_SQL_PRE14: &str = lock_waits_sql!("w.query_start");

/// The size of this database in bytes (growth is derived from successive values).
pub const DATABASE_SIZE_SQL: &str =
    "SELECT current_database()::text, pg_database_size(current_database())";

/// Every tablespace with its size and location (empty for the built-in ones).
pub const TABLESPACES_SQL: &str = "\
SELECT spcname::text, pg_tablespace_size(oid), pg_tablespace_location(oid) \
FROM pg_tablespace ORDER BY spcname";

/// Whether this server is a replica and, if so, how far replay is behind: 0 when everything
/// received is replayed, else the age of the last replayed transaction. NULL on a primary.
pub const REPLICATION_SQL: &str = "\
SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN \
CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 \
ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END END";

/// The backlog query for the community-node tables with the runbook's names: `max(seq)` of the
/// events minus each consumer's `last_seq` (runbook 000 §1.3). No events yet means no backlog;
/// a consumer that has never committed an offset is behind by every event.
pub const DEFAULT_BACKLOG_SQL: &str = "\
SELECT o.\"consumer\"::text AS consumer, \
(coalesce((SELECT max(e.\"seq\") FROM \"public\".\"outbox_events\" AS e), o.\"last_seq\", 0) \
- coalesce(o.\"last_seq\", 0))::int8 AS backlog \
FROM \"public\".\"consumer_offsets\" AS o ORDER BY 1";

/// The alias a custom `backlog_query` is wrapped under; it shows in "column … does not exist".
pub const CUSTOM_ALIAS: &str = "backlog_query";

/// The statement for a backlog source. A custom query is wrapped so that its `consumer` and
/// `backlog` columns come back as text and int8 whatever their SQL types (numeric included).
pub fn backlog_sql(source: &BacklogSource) -> String {
    match source {
        BacklogSource::Tables(t) => tables_sql(t),
        BacklogSource::Query(q) => format!(
            "SELECT {CUSTOM_ALIAS}.consumer::text AS consumer, \
             {CUSTOM_ALIAS}.backlog::int8 AS backlog FROM (\n{q}\n) AS {CUSTOM_ALIAS} ORDER BY 1"
        ),
    }
}

fn tables_sql(t: &OutboxTables) -> String {
    let schema = t.schema.quoted();
    let events = t.events_table.quoted();
    let seq = t.seq_column.quoted();
    let offsets = t.offsets_table.quoted();
    let consumer = t.consumer_column.quoted();
    let offset = t.offset_column.quoted();
    format!(
        "SELECT o.{consumer}::text AS consumer, \
         (coalesce((SELECT max(e.{seq}) FROM {schema}.{events} AS e), o.{offset}, 0) \
         - coalesce(o.{offset}, 0))::int8 AS backlog \
         FROM {schema}.{offsets} AS o ORDER BY 1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SqlIdent;

    #[test]
    fn default_tables_give_the_documented_query() {
        assert_eq!(
            backlog_sql(&BacklogSource::Tables(OutboxTables::default())),
            DEFAULT_BACKLOG_SQL
        );
    }

    #[test]
    fn names_are_quoted() {
        let t = OutboxTables {
            events_table: SqlIdent::new("Events").expect("ident"),
            ..OutboxTables::default()
        };
        let sql = backlog_sql(&BacklogSource::Tables(t));
        assert!(sql.contains("FROM \"public\".\"Events\" AS e"), "{sql}");
    }

    #[test]
    fn custom_query_is_wrapped_on_its_own_lines() {
        let sql = backlog_sql(&BacklogSource::Query(
            "SELECT c AS consumer, n AS backlog FROM t -- trailing comment".into(),
        ));
        assert!(sql.contains("(\nSELECT c AS consumer"), "{sql}");
        assert!(
            sql.contains("comment\n) AS backlog_query ORDER BY 1"),
            "{sql}"
        );
    }
}
