//! The checklist file: strict TOML in, a validated [`Checklist`] out.
//!
//! Four checklists ship inside the binary (`assets/checklists/*.toml`, one per preset, from
//! the runbooks); an operator may also name a file of their own. Every problem is reported
//! with its line, all at once, like the config file's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{AlertValue, PresetName};

/// The checklists watchdeck ships, by name (the preset they belong to).
pub const SHIPPED: [(&str, &str); 4] = [
    (
        "community-node",
        include_str!("../../assets/checklists/community-node.toml"),
    ),
    (
        "overlay",
        include_str!("../../assets/checklists/overlay.toml"),
    ),
    ("mail", include_str!("../../assets/checklists/mail.toml")),
    (
        "rest-api",
        include_str!("../../assets/checklists/rest-api.toml"),
    ),
];

/// A validated checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Checklist {
    /// Short name, used in report file names: `[A-Za-z0-9._-]`.
    pub name: String,
    pub title: String,
    /// Where the items come from, e.g. "runbook 001 §13".
    pub runbook: Option<String>,
    /// The checklist applies to the targets of this preset…
    pub preset: Option<PresetName>,
    /// …or to these targets by name (wins over `preset`).
    pub targets: Vec<String>,
    pub items: Vec<Item>,
}

/// One thing to check.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Unique within the checklist: `[A-Za-z0-9._-]`.
    pub id: String,
    pub title: String,
    /// `None`: a manual item, the operator decides.
    pub check: Option<Check>,
    /// What to read when the item fails.
    pub hint: Option<Hint>,
}

impl Item {
    pub fn kind(&self) -> ItemKind {
        if self.check.is_some() {
            ItemKind::Auto
        } else {
            ItemKind::Manual
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Auto,
    Manual,
}

/// An automatic check. The value names are those of the presets' alerts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// A derived panel value of the target, between `min` and `max` (inclusive).
    Value {
        value: AlertValue,
        /// The panel row title, for values that name one (as in a preset's `[[alert]]`).
        #[serde(default)]
        panel: Option<String>,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    /// Every health endpoint of the target answers healthy, with all its checks ok. (A struct
    /// variant, so that unknown keys next to `type = "health"` are refused like elsewhere.)
    Health {},
    /// The newest verified backup of the target is younger than `max_age` (default: the
    /// target's `[target.backup] max_age`).
    BackupFresh {
        #[serde(default)]
        max_age: Option<String>,
    },
    /// The TLS certificate of `url` (default: the target's first https URL) has at least
    /// `min_days` left.
    TlsDays {
        #[serde(default)]
        url: Option<String>,
        min_days: f64,
    },
    /// The `Date` header of `url` (default: the target's first health URL, else its metrics
    /// URL) is within `max_seconds` of this machine's clock.
    ClockSkew {
        #[serde(default)]
        url: Option<String>,
        max_seconds: f64,
    },
    /// The filesystem holding `path` (default: the target's backup directory) has at least
    /// `min_percent` free (space available to unprivileged users).
    DiskFree {
        #[serde(default)]
        path: Option<PathBuf>,
        min_percent: f64,
    },
}

impl Check {
    /// The `type` word, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Check::Value { .. } => "value",
            Check::Health {} => "health",
            Check::BackupFresh { .. } => "backup-fresh",
            Check::TlsDays { .. } => "tls-days",
            Check::ClockSkew { .. } => "clock-skew",
            Check::DiskFree { .. } => "disk-free",
        }
    }
}

/// The runbook hint of an item: what the failure looks like, what usually causes it, and
/// what to do first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    pub symptom: String,
    pub cause: String,
    pub action: String,
    /// Where to read more, e.g. "001 §16.1".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
}

/// Why a checklist could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    #[error(
        "unknown checklist {name:?}: give a shipped name ({}) or the path of a checklist file",
        shipped_names()
    )]
    Unknown { name: String },
    #[error("cannot read the checklist file {}: {source} — check the path and that it is readable", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("checklist {checklist} names targets the config does not have: {}; the config's targets are: {}", missing.join(", "), known.join(", "))]
    UnknownTargets {
        checklist: String,
        missing: Vec<String>,
        known: Vec<String>,
    },
    #[error("{}", render(file, problems))]
    Invalid {
        file: String,
        /// `(line, message)`, sorted by line.
        problems: Vec<(usize, String)>,
    },
}

fn render(file: &str, problems: &[(usize, String)]) -> String {
    problems
        .iter()
        .map(|(line, m)| format!("{file}:{line}: {m}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `community-node, overlay, mail, rest-api`.
pub fn shipped_names() -> String {
    SHIPPED.map(|(n, _)| n).join(", ")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileChecklist {
    name: toml::Spanned<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    runbook: Option<String>,
    #[serde(default)]
    preset: Option<toml::Spanned<String>>,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default, rename = "item")]
    items: Vec<FileItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileItem {
    id: toml::Spanned<String>,
    title: String,
    kind: ItemKind,
    #[serde(default)]
    check: Option<Check>,
    #[serde(default)]
    hint: Option<Hint>,
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    // Segments split at newlines = newlines before the offset + 1.
    text.as_bytes()[..end].split(|&b| b == b'\n').count()
}

fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Checklist {
    /// A shipped checklist by name.
    pub fn shipped(name: &str) -> Result<Checklist, ChecklistError> {
        let (n, text) =
            SHIPPED
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| ChecklistError::Unknown {
                    name: name.to_owned(),
                })?;
        Checklist::parse(text, &format!("<shipped checklist {n}>"))
    }

    /// A shipped name, or else the path of a checklist file.
    pub fn load(name_or_path: &str) -> Result<Checklist, ChecklistError> {
        if SHIPPED.iter().any(|(n, _)| *n == name_or_path) {
            return Checklist::shipped(name_or_path);
        }
        let path = Path::new(name_or_path);
        let looks_like_path = name_or_path.contains('/')
            || path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
            || path.is_file();
        if !looks_like_path {
            return Err(ChecklistError::Unknown {
                name: name_or_path.to_owned(),
            });
        }
        let text = crate::safe_fs::read_regular_string(path, crate::safe_fs::MAX_CONFIG_FILE)
            .map_err(|source| ChecklistError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Checklist::parse(&text, &path.display().to_string())
    }

    /// Parses and validates checklist text; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<Checklist, ChecklistError> {
        let invalid = |problems: Vec<(usize, String)>| ChecklistError::Invalid {
            file: file.to_owned(),
            problems,
        };
        let raw: FileChecklist = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let msg = e.message().trim_end().replace('\n', ": ");
            invalid(vec![(line, format!("{msg} — fix the TOML at this spot"))])
        })?;
        let mut problems = Vec::new();
        let name_line = line_of(text, raw.name.span().start);
        let name = raw.name.into_inner();
        if !plain_name(&name) {
            problems.push((
                name_line,
                format!("name {name:?}: use 1-64 characters from A-Z a-z 0-9 . _ -"),
            ));
        }
        let preset = match raw.preset {
            None => None,
            Some(p) => {
                let line = line_of(text, p.span().start);
                match p.into_inner().parse::<PresetName>() {
                    Ok(p) => Some(p),
                    Err(e) => {
                        problems.push((line, e.to_string()));
                        None
                    }
                }
            }
        };
        let mut items = Vec::with_capacity(raw.items.len());
        for it in raw.items {
            let line = line_of(text, it.id.span().start);
            let id = it.id.into_inner();
            let mut bad = |m: String| problems.push((line, format!("item {id:?}: {m}")));
            if !plain_name(&id) {
                bad("the id must be 1-64 characters from A-Z a-z 0-9 . _ -".into());
            }
            if items.iter().any(|i: &Item| i.id == id) {
                bad("this id is already used by an earlier item; ids must be unique".into());
            }
            if it.title.trim().is_empty() {
                bad("the title is empty".into());
            }
            match (it.kind, &it.check) {
                (ItemKind::Auto, None) => {
                    bad("kind = \"auto\" needs a check, e.g. check = { type = \"health\" }".into());
                }
                (ItemKind::Manual, Some(_)) => {
                    bad("kind = \"manual\" takes no check; remove it or make the item auto".into());
                }
                (_, Some(c)) => {
                    if let Err(m) = check_check(c) {
                        bad(m);
                    }
                }
                (ItemKind::Manual, None) => {}
            }
            if let Some(h) = &it.hint {
                if h.symptom.trim().is_empty()
                    || h.cause.trim().is_empty()
                    || h.action.trim().is_empty()
                {
                    bad("the hint needs symptom, cause and action".into());
                }
            }
            items.push(Item {
                id,
                title: it.title,
                check: it.check,
                hint: it.hint,
            });
        }
        if items.is_empty() && problems.is_empty() {
            problems.push((
                name_line,
                "the checklist has no items; add [[item]] tables".into(),
            ));
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.0);
            return Err(invalid(problems));
        }
        Ok(Checklist {
            title: raw.title.unwrap_or_else(|| name.clone()),
            name,
            runbook: raw.runbook,
            preset,
            targets: raw.targets,
            items,
        })
    }
}

fn finite_nonneg(what: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{what} = {v}: it must be a number, 0 or more"))
    }
}

fn check_url(url: Option<&String>, https: bool) -> Result<(), String> {
    let Some(u) = url else { return Ok(()) };
    let parsed = reqwest::Url::parse(u).map_err(|e| format!("url {u:?} is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if !https => Ok(()),
        s => Err(format!(
            "url {u:?}: the scheme is {s}; {} is needed",
            if https { "https" } else { "http or https" }
        )),
    }
}

fn check_check(c: &Check) -> Result<(), String> {
    match c {
        Check::Value {
            value,
            panel,
            min,
            max,
        } => {
            if min.is_none() && max.is_none() {
                return Err("a value check needs min, max or both".into());
            }
            for (w, v) in [("min", min), ("max", max)] {
                if let Some(v) = v {
                    if !v.is_finite() {
                        return Err(format!("{w} = {v}: it must be a finite number"));
                    }
                }
            }
            let needs_panel = matches!(
                value,
                AlertValue::LatencyP95
                    | AlertValue::CounterIncrease
                    | AlertValue::Gauge
                    | AlertValue::ErrorRatio
            );
            if needs_panel && panel.is_none() {
                return Err("this value needs `panel` (the title of the panel row)".into());
            }
            Ok(())
        }
        Check::Health {} => Ok(()),
        Check::BackupFresh { max_age } => match max_age {
            Some(a) => humantime::parse_duration(a)
                .map(|_| ())
                .map_err(|e| format!("max_age = {a:?}: {e} (write e.g. 26h)")),
            None => Ok(()),
        },
        Check::TlsDays { url, min_days } => {
            finite_nonneg("min_days", *min_days)?;
            check_url(url.as_ref(), true)
        }
        Check::ClockSkew { url, max_seconds } => {
            finite_nonneg("max_seconds", *max_seconds)?;
            check_url(url.as_ref(), false)
        }
        Check::DiskFree { path, min_percent } => {
            finite_nonneg("min_percent", *min_percent)?;
            if *min_percent > 100.0 {
                return Err(format!("min_percent = {min_percent}: at most 100"));
            }
            match path {
                Some(p) if !p.is_absolute() => {
                    Err(format!("path {}: give an absolute path", p.display()))
                }
                _ => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_checklist_parses() {
        for (name, _) in SHIPPED {
            let c = Checklist::shipped(name).expect(name);
            assert_eq!(c.name, name);
            assert_eq!(c.preset.map(PresetName::as_str), Some(name));
        }
    }

    #[test]
    fn unknown_check_fields_are_refused() {
        let text = "name = \"x\"\n[[item]]\nid = \"a\"\ntitle = \"t\"\nkind = \"auto\"\ncheck = { type = \"health\", extra = 1 }\n";
        let e = Checklist::parse(text, "x.toml").expect_err("extra field");
        assert!(e.to_string().starts_with("x.toml:6:"), "{e}");
        let text = text.replace(
            "type = \"health\", extra = 1",
            "type = \"tls-days\", min_days = 3, mindays = 4",
        );
        let e = Checklist::parse(&text, "x.toml").expect_err("misspelt field");
        assert!(e.to_string().contains("mindays"), "{e}");
    }
}
