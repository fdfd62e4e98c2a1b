//! The theme file as serde sees it, and its check into a [`ThemeSpec`].
//!
//! Values stay raw and spanned through serde, so that every bad colour or modifier is reported
//! at once with its line and the value quoted, instead of serde stopping at the first. Unknown
//! keys are refused by serde itself (`deny_unknown_fields`), also with their line.
//!
//! ```toml
//! inherits = "default"            # optional; user files fall back to "default"
//! [colors]
//! ok = "green"                    # a colour: the slot's foreground
//! selection = { fg = "black", bg = "#5f87af", modifiers = ["bold"] }
//! [env]
//! default = { fg = "black", bg = "gray" }
//! prod = { fg = "white", bg = "red", modifiers = ["bold"] }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use ratatui::style::Modifier;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::color::{parse_color_index, parse_color_text, parse_modifier, ColorSpec, MODIFIERS};
use super::{ColorsFile, ThemeError, ThemeProblem, SHIPPED, SLOTS, SLOT_COUNT};

/// A theme file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    /// A line for humans; not used.
    pub description: Option<String>,
    /// A shipped theme that supplies every slot this file leaves out.
    pub inherits: Option<Spanned<String>>,
    #[serde(default)]
    pub colors: ColorsFile,
    /// Banner styles per environment name, plus `default`.
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, Spanned<StyleFile>>,
}

/// A slot's value: a bare colour (the foreground) or a table.
#[derive(Debug)]
pub enum StyleFile {
    Color(ColorFile),
    Table(StyleTable),
}

/// `{ fg = …, bg = …, modifiers = [...] }`; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleTable {
    pub fg: Option<Spanned<ColorFile>>,
    pub bg: Option<Spanned<ColorFile>>,
    #[serde(default)]
    pub modifiers: Vec<Spanned<String>>,
}

/// A colour as written, checked later so all bad ones are reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColorFile {
    Text(String),
    Index(i64),
}

const COLOR_EXPECTED: &str = "a colour: a name like \"red\", \"#rrggbb\", or an index 0-255";

impl<'de> Deserialize<'de> for ColorFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ColorVisitor)
    }
}

struct ColorVisitor;

impl Visitor<'_> for ColorVisitor {
    type Value = ColorFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(COLOR_EXPECTED)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ColorFile, E> {
        Ok(ColorFile::Text(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ColorFile, E> {
        Ok(ColorFile::Index(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ColorFile, E> {
        Ok(ColorFile::Index(i64::try_from(v).unwrap_or(i64::MAX)))
    }
}

impl<'de> Deserialize<'de> for StyleFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StyleVisitor)
    }
}

struct StyleVisitor;

impl<'de> Visitor<'de> for StyleVisitor {
    type Value = StyleFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{COLOR_EXPECTED}; or a table {{ fg, bg, modifiers }}")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StyleFile, E> {
        ColorVisitor.visit_str(v).map(StyleFile::Color)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StyleFile, E> {
        ColorVisitor.visit_i64(v).map(StyleFile::Color)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StyleFile, E> {
        ColorVisitor.visit_u64(v).map(StyleFile::Color)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StyleFile, A::Error> {
        StyleTable::deserialize(MapAccessDeserializer::new(map)).map(StyleFile::Table)
    }
}

/// A checked style, before the terminal's colour abilities are applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct StyleSpec {
    pub fg: Option<ColorSpec>,
    pub bg: Option<ColorSpec>,
    pub modifiers: Modifier,
}

/// A checked theme file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ThemeSpec {
    /// Per slot, in [`SLOTS`] order; `None` where the file leaves it to `inherits`.
    pub slots: [Option<StyleSpec>; SLOT_COUNT],
    /// Lowercased environment names (including `default`), in name order.
    pub env: Vec<(String, StyleSpec)>,
    pub inherits: Option<String>,
}

/// Parses and checks a theme file. `complete` (the shipped themes) requires every slot and an
/// `[env]` default, and forbids `inherits`.
pub(super) fn parse(text: &str, origin: &str, complete: bool) -> Result<ThemeSpec, ThemeError> {
    let mut problems = Problems {
        text,
        list: Vec::new(),
    };
    let file = match toml::from_str::<ThemeFile>(text) {
        Ok(file) => file,
        Err(e) => {
            let message = e.message().trim_end().replace('\n', ": ");
            let hint = if message.starts_with("unknown field") {
                "remove the key or fix its spelling"
            } else {
                "fix the TOML at this spot"
            };
            problems.push(
                e.span().map_or(0, |s| s.start),
                format!("{message} — {hint}"),
            );
            return Err(problems.into_error(origin));
        }
    };

    let mut slots = [None; SLOT_COUNT];
    for ((name, value), out) in SLOTS.iter().zip(file.colors.slots()).zip(&mut slots) {
        match value {
            Some(v) => *out = Some(style(v, &format!("colors.{name}"), &mut problems)),
            None if complete => problems.push(
                0,
                format!("colors.{name} is missing — a shipped theme sets every slot"),
            ),
            None => {}
        }
    }

    let mut env: Vec<(String, StyleSpec)> = Vec::new();
    for (key, value) in &file.env {
        let name = key.get_ref().trim().to_lowercase();
        if name.is_empty() {
            problems.push(key.span().start, "[env] has an empty environment name — name it like the config's `environment`, e.g. \"prod\"".to_string());
            continue;
        }
        if env.iter().any(|(n, _)| *n == name) {
            problems.push(
                key.span().start,
                format!("[env] names {name:?} twice (names ignore case) — keep one"),
            );
            continue;
        }
        let spec = style(value, &format!("env.{}", key.get_ref()), &mut problems);
        env.push((name, spec));
    }
    if complete && !env.iter().any(|(n, _)| n == "default") {
        problems.push(
            0,
            "env.default is missing — a shipped theme sets the default banner".to_string(),
        );
    }

    let inherits = file.inherits.as_ref().and_then(|i| {
        let name = i.get_ref();
        if complete {
            problems.push(
                i.span().start,
                "a shipped theme must not inherit — set every slot".to_string(),
            );
            None
        } else if SHIPPED.contains(&name.as_str()) {
            Some(name.clone())
        } else {
            problems.push(
                i.span().start,
                format!(
                    "inherits = {name:?} is not a shipped theme — use one of {}",
                    SHIPPED.join(", ")
                ),
            );
            None
        }
    });

    if problems.list.is_empty() {
        Ok(ThemeSpec {
            slots,
            env,
            inherits,
        })
    } else {
        Err(problems.into_error(origin))
    }
}

fn style(value: &Spanned<StyleFile>, path: &str, p: &mut Problems<'_>) -> StyleSpec {
    match value.get_ref() {
        StyleFile::Color(c) => StyleSpec {
            fg: color(c, value.span().start, path, p),
            ..StyleSpec::default()
        },
        StyleFile::Table(t) => {
            let mut modifiers = Modifier::empty();
            for m in &t.modifiers {
                match parse_modifier(m.get_ref()) {
                    Some(flag) => modifiers |= flag,
                    None => p.push(
                        m.span().start,
                        format!(
                            "{path}.modifiers: {:?} is not a modifier — use {}",
                            m.get_ref(),
                            MODIFIERS
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
            let side = |c: &Option<Spanned<ColorFile>>, key: &str, p: &mut Problems<'_>| {
                c.as_ref()
                    .and_then(|c| color(c.get_ref(), c.span().start, &format!("{path}.{key}"), p))
            };
            StyleSpec {
                fg: side(&t.fg, "fg", p),
                bg: side(&t.bg, "bg", p),
                modifiers,
            }
        }
    }
}

fn color(c: &ColorFile, at: usize, path: &str, p: &mut Problems<'_>) -> Option<ColorSpec> {
    let (parsed, shown) = match c {
        ColorFile::Text(text) => (parse_color_text(text), format!("{text:?}")),
        ColorFile::Index(n) => (parse_color_index(*n), n.to_string()),
    };
    if parsed.is_none() {
        p.push(
            at,
            format!(
                "{path} = {shown} is not a colour — use a name like \"red\", \"#rrggbb\", or an \
                 index 0-255"
            ),
        );
    }
    parsed
}

/// Problems against one text, kept with their byte offsets so they come out in file order.
struct Problems<'a> {
    text: &'a str,
    list: Vec<(usize, String)>,
}

impl Problems<'_> {
    fn push(&mut self, offset: usize, message: String) {
        self.list.push((offset.min(self.text.len()), message));
    }

    fn into_error(mut self, origin: &str) -> ThemeError {
        self.list.sort_by_key(|(offset, _)| *offset);
        let problems = self
            .list
            .into_iter()
            .map(|(offset, message)| ThemeProblem {
                line: self.text.as_bytes()[..offset]
                    .split(|&b| b == b'\n')
                    .count(),
                message,
            })
            .collect();
        ThemeError::Invalid {
            file: origin.to_string(),
            problems,
        }
    }
}
