//! `[target.postgres]` from the file to [`PostgresConfig`], every problem with its line.
//!
//! Like the rest of `validate`, each check reports and carries on. Messages never quote the
//! DSN (it might carry a password, which is itself an error) nor a password.

use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::endpoint::{ca_path, relative_to_config};
use super::error::Problems;
use super::file::PostgresFile;
use super::postgres::{
    check_dsn, read_passfile, BacklogSource, OutboxTables, PasswordSource, PostgresConfig,
    SqlIdent, SslMode, DEFAULT_CONNECT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT,
};
use super::secret::{is_env_name, Secret};
use super::units::format_duration;
use super::validate::{positive_duration, Context};

/// Validates one `[target.postgres]`; `None` if it is unusable (problems were reported).
pub(super) fn postgres(
    target: &str,
    spanned: &Spanned<PostgresFile>,
    interval: Duration,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<PostgresConfig> {
    let f = spanned.get_ref();
    let ctx = format!("target {target:?}: [target.postgres] ");
    let mut ok = true;

    if let Err(message) = check_dsn(f.dsn.get_ref()) {
        p.push(&f.dsn.span(), format!("{ctx}{message}"));
        ok = false;
    }

    let password = password(&ctx, f, cx, p, &mut ok);

    let connect_timeout = f
        .connect_timeout
        .as_ref()
        .map_or(Some(DEFAULT_CONNECT_TIMEOUT), |v| {
            positive_duration(&ctx, "connect_timeout", v, p)
        });
    let statement_timeout = match &f.statement_timeout {
        Some(v) => positive_duration(&ctx, "statement_timeout", v, p).inspect(|&t| {
            if t > interval {
                p.push(
                    &v.span(),
                    format!(
                        "{ctx}statement_timeout {} is longer than the target's interval {} — \
                         each round must fit in the interval; lower statement_timeout or raise \
                         interval",
                        format_duration(t),
                        format_duration(interval)
                    ),
                );
            }
        }),
        // Like the scrape timeout: the default shrinks to a faster interval instead of failing.
        None => Some(DEFAULT_STATEMENT_TIMEOUT.min(interval)),
    };

    let sslmode = match &f.sslmode {
        Some(raw) => match raw.get_ref().parse::<SslMode>() {
            Ok(mode) => mode,
            Err(reason) => {
                p.push(&raw.span(), format!("{ctx}{reason}"));
                ok = false;
                SslMode::Prefer
            }
        },
        None => SslMode::Prefer,
    };
    let ca_file = f
        .ca_file
        .as_ref()
        .and_then(|raw| ca_file(&ctx, raw, sslmode, cx, p));

    let backlog = backlog(&ctx, f, p, &mut ok);

    match (ok, password, connect_timeout, statement_timeout, backlog) {
        (true, Some(password), Some(connect_timeout), Some(statement_timeout), Some(backlog)) => {
            Some(PostgresConfig {
                dsn: f.dsn.get_ref().clone(),
                password,
                connect_timeout,
                statement_timeout,
                sslmode,
                ca_file,
                backlog,
            })
        }
        _ => None,
    }
}

fn password(
    ctx: &str,
    f: &PostgresFile,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
    ok: &mut bool,
) -> Option<PasswordSource> {
    match (&f.password_env, &f.passfile) {
        (Some(_), Some(file)) => {
            p.push(
                &file.span(),
                format!(
                    "{ctx}password_env and passfile are both set — keep one source of the \
                     password"
                ),
            );
            None
        }
        (Some(var), None) => {
            let name = var.get_ref();
            if !is_env_name(name) {
                p.push(
                    &var.span(),
                    format!(
                        "{ctx}password_env {name:?} is not an environment variable name — use \
                         letters, digits and _, e.g. \"CN_PG_PASSWORD\""
                    ),
                );
                return None;
            }
            match (cx.env)(name) {
                Some(value) if !value.is_empty() => Some(PasswordSource::Env {
                    var: name.clone(),
                    value: Secret::new(value),
                }),
                Some(_) => {
                    p.push(
                        &var.span(),
                        format!(
                            "{ctx}password_env names {name}, which is set but empty — export \
                             the password in {name}, or remove password_env"
                        ),
                    );
                    None
                }
                None => {
                    p.push(
                        &var.span(),
                        format!(
                            "{ctx}password_env names {name}, which is not set in the \
                             environment — export {name} before starting watchdeck, or use \
                             passfile"
                        ),
                    );
                    None
                }
            }
        }
        (None, Some(file)) => {
            let raw = file.get_ref();
            if raw.trim().is_empty() {
                p.push(
                    &file.span(),
                    format!("{ctx}passfile is empty — give the path of a file holding only the password, or remove the key"),
                );
                *ok = false;
                return None;
            }
            let path = relative_to_config(raw, cx);
            if cx.check_files {
                if let Err(reason) = read_passfile(&path) {
                    p.push(&file.span(), format!("{ctx}{reason}"));
                    return None;
                }
            }
            Some(PasswordSource::File(path))
        }
        (None, None) => Some(PasswordSource::None),
    }
}

fn ca_file(
    ctx: &str,
    raw: &Spanned<String>,
    sslmode: SslMode,
    cx: &Context<'_>,
    p: &mut Problems<'_>,
) -> Option<PathBuf> {
    // libpq would quietly verify the chain with `require` + a root file; here the operator
    // says what they mean, so an unverified connection is never mistaken for a verified one.
    let unused = (sslmode != SslMode::VerifyFull).then(|| {
        format!(
            "{ctx}ca_file is only used with sslmode = \"verify-full\" (sslmode is \
             \"{sslmode}\") — set sslmode = \"verify-full\" or remove ca_file"
        )
    });
    ca_path(ctx, raw, unused, cx, p)
}

fn backlog(
    ctx: &str,
    f: &PostgresFile,
    p: &mut Problems<'_>,
    ok: &mut bool,
) -> Option<BacklogSource> {
    let names = [
        ("schema", &f.schema),
        ("events_table", &f.events_table),
        ("seq_column", &f.seq_column),
        ("offsets_table", &f.offsets_table),
        ("consumer_column", &f.consumer_column),
        ("offset_column", &f.offset_column),
    ];
    if let Some(query) = &f.backlog_query {
        let mut clash = false;
        for (key, value) in &names {
            if let Some(v) = value {
                clash = true;
                p.push(
                    &v.span(),
                    format!(
                        "{ctx}{key} is set together with backlog_query — the query replaces the \
                         table and column names; remove {key} or backlog_query"
                    ),
                );
            }
        }
        let text = query
            .get_ref()
            .trim()
            .trim_end_matches([';', ' ', '\t', '\n', '\r']);
        if text.is_empty() {
            p.push(
                &query.span(),
                format!(
                    "{ctx}backlog_query is empty — write a SELECT returning the columns \
                     consumer and backlog, or remove it to use the outbox tables"
                ),
            );
            return None;
        }
        return (!clash).then(|| BacklogSource::Query(text.to_owned()));
    }

    let defaults = OutboxTables::default();
    let mut ident = |key: &str, value: &Option<Spanned<String>>, default: SqlIdent| match value {
        None => default,
        Some(v) => SqlIdent::new(v.get_ref()).unwrap_or_else(|reason| {
            p.push(
                &v.span(),
                format!(
                    "{ctx}{key} {:?} is not a plain SQL identifier: {reason} — use letters, \
                     digits, _ and $, starting with a letter or _, at most 63 bytes (the name \
                     is used exactly as written, so case matters)",
                    v.get_ref()
                ),
            );
            *ok = false;
            default
        }),
    };
    Some(BacklogSource::Tables(OutboxTables {
        schema: ident(names[0].0, names[0].1, defaults.schema),
        events_table: ident(names[1].0, names[1].1, defaults.events_table),
        seq_column: ident(names[2].0, names[2].1, defaults.seq_column),
        offsets_table: ident(names[3].0, names[3].1, defaults.offsets_table),
        consumer_column: ident(names[4].0, names[4].1, defaults.consumer_column),
        offset_column: ident(names[5].0, names[5].1, defaults.offset_column),
    }))
}
