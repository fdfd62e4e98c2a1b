//! The config file as serde sees it: strict shapes, raw values, byte spans.
//!
//! Unknown keys are rejected here. Values that need checking beyond their TOML type
//! (durations, sizes, URLs, names) stay raw and spanned so that `validate` can report every
//! bad value with its line, instead of serde stopping at the first one.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::actions::{ActionsFile, BackupFile, CommandFile, RollbackFile, TopicsFile};
use crate::keymap::KeysFile;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub environment: Option<Spanned<String>>,
    pub defaults: Option<DefaultsFile>,
    pub limits: Option<LimitsFile>,
    #[serde(default, rename = "target")]
    pub targets: Vec<Spanned<TargetFile>>,
    #[serde(default, rename = "disk")]
    pub disks: Vec<Spanned<DiskFile>>,
    /// A shipped theme's name or the path of a theme file; checked by `validate`.
    pub theme: Option<Spanned<String>>,
    /// Key binding overrides per mode, in the keymap file's shape.
    pub keys: Option<KeysFile>,
    /// `[actions]`: read-only switch, state directory, audit file.
    pub actions: Option<ActionsFile>,
    pub alertmanager: Option<Spanned<super::alertmanager::AlertmanagerFile>>,
    #[serde(default, rename = "fleet")]
    pub fleets: Vec<Spanned<super::fleet::FleetFile>>,
    /// `[history]`: the store every target's past is read from at launch.
    pub history: Option<Spanned<super::history::HistoryFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DefaultsFile {
    /// A duration string; kept as a raw value so `interval = 5` gets a helpful message.
    pub interval: Option<Spanned<toml::Value>>,
    pub timeout: Option<Spanned<toml::Value>>,
}

/// Field names are the file's keys, so they keep the shared `max_` prefix.
#[allow(clippy::struct_field_names)]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsFile {
    /// Bytes as an integer or a string with a unit.
    pub max_body: Option<Spanned<toml::Value>>,
    /// Counts; raw so that `"lots"` or `-1` is reported with the others.
    pub max_samples: Option<Spanned<toml::Value>>,
    pub max_labels: Option<Spanned<toml::Value>>,
    pub max_label_length: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetFile {
    pub name: Spanned<String>,
    pub preset: Option<Spanned<String>>,
    pub metrics: Option<Spanned<String>>,
    #[serde(default)]
    pub health: Vec<Spanned<String>>,
    pub interval: Option<Spanned<toml::Value>>,
    pub timeout: Option<Spanned<toml::Value>>,
    pub ca_file: Option<Spanned<String>>,
    pub headers: Option<HeadersFile>,
    pub limits: Option<LimitsFile>,
    pub postgres: Option<Spanned<PostgresFile>>,
    pub read_only: Option<bool>,
    pub backup: Option<Spanned<BackupFile>>,
    pub topics: Option<Spanned<TopicsFile>>,
    pub rollback: Option<Spanned<RollbackFile>>,
    #[serde(default)]
    pub command: Vec<Spanned<CommandFile>>,
    /// Rules in the presets' alert shape, checked by `validate`.
    #[serde(default)]
    pub alert: Vec<Spanned<super::preset::AlertSpec>>,
    /// This target's own history store (else `[history]`'s).
    pub history_url: Option<Spanned<String>>,
    /// The matchers that find this target's series in the store.
    pub history_selector: Option<Spanned<String>>,
}

/// `[target.postgres]`. Durations stay raw for the shared duration messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PostgresFile {
    pub dsn: Spanned<String>,
    pub password_env: Option<Spanned<String>>,
    pub passfile: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<toml::Value>>,
    pub statement_timeout: Option<Spanned<toml::Value>>,
    pub sslmode: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
    pub backlog_query: Option<Spanned<String>>,
    pub schema: Option<Spanned<String>>,
    pub events_table: Option<Spanned<String>>,
    pub seq_column: Option<Spanned<String>>,
    pub offsets_table: Option<Spanned<String>>,
    pub consumer_column: Option<Spanned<String>>,
    pub offset_column: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DiskFile {
    pub path: Spanned<String>,
    pub name: Option<Spanned<String>>,
}

/// `[target.headers]`: names with spans, values kept raw.
///
/// Hand-written so that no error serde produces here can quote a value: the default visitor
/// messages print the offending value ("invalid type: string \"Bearer …\""), and a header value
/// is a secret even when it is in the wrong place.
#[derive(Debug)]
pub(super) struct HeadersFile(pub BTreeMap<Spanned<String>, Spanned<toml::Value>>);

impl<'de> Deserialize<'de> for HeadersFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

struct HeadersVisitor;

const HEADERS_SHAPE: &str = "[target.headers] must be a table of header names to string values, \
     e.g. Authorization = \"Bearer ${TOKEN}\" (the value given is not shown)";

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = HeadersFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of header names to string values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeadersFile, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((name, value)) = map.next_entry::<Spanned<String>, Spanned<toml::Value>>()? {
            out.insert(name, value);
        }
        Ok(HeadersFile(out))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<HeadersFile, E> {
        Err(E::custom(HEADERS_SHAPE))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<HeadersFile, E> {
        Err(E::custom(HEADERS_SHAPE))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<HeadersFile, E> {
        Err(E::custom(HEADERS_SHAPE))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<HeadersFile, E> {
        Err(E::custom(HEADERS_SHAPE))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<HeadersFile, E> {
        Err(E::custom(HEADERS_SHAPE))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<HeadersFile, A::Error> {
        Err(de::Error::custom(HEADERS_SHAPE))
    }
}
