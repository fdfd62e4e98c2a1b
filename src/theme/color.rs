//! Colour values as theme files write them, and how they reach the terminal.
//!
//! A theme may name one of the 16 ANSI colours ("red", "light-red", "dark-gray", "reset"),
//! give "#rrggbb", or pick an xterm-256 index. Hex colours are sent as 24-bit only when the
//! terminal says it can take them (COLORTERM); otherwise they become the nearest entry of the
//! xterm 6×6×6 cube or gray ramp, which every 256-colour terminal draws the same. The 16 system
//! colours (indexes 0-15) are never chosen as the nearest: their RGB values differ from one
//! terminal palette to the next.

use ratatui::style::{Color, Modifier};

/// A colour as the theme file wrote it, before the terminal's abilities are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ColorSpec {
    /// One of the ANSI colours, or `Reset`.
    Ansi(Color),
    Rgb(u8, u8, u8),
    Indexed(u8),
}

impl ColorSpec {
    /// The colour to draw with: 24-bit only on a truecolor terminal, the nearest xterm-256
    /// index otherwise.
    pub(super) fn to_color(self, truecolor: bool) -> Color {
        match self {
            ColorSpec::Ansi(c) => c,
            ColorSpec::Indexed(i) => Color::Indexed(i),
            ColorSpec::Rgb(r, g, b) if truecolor => Color::Rgb(r, g, b),
            ColorSpec::Rgb(r, g, b) => Color::Indexed(nearest_256(r, g, b)),
        }
    }
}

/// Colour names, kebab-case as written in theme files.
const NAMES: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark-gray", Color::DarkGray),
    ("light-red", Color::LightRed),
    ("light-green", Color::LightGreen),
    ("light-yellow", Color::LightYellow),
    ("light-blue", Color::LightBlue),
    ("light-magenta", Color::LightMagenta),
    ("light-cyan", Color::LightCyan),
    ("white", Color::White),
    // British spelling, since people type it.
    ("grey", Color::Gray),
    ("dark-grey", Color::DarkGray),
];

/// Reads a colour name or "#rrggbb" (case-insensitive, `_` taken as `-`).
pub(super) fn parse_color_text(text: &str) -> Option<ColorSpec> {
    if let Some(hex) = text.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        return Some(ColorSpec::Rgb(channel(0)?, channel(2)?, channel(4)?));
    }
    let name = text.trim().to_ascii_lowercase().replace('_', "-");
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| ColorSpec::Ansi(*c))
}

/// Reads a 256-colour index.
pub(super) fn parse_color_index(n: i64) -> Option<ColorSpec> {
    u8::try_from(n).ok().map(ColorSpec::Indexed)
}

/// Modifier names as written in `modifiers = [...]`.
pub(super) const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed-out", Modifier::CROSSED_OUT),
];

pub(super) fn parse_modifier(text: &str) -> Option<Modifier> {
    let name = text.trim().to_ascii_lowercase().replace('_', "-");
    MODIFIERS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// The six channel levels of the xterm 6×6×6 cube (indexes 16-231).
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The xterm-256 index nearest to an RGB colour (squared RGB distance), chosen among the
/// cube (16-231) and the gray ramp (232-255, levels 8, 18, …, 238). A tie goes to the cube.
pub fn nearest_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| -> usize {
        (0..CUBE.len())
            .min_by_key(|&i| v.abs_diff(CUBE[i]))
            .unwrap_or(0)
    };
    let (ri, gi, bi) = (level(r), level(g), level(b));
    let cube_index = 16 + 36 * ri + 6 * gi + bi;
    let cube_distance = distance((r, g, b), (CUBE[ri], CUBE[gi], CUBE[bi]));

    // The gray nearest to a colour is the one nearest to its mean.
    let mean = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let step = ((mean.saturating_sub(8) + 5) / 10).min(23);
    let gray = (8 + 10 * step) as u8;
    let gray_distance = distance((r, g, b), (gray, gray, gray));

    if gray_distance < cube_distance {
        232 + step as u8
    } else {
        cube_index as u8
    }
}

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| u32::from(x.abs_diff(y)).pow(2);
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hex_and_indexes() {
        assert_eq!(parse_color_text("red"), Some(ColorSpec::Ansi(Color::Red)));
        assert_eq!(
            parse_color_text("Light_Red"),
            Some(ColorSpec::Ansi(Color::LightRed))
        );
        assert_eq!(
            parse_color_text("dark-grey"),
            Some(ColorSpec::Ansi(Color::DarkGray))
        );
        assert_eq!(
            parse_color_text("reset"),
            Some(ColorSpec::Ansi(Color::Reset))
        );
        assert_eq!(
            parse_color_text("#FF8000"),
            Some(ColorSpec::Rgb(255, 128, 0))
        );
        for bad in ["#12345", "#1234567", "#gg0000", "rouge", "", "#", "#+12345"] {
            assert_eq!(parse_color_text(bad), None, "{bad}");
        }
        assert_eq!(parse_color_index(0), Some(ColorSpec::Indexed(0)));
        assert_eq!(parse_color_index(255), Some(ColorSpec::Indexed(255)));
        assert_eq!(parse_color_index(256), None);
        assert_eq!(parse_color_index(-1), None);
    }

    #[test]
    fn hex_maps_to_the_nearest_xterm_index() {
        // Exact cube points.
        assert_eq!(nearest_256(0xff, 0x00, 0x00), 196);
        assert_eq!(nearest_256(0x00, 0x00, 0x00), 16);
        assert_eq!(nearest_256(0xff, 0xff, 0xff), 231);
        assert_eq!(nearest_256(0x5f, 0x87, 0xaf), 67);
        assert_eq!(nearest_256(0x00, 0xd7, 0x5f), 41);
        // Exact gray ramp points: 0x80 = 128 = 8 + 10·12, 0x08 is the darkest, 0xee the lightest.
        assert_eq!(nearest_256(0x80, 0x80, 0x80), 244);
        assert_eq!(nearest_256(0x08, 0x08, 0x08), 232);
        assert_eq!(nearest_256(0xee, 0xee, 0xee), 255);
        // Off-grid: #1e1e1e (30) is nearer gray 28 (234) than the cube's 0 or 95.
        assert_eq!(nearest_256(0x1e, 0x1e, 0x1e), 234);
        // #fafafa (250) is nearer the cube's white (255) than gray 238.
        assert_eq!(nearest_256(0xfa, 0xfa, 0xfa), 231);
        // A saturated off-grid colour: #ff8700 is cube (5,2,0) = 208; #fe8801 is still 208.
        assert_eq!(nearest_256(0xfe, 0x88, 0x01), 208);
    }

    #[test]
    fn truecolor_decides_how_hex_is_sent() {
        let orange = ColorSpec::Rgb(0xff, 0x87, 0x00);
        assert_eq!(orange.to_color(true), Color::Rgb(0xff, 0x87, 0x00));
        assert_eq!(orange.to_color(false), Color::Indexed(208));
        assert_eq!(ColorSpec::Indexed(42).to_color(true), Color::Indexed(42));
        assert_eq!(ColorSpec::Ansi(Color::Red).to_color(false), Color::Red);
    }
}
