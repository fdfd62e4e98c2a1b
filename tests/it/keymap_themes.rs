//! Keymap and theme fixtures: the shipped keymap and themes parse and keep their promises
//! (help text for every binding, no tmux/screen prefixes, colourless monochrome under
//! NO_COLOR), user overrides and theme files are checked with messages that point at the
//! line, and the config's `theme` and `[keys]` entries go through the same checks.

use std::path::Path;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier, Style};
use watchdeck::config::{template, Config};
use watchdeck::keymap::command::Command;
use watchdeck::keymap::{self, parse_key, Keymap, Mode};
use watchdeck::theme::{self, nearest_256, ColorEnv, Styles, SHIPPED};

const ALL_ENVS: [ColorEnv; 4] = [
    ColorEnv {
        no_color: false,
        truecolor: false,
    },
    ColorEnv {
        no_color: false,
        truecolor: true,
    },
    ColorEnv {
        no_color: true,
        truecolor: false,
    },
    ColorEnv {
        no_color: true,
        truecolor: true,
    },
];

const PLAIN: ColorEnv = ColorEnv {
    no_color: false,
    truecolor: false,
};

fn no_env(_: &str) -> Option<String> {
    None
}

// ---- keymap ------------------------------------------------------------------------------

#[test]
fn shipped_keymap_parses_and_is_the_default() {
    let parsed = Keymap::from_toml(keymap::SHIPPED, "assets/keymap.toml")
        .unwrap_or_else(|e| panic!("shipped keymap:\n{e}"));
    assert_eq!(parsed, Keymap::default());
}

#[test]
fn help_can_be_generated_for_every_mode() {
    let km = Keymap::default();
    for mode in Mode::ALL {
        let bindings = km.bindings(mode);
        assert!(!bindings.is_empty(), "{mode} has no bindings");
        for b in bindings {
            assert!(!b.desc.trim().is_empty(), "{mode}: {} has no desc", b.on);
        }
        let help = km.help(mode);
        assert!(!help.is_empty());
        let keys: usize = help.iter().map(|r| r.keys.len()).sum();
        assert_eq!(
            keys,
            bindings.len(),
            "{mode}: every binding appears in help once"
        );
        for row in &help {
            assert!(!row.desc.is_empty());
            assert_eq!(row.keys, km.keys_for(mode, row.run));
        }
    }
}

#[test]
fn no_shipped_binding_uses_a_multiplexer_prefix() {
    let km = Keymap::default();
    let prefixes = [
        parse_key("<C-b>").expect("C-b"),
        parse_key("<C-a>").expect("C-a"),
    ];
    for mode in Mode::ALL {
        for b in km.bindings(mode) {
            assert!(
                !prefixes.contains(&b.on) && !keymap::is_multiplexer_prefix(b.on),
                "{mode}: {} is bound to {}",
                b.on,
                b.run
            );
        }
        for code in ['a', 'b'] {
            let ev = KeyEvent::new(KeyCode::Char(code), KeyModifiers::CONTROL);
            assert_eq!(km.lookup(mode, &ev), None, "{mode}: Ctrl-{code}");
        }
    }
    // The text of the file too, in case a future spelling slips past the parser.
    assert!(!keymap::SHIPPED.contains("\"<C-b>\""));
    assert!(!keymap::SHIPPED.contains("\"<C-a>\""));
}

#[test]
fn every_command_is_bound_and_every_mode_has_a_way_out() {
    let km = Keymap::default();
    for cmd in Command::ALL {
        assert!(
            Mode::ALL.iter().any(|&m| !km.keys_for(m, cmd).is_empty()),
            "{cmd} has no key"
        );
    }
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    for (mode, out) in [
        (Mode::Normal, Command::Back),
        (Mode::Browse, Command::Back),
        (Mode::Help, Command::Close),
        (Mode::Palette, Command::Close),
        (Mode::Confirm, Command::Cancel),
    ] {
        assert_eq!(km.lookup(mode, &esc), Some(out), "{mode}");
    }
}

#[test]
fn shipped_keys_round_trip_through_display() {
    let km = Keymap::default();
    for mode in Mode::ALL {
        for b in km.bindings(mode) {
            assert_eq!(parse_key(&b.on.to_string()), Ok(b.on), "{mode}: {}", b.on);
        }
    }
    // Digits 1-7 jump to the seven panels in order.
    let panels = [
        Command::FocusOverview,
        Command::FocusBacklog,
        Command::FocusSse,
        Command::FocusLatency,
        Command::FocusDisk,
        Command::FocusHealth,
        Command::FocusSignals,
    ];
    for (digit, cmd) in ('1'..='7').zip(panels) {
        let ev = KeyEvent::new(KeyCode::Char(digit), KeyModifiers::NONE);
        assert_eq!(km.lookup(Mode::Normal, &ev), Some(cmd), "{digit}");
    }
}

// ---- [keys] in the config ------------------------------------------------------------------

fn config(text: &str) -> Result<Config, String> {
    Config::parse(text, Some(Path::new("c.toml")), &no_env).map_err(|e| e.to_string())
}

const TARGET: &str = "[[target]]\nname = \"a\"\nmetrics = \"http://127.0.0.1:1/metrics\"\n";

#[test]
fn config_key_overrides_apply_to_the_keymap() {
    let text = format!(
        "{TARGET}[keys]\nnormal = [\n  {{ on = \"x\", run = \"freeze\", desc = \"Freeze (x)\" }},\n  \
         {{ on = \"q\", run = \"noop\" }},\n]\nconfirm = [{{ on = \"Y\", run = \"confirm\" }}]\n"
    );
    let config = config(&text).expect("valid");
    assert_eq!(config.keys.entries.len(), 3);
    let mut km = Keymap::default();
    km.apply_overrides(&config.keys).expect("applies");
    let key = |t: &str| parse_key(t).expect(t);
    assert_eq!(km.lookup_key(Mode::Normal, key("x")), Some(Command::Freeze));
    assert_eq!(km.lookup_key(Mode::Normal, key("f")), Some(Command::Freeze));
    assert_eq!(km.lookup_key(Mode::Normal, key("q")), None);
    let shift_y = KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT);
    assert_eq!(km.lookup(Mode::Confirm, &shift_y), Some(Command::Confirm));
    let x = km
        .bindings(Mode::Normal)
        .iter()
        .find(|b| b.on == key("x"))
        .expect("x bound");
    assert_eq!(x.desc, "Freeze (x)");
    // No [keys]: nothing to override.
    assert!(config_no_keys().keys.is_empty());
}

fn config_no_keys() -> Config {
    config(TARGET).expect("valid")
}

#[test]
fn config_key_problems_point_at_the_line() {
    let text = format!(
        "{TARGET}[keys]\nnormal = [\n  {{ on = \"f\", run = \"freeze\" }},\n  \
         {{ on = \"f\", run = \"help\" }},\n  {{ on = \"<Ctrl-x>\", run = \"quit\" }},\n]\n\
         help = [{{ on = \"j\", run = \"donw\" }}]\n"
    );
    let err = config(&text).expect_err("invalid");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert_eq!(
        lines[0],
        "c.toml:7:10: [keys] key \"f\" in normal mode is bound twice: \"freeze\" and \"help\" — \
         keep one of them"
    );
    assert!(
        lines[1].starts_with("c.toml:8:10: [keys] normal mode: cannot read key \"<Ctrl-x>\""),
        "{err}"
    );
    assert_eq!(
        lines[2],
        "c.toml:10:27: [keys] help mode: unknown command \"donw\" — did you mean \"down\"? \
         (or \"noop\" to unbind the key)"
    );
}

#[test]
fn config_unknown_keys_in_keys_table_are_listed() {
    let text =
        format!("{TARGET}[keys]\nnormal = [{{ on = \"x\", runs = \"quit\" }}]\nvisual = []\n");
    let err = config(&text).expect_err("invalid");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("c.toml:5:23: unknown key `runs` in a [keys] normal entry"),
        "{err}"
    );
    assert!(lines[1].starts_with("c.toml:6:1: unknown key `visual` in [keys]"));
}

// ---- theme in the config ---------------------------------------------------------------------

#[test]
fn config_theme_names_and_paths() {
    let c = config(&format!("theme = \"light\"\n{TARGET}")).expect("valid");
    assert_eq!(c.theme.as_deref(), Some("light"));
    assert_eq!(config_no_keys().theme, None);
    let c = config(&format!("theme = \"themes/mine.toml\"\n{TARGET}")).expect("valid");
    // Relative to the config file's directory ("c.toml" has an empty one).
    assert_eq!(c.theme.as_deref(), Some("themes/mine.toml"));
    let in_dir = Config::parse(
        &format!("theme = \"mine.toml\"\n{TARGET}"),
        Some(Path::new("/etc/watchdeck/config.toml")),
        &no_env,
    )
    .expect("valid");
    assert_eq!(in_dir.theme.as_deref(), Some("/etc/watchdeck/mine.toml"));

    let err = config(&format!("theme = \"drak\"\n{TARGET}")).expect_err("unknown");
    assert!(
        err.starts_with("c.toml:1:9: theme: unknown theme \"drak\" — shipped themes are default,"),
        "{err}"
    );
}

#[test]
fn config_load_checks_the_theme_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("mine.toml"),
        "inherits = \"light\"\n[colors]\nok = \"#12345\"\n",
    )
    .expect("write theme");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, format!("theme = \"mine.toml\"\n{TARGET}")).expect("write config");
    let err = Config::load(&cfg).expect_err("bad theme").to_string();
    let theme_path = dir.path().join("mine.toml");
    assert_eq!(
        err,
        format!(
            "{}:1:9: theme: {}:3: colors.ok = \"#12345\" is not a colour — use a name like \
             \"red\", \"#rrggbb\", or an index 0-255",
            cfg.display(),
            theme_path.display()
        )
    );
    std::fs::write(dir.path().join("mine.toml"), "[colors]\nok = \"#123456\"\n").expect("fix");
    let ok = Config::load(&cfg).expect("valid now");
    let styles = theme::load(ok.theme.as_deref(), &PLAIN).expect("theme loads");
    assert_eq!(styles.name, "mine");
    assert_eq!(
        styles.ok.fg,
        Some(Color::Indexed(nearest_256(0x12, 0x34, 0x56)))
    );
}

#[test]
fn template_examples_parse_when_uncommented() {
    let t = template();
    let uncommented: String = t
        .lines()
        .map(|l| {
            let body = l.strip_prefix("# ").unwrap_or(l);
            let active = body.starts_with("theme =")
                || body.starts_with("[keys]")
                || body.starts_with("normal =")
                || body.starts_with("  { on")
                || body == "]"
                || body.starts_with("confirm =");
            if active {
                body.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    // The theme key must sit before the first table to be a root key.
    let config = Config::parse(&uncommented, None, &|_| Some("t".into()))
        .unwrap_or_else(|e| panic!("uncommented template:\n{e}\n---\n{uncommented}"));
    assert_eq!(config.theme.as_deref(), Some("default"));
    assert_eq!(config.keys.entries.len(), 3);
    // The command list in the template is complete and in order.
    let listed: Vec<&str> = t
        .split("# Commands:")
        .nth(1)
        .expect("command list")
        .split("\n#\n")
        .next()
        .expect("list ends")
        .split_whitespace()
        .filter(|w| *w != "#")
        .collect();
    assert_eq!(listed, Command::ALL.map(Command::name));
}

// ---- themes --------------------------------------------------------------------------------

fn colours(s: &Styles) -> Vec<(String, Style)> {
    let mut out: Vec<(String, Style)> = s
        .slots()
        .iter()
        .map(|(n, st)| ((*n).to_string(), *st))
        .collect();
    for env in ["prod", "production", "staging", "dev", "test", "lab", ""] {
        out.push((format!("env {env:?}"), s.env_banner(env)));
    }
    out
}

#[test]
fn every_shipped_theme_parses_under_every_color_env() {
    for name in SHIPPED {
        let text = theme::shipped_source(name).expect("embedded");
        assert!(
            toml::from_str::<theme::ThemeFile>(text).is_ok(),
            "{name} fits the file type"
        );
        for env in ALL_ENVS {
            let styles = theme::load(Some(name), &env)
                .unwrap_or_else(|e| panic!("{name} under {env:?}:\n{e}"));
            if !env.no_color {
                assert_eq!(styles.name, name);
            }
            for (slot, style) in colours(&styles) {
                let rgb = |c: Option<Color>| matches!(c, Some(Color::Rgb(..)));
                if !env.truecolor {
                    assert!(
                        !rgb(style.fg) && !rgb(style.bg),
                        "{name} {slot}: 24-bit colour without COLORTERM"
                    );
                }
            }
        }
    }
    // The same file on disk as embedded: themes/ is what users copy from.
    for name in SHIPPED {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("themes/{name}.toml"));
        let on_disk = theme::load(path.to_str(), &PLAIN).expect("loads from disk");
        let embedded = theme::load(Some(name), &PLAIN).expect("embedded");
        assert_eq!(on_disk.slots(), embedded.slots(), "{name}");
    }
}

#[test]
fn no_color_yields_no_colours_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let user = dir.path().join("loud.toml");
    std::fs::write(&user, "[colors]\nok = { fg = \"#00ff00\", bg = 21 }\n").expect("write");
    let mut requests: Vec<Option<String>> =
        SHIPPED.iter().map(|s| Some((*s).to_string())).collect();
    requests.push(None);
    requests.push(Some(user.display().to_string()));
    for request in requests {
        for truecolor in [false, true] {
            let env = ColorEnv {
                no_color: true,
                truecolor,
            };
            let styles = theme::load(request.as_deref(), &env).expect("loads");
            assert_eq!(styles.name, "monochrome");
            for (slot, style) in colours(&styles) {
                assert_eq!(
                    (style.fg, style.bg, style.underline_color),
                    (None, None, None),
                    "{request:?} {slot}"
                );
            }
        }
    }
    // NO_COLOR does not hide a broken theme file.
    std::fs::write(&user, "[colors]\nok = \"blurple\"\n").expect("write");
    let env = ColorEnv {
        no_color: true,
        truecolor: false,
    };
    assert!(theme::load(user.to_str(), &env).is_err());
}

#[test]
fn monochrome_stays_usable_without_colour() {
    let m = theme::load(Some("monochrome"), &PLAIN).expect("monochrome");
    for (slot, style) in colours(&m) {
        assert_eq!(
            (style.fg, style.bg),
            (None, None),
            "monochrome {slot} has a colour"
        );
    }
    assert!(m.selection.add_modifier.contains(Modifier::REVERSED));
    assert!(m.crit.add_modifier.contains(Modifier::BOLD));
    assert_ne!(m.crit, m.ok);
    assert_ne!(m.warn, m.ok);
    assert_ne!(m.crit, m.warn);
    assert_ne!(m.border_focus, m.border);
    assert_ne!(m.stale, m.ok);
    assert!(!m.badge_frozen.add_modifier.is_empty());
    assert!(!m.badge_read_only.add_modifier.is_empty());
    assert!(m
        .env_banner("prod")
        .add_modifier
        .contains(Modifier::REVERSED));
    assert!(m
        .env_banner("lab")
        .add_modifier
        .contains(Modifier::REVERSED));
}

#[test]
fn hex_colours_follow_colorterm() {
    let true_env = ColorEnv {
        no_color: false,
        truecolor: true,
    };
    let light_true = theme::load(Some("light"), &true_env).expect("light");
    let light_256 = theme::load(Some("light"), &PLAIN).expect("light");
    assert_eq!(light_true.warn.fg, Some(Color::Rgb(0xaf, 0x5f, 0x00)));
    assert_eq!(light_256.warn.fg, Some(Color::Indexed(130)));
    assert_eq!(light_256.badge_read_only.bg, Some(Color::Indexed(221)));
    assert_eq!(nearest_256(0xff, 0x00, 0x00), 196);
    assert_eq!(nearest_256(0x80, 0x80, 0x80), 244);
    assert_eq!(nearest_256(0xaf, 0x5f, 0x00), 130);
    assert_eq!(nearest_256(0xff, 0xd7, 0x5f), 221);
    assert_eq!(nearest_256(0x12, 0x34, 0x56), 23);
    let env = ColorEnv::from_vars(|n| (n == "COLORTERM").then(|| "24bit".to_string()));
    assert_eq!(env, true_env);
}

fn bad_theme(text: &str) -> Vec<String> {
    match theme::parse(text, "themes/x.toml", &PLAIN) {
        Ok(_) => panic!("should not parse:\n{text}"),
        Err(e) => e.to_string().lines().map(str::to_string).collect(),
    }
}

#[test]
fn bad_colour_is_quoted_with_file_and_line() {
    let comments = "# a comment\n".repeat(10);
    let text = format!("# a user theme\n{comments}[colors]\nok = \"#12345\"\n");
    assert_eq!(text.lines().count(), 13);
    assert_eq!(
        bad_theme(&text),
        [
            "themes/x.toml:13: colors.ok = \"#12345\" is not a colour — use a name like \"red\", \
          \"#rrggbb\", or an index 0-255"
        ]
    );
}

#[test]
fn every_bad_value_is_reported_at_once() {
    let text = "[colors]\n\
                warn = 300\n\
                title = { fg = \"cyan\", bg = \"ciel\", modifiers = [\"bold\", \"blink\"] }\n\
                ok = \"green\"\n\
                [env]\n\
                prod = { bg = -1 }\n";
    assert_eq!(
        bad_theme(text),
        [
            "themes/x.toml:2: colors.warn = 300 is not a colour — use a name like \"red\", \
             \"#rrggbb\", or an index 0-255",
            "themes/x.toml:3: colors.title.bg = \"ciel\" is not a colour — use a name like \
             \"red\", \"#rrggbb\", or an index 0-255",
            "themes/x.toml:3: colors.title.modifiers: \"blink\" is not a modifier — use bold, \
             dim, italic, underlined, reversed, crossed-out",
            "themes/x.toml:6: env.prod.bg = -1 is not a colour — use a name like \"red\", \
             \"#rrggbb\", or an index 0-255",
        ]
    );
}

#[test]
fn unknown_keys_and_wrong_shapes_give_the_line() {
    let unknown = bad_theme("[colors]\nok = \"green\"\nokk = \"red\"\n");
    assert_eq!(unknown.len(), 1);
    assert!(
        unknown[0].starts_with("themes/x.toml:3: unknown field `okk`, expected one of `base`"),
        "{unknown:?}"
    );
    assert!(unknown[0].ends_with("— remove the key or fix its spelling"));

    let top = bad_theme("name = \"x\"\n[colors]\n");
    assert!(
        top[0].starts_with("themes/x.toml:1: unknown field `name`"),
        "{top:?}"
    );

    let inner = bad_theme("[colors]\n\nselection = { fg = \"red\", background = \"blue\" }\n");
    assert!(
        inner[0].starts_with(
            "themes/x.toml:3: unknown field `background`, expected one of `fg`, `bg`, `modifiers`"
        ),
        "{inner:?}"
    );

    let wrong = bad_theme("[colors]\nok = true\n");
    assert!(
        wrong[0].starts_with("themes/x.toml:2: invalid type: boolean `true`"),
        "{wrong:?}"
    );

    let parent = bad_theme("inherits = \"dracula\"\n");
    assert_eq!(
        parent,
        [
            "themes/x.toml:1: inherits = \"dracula\" is not a shipped theme — use one of default, \
          light, high-contrast, monochrome"
        ]
    );
}

#[test]
fn a_theme_file_on_disk_reports_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.toml");
    std::fs::write(&path, "[colors]\n\n\nok = \"#12345\"\n").expect("write");
    let err = theme::load(path.to_str(), &PLAIN).expect_err("bad");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:4: colors.ok = \"#12345\" is not a colour — use a name like \"red\", \
             \"#rrggbb\", or an index 0-255",
            path.display()
        )
    );
    assert!(theme::check(path.to_str().expect("utf-8")).is_err());
}
