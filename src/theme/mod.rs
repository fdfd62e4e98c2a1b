//! Themes: `themes/*.toml` in, ratatui [`Styles`] for the panels out.
//!
//! Two types, as in gitui: the serde file type ([`ThemeFile`]) with colours as names, hex or
//! 256-colour indexes, and the runtime [`Styles`] the panels draw with. Between them sits the
//! terminal's ability ([`ColorEnv`]): `NO_COLOR` forces the colourless monochrome theme, hex
//! colours are sent as 24-bit only when `COLORTERM` says so, and are mapped to the nearest
//! xterm-256 entry otherwise. The four shipped themes are embedded; a user theme file may set
//! only some slots and inherit the rest.

mod color;
mod file;

use std::fmt;
use std::path::{Path, PathBuf};

use ratatui::style::Style;
use serde::Deserialize;
use toml::Spanned;

pub use color::nearest_256;
pub use file::{ColorFile, StyleFile, StyleTable, ThemeFile};

use file::{StyleSpec, ThemeSpec};

/// The themes watchdeck ships, in the order they are listed to users.
pub const SHIPPED: [&str; 4] = ["default", "light", "high-contrast", "monochrome"];

/// The embedded text of a shipped theme.
pub fn shipped_source(name: &str) -> Option<&'static str> {
    Some(match name {
        "default" => include_str!("../../themes/default.toml"),
        "light" => include_str!("../../themes/light.toml"),
        "high-contrast" => include_str!("../../themes/high-contrast.toml"),
        "monochrome" => include_str!("../../themes/monochrome.toml"),
        _ => return None,
    })
}

/// Declares the slots once: the file's `[colors]` keys and the fields of [`Styles`] come from
/// the same list, so they cannot drift apart.
macro_rules! slots {
    ($($slot:ident => $doc:literal,)*) => {
        /// `[colors]`: per slot, a colour (its foreground) or a `{ fg, bg, modifiers }` table.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ColorsFile {
            $(#[doc = $doc] pub $slot: Option<Spanned<StyleFile>>,)*
        }

        impl ColorsFile {
            fn slots(&self) -> [Option<&Spanned<StyleFile>>; SLOT_COUNT] {
                [$(self.$slot.as_ref()),*]
            }
        }

        /// The slot names, as written under `[colors]`.
        pub const SLOTS: [&str; SLOT_COUNT] = [$(stringify!($slot)),*];

        /// The styles the panels draw with. Slots are independent: a panel patches `base`
        /// with the slot it needs (`styles.base.patch(styles.ok)`).
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Styles {
            /// The theme's name (a shipped name, or the file's stem).
            pub name: String,
            $(#[doc = $doc] pub $slot: Style,)*
            /// Lowercased environment names and their banner styles, without `default`.
            env: Vec<(String, Style)>,
            env_default: Style,
        }

        impl Styles {
            fn from_slots(name: String, slots: [Style; SLOT_COUNT], env: Vec<(String, Style)>, env_default: Style) -> Styles {
                let [$($slot),*] = slots;
                Styles { name, $($slot,)* env, env_default }
            }

            /// Every slot with its name, in [`SLOTS`] order (for tests and a theme preview).
            pub fn slots(&self) -> [(&'static str, Style); SLOT_COUNT] {
                [$((stringify!($slot), self.$slot)),*]
            }
        }
    };
}

const SLOT_COUNT: usize = 17;

slots! {
    base => "Plain text and the screen background (fg and bg).",
    dim => "Secondary text: units, timestamps, hints.",
    title => "Panel titles.",
    border => "Borders of unfocused panels.",
    border_focus => "The border of the focused panel.",
    selection => "The selected row.",
    header => "Table headers.",
    ok => "Healthy values.",
    warn => "Values past a warning threshold.",
    crit => "Values past a critical threshold, failed health checks.",
    stale => "Data older than expected (a target stopped answering).",
    accent => "Highlights: matched characters in the palette, key hints.",
    sparkline => "Sparklines.",
    gauge => "Gauge bars (disk usage).",
    threshold => "Threshold marks on charts and gauges.",
    badge_frozen => "The FROZEN badge.",
    badge_read_only => "The READ-ONLY badge.",
}

impl Styles {
    /// The header banner style for an environment name: an exact `[env]` entry (ignoring
    /// case), else the longest entry that starts the name ("prod" covers "prod-eu" and
    /// "production"), else `default`.
    pub fn env_banner(&self, env: &str) -> Style {
        let env = env.trim().to_lowercase();
        if let Some((_, style)) = self.env.iter().find(|(n, _)| *n == env) {
            return *style;
        }
        self.env
            .iter()
            .filter(|(n, _)| env.starts_with(n.as_str()))
            .max_by_key(|(n, _)| n.len())
            .map_or(self.env_default, |(_, s)| *s)
    }
}

/// What the terminal can show, from the environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColorEnv {
    /// `NO_COLOR` is set and not empty: no colours at all (<https://no-color.org>).
    pub no_color: bool,
    /// `COLORTERM` is `truecolor` or `24bit`: hex colours are sent as 24-bit.
    pub truecolor: bool,
}

impl ColorEnv {
    /// Reads `NO_COLOR` and `COLORTERM` from the process environment.
    pub fn from_env() -> ColorEnv {
        ColorEnv::from_vars(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Like [`ColorEnv::from_env`], with the variables looked up through `get`.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> ColorEnv {
        let colorterm = get("COLORTERM").unwrap_or_default().to_ascii_lowercase();
        ColorEnv {
            no_color: get("NO_COLOR").is_some_and(|v| !v.is_empty()),
            truecolor: matches!(colorterm.trim(), "truecolor" | "24bit"),
        }
    }
}

/// A theme that could not be found, read or checked.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("{}: cannot read the theme file: {source} — check the path, or use a shipped theme: {}", path.display(), SHIPPED.join(", "))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown theme {name:?} — {}", unknown_hint(name))]
    Unknown { name: String },
    /// One or more problems in a theme file, sorted by line.
    #[error("{}", Rendered { file, problems })]
    Invalid {
        file: String,
        problems: Vec<ThemeProblem>,
    },
}

/// One thing wrong in a theme file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThemeProblem {
    /// 1-based line.
    pub line: usize,
    pub message: String,
}

struct Rendered<'a> {
    file: &'a str,
    problems: &'a [ThemeProblem],
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}: {}", self.file, p.line, p.message)?;
        }
        Ok(())
    }
}

fn unknown_hint(name: &str) -> String {
    let near = SHIPPED
        .iter()
        .find(|s| s.starts_with(&name.to_ascii_lowercase()) || name.eq_ignore_ascii_case(s));
    let mean = near
        .map(|s| format!("did you mean {s:?}? "))
        .unwrap_or_default();
    format!(
        "{mean}shipped themes are {}; or give the path of a theme file (ending in .toml)",
        SHIPPED.join(", ")
    )
}

/// Whether a theme name refers to a file rather than a shipped theme.
pub fn is_path(name_or_path: &str) -> bool {
    name_or_path.contains(['/', '\\'])
        || Path::new(name_or_path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Loads a theme by shipped name or file path (`None`: the default), for this terminal.
/// With `NO_COLOR` the named theme is still checked, so a broken file is never hidden, but
/// the monochrome theme is used, with every colour removed.
pub fn load(name_or_path: Option<&str>, env: &ColorEnv) -> Result<Styles, ThemeError> {
    let (name, spec) = read(name_or_path.unwrap_or(SHIPPED[0]))?;
    if env.no_color {
        let (name, spec) = read("monochrome")?;
        return Ok(resolve(name, &spec, *env));
    }
    Ok(resolve(name, &spec, *env))
}

/// Checks a theme (for `config check`) without caring about the terminal.
pub fn check(name_or_path: &str) -> Result<(), ThemeError> {
    read(name_or_path).map(|_| ())
}

/// Parses theme text as a user file (missing slots inherited), for this terminal.
pub fn parse(text: &str, origin: &str, env: &ColorEnv) -> Result<Styles, ThemeError> {
    let spec = with_parent(file::parse(text, origin, false)?)?;
    Ok(resolve(stem(origin), &spec, *env))
}

/// A complete spec and its name: a shipped theme, or a file merged over its parent.
fn read(name_or_path: &str) -> Result<(String, ThemeSpec), ThemeError> {
    if let Some(text) = shipped_source(name_or_path) {
        let spec = file::parse(text, &format!("themes/{name_or_path}.toml"), true)?;
        return Ok((name_or_path.to_string(), spec));
    }
    if !is_path(name_or_path) {
        return Err(ThemeError::Unknown {
            name: name_or_path.to_string(),
        });
    }
    let path = Path::new(name_or_path);
    let text = crate::safe_fs::read_regular_string(path, crate::safe_fs::MAX_CONFIG_FILE).map_err(
        |source| ThemeError::Read {
            path: path.to_path_buf(),
            source,
        },
    )?;
    let spec = with_parent(file::parse(&text, name_or_path, false)?)?;
    Ok((stem(name_or_path), spec))
}

/// Fills what a user file leaves out from its parent (`inherits`, or the default theme).
fn with_parent(mut spec: ThemeSpec) -> Result<ThemeSpec, ThemeError> {
    let parent_name = spec
        .inherits
        .clone()
        .unwrap_or_else(|| SHIPPED[0].to_string());
    let (_, parent) = read(&parent_name)?;
    for (slot, inherited) in spec.slots.iter_mut().zip(parent.slots) {
        if slot.is_none() {
            *slot = inherited;
        }
    }
    for (name, style) in parent.env {
        if !spec.env.iter().any(|(n, _)| *n == name) {
            spec.env.push((name, style));
        }
    }
    spec.env.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(spec)
}

fn stem(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned())
}

fn resolve(name: String, spec: &ThemeSpec, env: ColorEnv) -> Styles {
    let slots = spec.slots.map(|s| to_style(s.unwrap_or_default(), env));
    let mut env_default = Style::default();
    let mut banners = Vec::new();
    for (n, s) in &spec.env {
        if n == "default" {
            env_default = to_style(*s, env);
        } else {
            banners.push((n.clone(), to_style(*s, env)));
        }
    }
    Styles::from_slots(name, slots, banners, env_default)
}

fn to_style(spec: StyleSpec, env: ColorEnv) -> Style {
    let mut style = Style::default().add_modifier(spec.modifiers);
    if !env.no_color {
        style.fg = spec.fg.map(|c| c.to_color(env.truecolor));
        style.bg = spec.bg.map(|c| c.to_color(env.truecolor));
    }
    style
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier};

    #[test]
    fn slot_count_matches_the_list() {
        assert_eq!(SLOTS.len(), SLOT_COUNT);
        assert_eq!(SLOTS[0], "base");
        assert_eq!(SLOTS[SLOT_COUNT - 1], "badge_read_only");
    }

    #[test]
    fn color_env_from_vars() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            ColorEnv::from_vars(move |n| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| (*v).to_string())
            })
        };
        assert_eq!(env(&[]), ColorEnv::default());
        assert!(env(&[("NO_COLOR", "1")]).no_color);
        assert!(!env(&[("NO_COLOR", "")]).no_color);
        assert!(env(&[("COLORTERM", "truecolor")]).truecolor);
        assert!(env(&[("COLORTERM", "24bit")]).truecolor);
        assert!(!env(&[("COLORTERM", "yes")]).truecolor);
    }

    #[test]
    fn env_banner_exact_then_prefix_then_default() {
        let styles = load(Some("default"), &ColorEnv::default()).expect("default theme");
        let prod = styles.env_banner("prod");
        assert_eq!(prod.bg, Some(Color::Red));
        assert_eq!(styles.env_banner("PROD"), prod);
        assert_eq!(styles.env_banner("production"), prod);
        assert_eq!(styles.env_banner("prod-eu"), prod);
        assert_eq!(styles.env_banner("staging").bg, Some(Color::Yellow));
        assert_eq!(styles.env_banner("lab"), styles.env_default);
    }

    #[test]
    fn user_file_inherits_the_rest() {
        let text = "inherits = \"light\"\n[colors]\nok = \"#00ff00\"\n[env]\nqa = \"magenta\"\n";
        let styles = parse(
            text,
            "mine.toml",
            &ColorEnv {
                no_color: false,
                truecolor: true,
            },
        )
        .expect("valid");
        let light = load(
            Some("light"),
            &ColorEnv {
                no_color: false,
                truecolor: true,
            },
        )
        .expect("light");
        assert_eq!(styles.name, "mine");
        assert_eq!(styles.ok.fg, Some(Color::Rgb(0, 255, 0)));
        assert_eq!(styles.crit, light.crit);
        assert_eq!(styles.env_banner("qa").fg, Some(Color::Magenta));
        assert_eq!(styles.env_banner("prod"), light.env_banner("prod"));
        // Without inherits, the default theme fills in.
        let plain = parse("[colors]\nok = 2\n", "p.toml", &ColorEnv::default()).expect("valid");
        let default = load(None, &ColorEnv::default()).expect("default");
        assert_eq!(plain.ok.fg, Some(Color::Indexed(2)));
        assert_eq!(plain.selection, default.selection);
    }

    #[test]
    fn modifiers_survive_no_color() {
        let text = "[colors]\ntitle = { fg = \"cyan\", modifiers = [\"bold\", \"underlined\"] }\n";
        let styles = parse(
            text,
            "t.toml",
            &ColorEnv {
                no_color: true,
                truecolor: false,
            },
        )
        .expect("valid");
        assert_eq!(styles.title.fg, None);
        assert_eq!(
            styles.title.add_modifier,
            Modifier::BOLD | Modifier::UNDERLINED
        );
    }

    #[test]
    fn names_and_paths() {
        assert!(!is_path("light"));
        assert!(is_path("./mine.toml"));
        assert!(is_path("mine.toml"));
        assert!(is_path("/etc/watchdeck/theme"));
        let err = load(Some("ligth"), &ColorEnv::default()).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown theme \"ligth\" — shipped themes are default, light, high-contrast, \
             monochrome; or give the path of a theme file (ending in .toml)"
        );
        let err = load(Some("high"), &ColorEnv::default()).expect_err("unknown");
        assert!(
            err.to_string().contains("did you mean \"high-contrast\"?"),
            "{err}"
        );
        let err = load(Some("/nonexistent/x.toml"), &ColorEnv::default()).expect_err("missing");
        assert!(err
            .to_string()
            .starts_with("/nonexistent/x.toml: cannot read the theme file"));
    }
}
