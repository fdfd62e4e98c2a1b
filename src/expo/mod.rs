//! Prometheus text (0.0.4) and OpenMetrics text exposition, parsed without copying.
//!
//! Two layers:
//! - [`Lexer`] walks a body line by line and yields borrowed [`Line`]s. It validates the shape of
//!   every line it yields; label pairs are walked lazily through [`RawLabels`], which decodes
//!   escapes only when a backslash is present.
//! - [`SeriesIndex`] interns each series once (keyed by the bytes of `name{labels}` exactly as
//!   written) and updates its value in place on every later scrape, so a steady-state scrape
//!   allocates nothing per sample.
//!
//! A malformed line is reported with its line number and skipped; it never fails the rest of
//! the scrape.

mod family;
mod index;
mod key;
mod labels;
mod lexer;

pub use family::{family_name_for, MetricType};
pub use index::{IndexLimits, Malformed, ScrapeReport, SeriesId, SeriesIndex, SeriesView};
pub use labels::{LabelError, RawLabels};
pub use lexer::{Exemplar, Format, Lexer, Line, LineError, Sample};
