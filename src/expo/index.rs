//! The series index of one target: every series seen, its last and previous value.
//!
//! Series are keyed by the bytes of `name{labels}` as the target writes them. Keys live in one
//! arena, the hash table holds only 4-byte ids, and labels are parsed from the key when someone
//! asks, so the index costs about the size of the keys plus ~60 bytes a series. A known series
//! is found by hashing the key bytes straight from the body and updated in place: no
//! allocation per sample once the series are known.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::family::{family_name_for, MetricType};
use super::key::scan_new_key;
use super::labels::{unescape, RawLabels};
use super::lexer::{sample_tail, Format, Lexer, Line, LineError, Sample, NAME_START};
use crate::text::printable_excerpt;

/// What the fast path made of a sample line.
enum Fast {
    /// A known series, updated.
    Updated,
    /// A new series, stored.
    Inserted,
    /// Anything else: the full lexer decides.
    Slow,
}

/// Size limits applied while ingesting; each must be non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexLimits {
    /// Samples accepted from one scrape; the rest are dropped and the scrape is flagged.
    pub max_samples: usize,
    /// Labels on one series.
    pub max_labels: usize,
    /// Bytes in one label name or value.
    pub max_label_length: usize,
}

impl Default for IndexLimits {
    fn default() -> Self {
        Self {
            max_samples: 200_000,
            max_labels: 64,
            max_label_length: 4096,
        }
    }
}

/// How many malformed lines a report keeps verbatim (all are counted).
const MALFORMED_KEPT: usize = 20;
/// Scrapes a vanished series is kept for before it is dropped from the index.
const RETAIN_ABSENT: u32 = 5;

/// A line that was skipped, with its number and a printable excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: u32,
    pub reason: String,
    pub excerpt: String,
}

impl Malformed {
    fn new(line: u32, reason: String, text: &[u8]) -> Self {
        Self {
            line,
            reason,
            excerpt: printable_excerpt(text, 160),
        }
    }
}

/// What one ingest saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrapeReport {
    /// Samples accepted.
    pub samples: usize,
    /// Series seen for the first time.
    pub new_series: usize,
    /// Malformed lines, all counted.
    pub malformed_count: usize,
    /// The first few malformed lines.
    pub malformed: Vec<Malformed>,
    /// Set when the body had more samples than `max_samples`.
    pub sample_limit_hit: bool,
    /// Series dropped from the index because they vanished several scrapes ago.
    pub removed_series: usize,
    /// True when series ids changed (after removals); cached ids must be looked up again.
    pub ids_changed: bool,
}

impl ScrapeReport {
    fn malformed(&mut self, m: Malformed) {
        self.malformed_count += 1;
        if self.malformed.len() < MALFORMED_KEPT {
            self.malformed.push(m);
        }
    }
}

/// Position of a series in the index; valid until a report says `ids_changed`.
pub type SeriesId = u32;

#[derive(Debug, Clone)]
struct Series {
    key_off: u32,
    key_len: u32,
    family: u32,
    seen_gen: u32,
    last: f64,
    prev: f64,
    last_ms: i64,
    prev_ms: i64,
    /// Timestamp written in the exposition, `i64::MIN` when none.
    ts_ms: i64,
}

#[derive(Debug, Clone)]
struct Family {
    name: Box<str>,
    kind: MetricType,
    help: Option<Box<str>>,
    unit: Option<Box<str>>,
}

/// One series as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesView<'a> {
    pub id: SeriesId,
    pub name: &'a str,
    /// `name{labels}` as the target wrote it.
    pub key: &'a str,
    pub labels: RawLabels<'a>,
    pub family: &'a str,
    pub kind: MetricType,
    pub help: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub value: f64,
    /// When this index stored `value` (the scrape time, ms).
    pub at_ms: i64,
    /// The value before, with its scrape time, if the series was seen before.
    pub prev: Option<(i64, f64)>,
    /// The timestamp the target wrote, if any.
    pub timestamp_ms: Option<i64>,
    /// Whether the series was in the latest scrape.
    pub present: bool,
}

/// All series of one target.
pub struct SeriesIndex {
    keys: Vec<u8>,
    series: Vec<Series>,
    table: HashTable<SeriesId>,
    hasher: foldhash::fast::RandomState,
    families: Vec<Family>,
    family_ids: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    generation: u32,
    limits: IndexLimits,
    /// The id expected next: the one after the series last updated.
    cursor: SeriesId,
    /// Tests turn the fast paths off to check they change nothing.
    #[cfg(test)]
    fast: bool,
}

impl std::fmt::Debug for SeriesIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesIndex")
            .field("series", &self.series.len())
            .field("families", &self.families.len())
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Default for SeriesIndex {
    fn default() -> Self {
        Self::new(IndexLimits::default())
    }
}

impl SeriesIndex {
    pub fn new(limits: IndexLimits) -> Self {
        Self {
            keys: Vec::new(),
            series: Vec::new(),
            table: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            families: Vec::new(),
            family_ids: HashMap::default(),
            generation: 0,
            limits,
            cursor: 0,
            #[cfg(test)]
            fast: true,
        }
    }

    /// The same index with only the full lexer path, to check the fast paths against.
    #[cfg(test)]
    pub(crate) fn without_fast_paths(mut self) -> Self {
        self.fast = false;
        self
    }

    pub fn limits(&self) -> IndexLimits {
        self.limits
    }

    /// Number of series held (present or recently vanished).
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Series present in the latest scrape.
    pub fn present_len(&self) -> usize {
        let g = self.generation;
        self.series.iter().filter(|s| s.seen_gen == g).count()
    }

    /// Heap bytes held by the index (keys, series, hash table, families).
    pub fn memory_bytes(&self) -> usize {
        let fam: usize = self
            .families
            .iter()
            .map(|f| {
                f.name.len() * 2
                    + f.help.as_ref().map_or(0, |h| h.len())
                    + f.unit.as_ref().map_or(0, |u| u.len())
                    + std::mem::size_of::<Family>()
                    + 24
            })
            .sum();
        self.keys.capacity()
            + self.series.capacity() * std::mem::size_of::<Series>()
            + self.table.capacity() * (std::mem::size_of::<SeriesId>() + 1)
            + fam
    }

    fn key(&self, s: &Series) -> &[u8] {
        &self.keys[s.key_off as usize..(s.key_off + s.key_len) as usize]
    }

    /// Reads one scrape's body into the index. `now_ms` is the scrape time.
    pub fn ingest(&mut self, body: &[u8], format: Format, now_ms: i64) -> ScrapeReport {
        self.generation = self.generation.wrapping_add(1);
        let gen = self.generation;
        let mut report = ScrapeReport::default();
        let mut current: Option<u32> = None;
        self.cursor = 0;
        if self.series.is_empty() {
            // First scrape: size everything once from the line count instead of growing by
            // doubling (and rehashing) all the way up; the excess is given back below.
            let lines = memchr::memchr_iter(b'\n', body)
                .count()
                .min(self.limits.max_samples);
            let (keys, series, hasher) = (&self.keys, &self.series, &self.hasher);
            self.table.reserve(lines, |&id| {
                let e = &series[id as usize];
                hasher.hash_one(&keys[e.key_off as usize..(e.key_off + e.key_len) as usize])
            });
            self.series.reserve(lines);
            self.keys.reserve(body.len());
        }
        let mut pos = 0;
        let mut line_no = 0u32;
        let mut after_eof = false;
        while pos < body.len() {
            let rest = &body[pos..];
            let (text, advance) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], i + 1),
                None => (rest, rest.len()),
            };
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            pos += advance;
            line_no += 1;
            if !after_eof && text.first().is_some_and(|c| NAME_START[*c as usize]) {
                if report.samples >= self.limits.max_samples {
                    report.sample_limit_hit = true;
                    break;
                }
                match self.fast(text, format, current, gen, now_ms) {
                    Fast::Updated => {
                        report.samples += 1;
                        continue;
                    }
                    Fast::Inserted => {
                        report.samples += 1;
                        report.new_series += 1;
                        continue;
                    }
                    Fast::Slow => {}
                }
            }
            // Anything else (metadata, new series, errors) goes through the full lexer, which
            // decides what the line is and says precisely what is wrong with it.
            let mut lexer = Lexer::new(text, format);
            if after_eof {
                lexer.after_eof();
            }
            let Some(item) = lexer.next() else { continue };
            match item {
                Ok(Line::Sample(s)) => {
                    if report.samples >= self.limits.max_samples {
                        report.sample_limit_hit = true;
                        break;
                    }
                    self.sample(&s, line_no, current, gen, now_ms, &mut report);
                }
                Ok(Line::Type { name, kind }) => {
                    let f = self.family(name);
                    self.families[f as usize].kind = kind;
                    current = Some(f);
                }
                Ok(Line::Help { name, text }) => {
                    let f = self.family(name);
                    let fam = &mut self.families[f as usize];
                    if fam.help.as_deref().map(str::as_bytes) != Some(text) {
                        let decoded = unescape(text);
                        fam.help = Some(String::from_utf8_lossy(&decoded).into());
                    }
                    current = Some(f);
                }
                Ok(Line::Unit { name, unit }) => {
                    let f = self.family(name);
                    let fam = &mut self.families[f as usize];
                    if fam.unit.as_deref() != Some(unit) {
                        fam.unit = Some(unit.into());
                    }
                    current = Some(f);
                }
                Ok(Line::Eof) => after_eof = true,
                Err(LineError { reason, text, .. }) => {
                    report.malformed(Malformed::new(line_no, reason.to_owned(), text));
                }
            }
        }
        self.drop_vanished(&mut report);
        if report.new_series > 0 {
            // Growth by doubling can leave up to half of each buffer unused; give it back once
            // the set of series has settled.
            self.keys.shrink_to_fit();
            self.series.shrink_to_fit();
        }
        report
    }

    /// The fast path for a sample line. A series seen before: guess the key as everything up
    /// to the last `}` (or the first blank when there are no labels) and look it up. A hit is
    /// exact: the guess equals a key that was fully validated when it was stored, so the full
    /// lexer would have found the same key. A miss is a new series (or an exemplar, or an
    /// error): [`Self::insert_new`] stores it if the line is plainly well formed.
    #[inline]
    fn fast(
        &mut self,
        text: &[u8],
        format: Format,
        current: Option<u32>,
        gen: u32,
        now_ms: i64,
    ) -> Fast {
        #[cfg(test)]
        if !self.fast {
            return Fast::Slow;
        }
        let key_end = match memchr::memrchr(b'}', text) {
            Some(i) => i + 1,
            None => match memchr::memchr2(b' ', b'\t', text) {
                Some(i) => i,
                None => return Fast::Slow,
            },
        };
        let key = &text[..key_end];
        let (keys, series) = (&self.keys, &self.series);
        let key_of = |e: &Series| &keys[e.key_off as usize..(e.key_off + e.key_len) as usize];
        // Targets write their series in the same order every time, so the series after the
        // last one updated is the best guess: a sequential compare, no hashing, and no random
        // access into the table (which is what costs most on a large scrape).
        let id = match series.get(self.cursor as usize) {
            Some(e) if key_of(e) == key => self.cursor,
            _ => {
                let hash = self.hasher.hash_one(key);
                match self
                    .table
                    .find(hash, |&id| key_of(&series[id as usize]) == key)
                {
                    Some(&id) => id,
                    None => {
                        return self.insert_new(text, key_end, hash, format, current, gen, now_ms)
                    }
                }
            }
        };
        self.cursor = id + 1;
        let e = &mut self.series[id as usize];
        if e.seen_gen == gen {
            return Fast::Slow; // a duplicate: let the slow path report it
        }
        let Ok((value, ts, _)) = sample_tail(&text[key_end..], format) else {
            return Fast::Slow;
        };
        e.prev = e.last;
        e.prev_ms = e.last_ms;
        e.last = value;
        e.last_ms = now_ms;
        e.ts_ms = ts.unwrap_or(i64::MIN);
        e.seen_gen = gen;
        Fast::Updated
    }

    /// A line whose guessed key (`text[..guess_end]`, hashing to `guess_hash`) is not in the
    /// index: most often a new series. Stores it when the key scans clean in one pass; anything
    /// unusual (escapes, errors, limits, an exemplar's `}` fooling the guess into a known
    /// series) is left to the full lexer, which reports it exactly as before.
    #[allow(clippy::too_many_arguments)]
    fn insert_new(
        &mut self,
        text: &[u8],
        guess_end: usize,
        guess_hash: u64,
        format: Format,
        current: Option<u32>,
        gen: u32,
        now_ms: i64,
    ) -> Fast {
        let Some((name_end, key_end)) =
            scan_new_key(text, self.limits.max_labels, self.limits.max_label_length)
        else {
            return Fast::Slow;
        };
        let key = &text[..key_end];
        let hash = if key_end == guess_end {
            guess_hash
        } else {
            let hash = self.hasher.hash_one(key);
            if self.find_hashed(hash, key).is_some() {
                return Fast::Slow;
            }
            hash
        };
        let Ok((value, ts, _)) = sample_tail(&text[key_end..], format) else {
            return Fast::Slow;
        };
        // Keys are stored only if UTF-8; most are ASCII, which is the quicker check.
        if !key.is_ascii() && std::str::from_utf8(key).is_err() {
            return Fast::Slow;
        }
        // The name is ASCII: the scan took only name characters.
        let Ok(name) = std::str::from_utf8(&text[..name_end]) else {
            return Fast::Slow;
        };
        match self.store(hash, key, name, value, ts, current, gen, now_ms) {
            Ok(()) => Fast::Inserted,
            Err(_) => Fast::Slow,
        }
    }

    #[inline]
    fn sample(
        &mut self,
        s: &Sample<'_>,
        line: u32,
        current: Option<u32>,
        gen: u32,
        now_ms: i64,
        report: &mut ScrapeReport,
    ) {
        // One series, one key: `a{ x = "1" }` is stored (and found) as `a{x="1"}`.
        let canonical = super::lexer::canonical_key(s.key);
        let owned;
        let s = match &canonical {
            Some(k) => {
                owned = Sample { key: k, ..*s };
                &owned
            }
            None => s,
        };
        let hash = self.hasher.hash_one(s.key);
        let (keys, series) = (&self.keys, &self.series);
        let found = self.table.find(hash, |&id| {
            let e = &series[id as usize];
            &keys[e.key_off as usize..(e.key_off + e.key_len) as usize] == s.key
        });
        if let Some(&id) = found {
            let e = &mut self.series[id as usize];
            if e.seen_gen == gen {
                report.malformed(Malformed::new(
                    line,
                    "the same series appears twice in one scrape".to_owned(),
                    s.key,
                ));
                return;
            }
            e.prev = e.last;
            e.prev_ms = e.last_ms;
            e.last = s.value;
            e.last_ms = now_ms;
            e.ts_ms = s.timestamp_ms.unwrap_or(i64::MIN);
            e.seen_gen = gen;
            report.samples += 1;
            return;
        }
        if let Err(reason) = self.insert(hash, s, current, gen, now_ms) {
            report.malformed(Malformed::new(line, reason, s.key));
        } else {
            report.samples += 1;
            report.new_series += 1;
        }
    }

    fn insert(
        &mut self,
        hash: u64,
        s: &Sample<'_>,
        current: Option<u32>,
        gen: u32,
        now_ms: i64,
    ) -> Result<(), String> {
        s.labels
            .validate(self.limits.max_labels, self.limits.max_label_length)?;
        if std::str::from_utf8(s.key).is_err() {
            return Err("series is not valid UTF-8".to_owned());
        }
        self.store(
            hash,
            s.key,
            s.name,
            s.value,
            s.timestamp_ms,
            current,
            gen,
            now_ms,
        )
    }

    /// Appends a new, validated series.
    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        hash: u64,
        key: &[u8],
        name: &str,
        value: f64,
        timestamp_ms: Option<i64>,
        current: Option<u32>,
        gen: u32,
        now_ms: i64,
    ) -> Result<(), String> {
        let key_off = u32::try_from(self.keys.len()).map_err(|_| "series index is full")?;
        let key_len = u32::try_from(key.len()).map_err(|_| "series key too long")?;
        if key_off.checked_add(key_len).is_none() {
            return Err("series index is full".to_owned());
        }
        let family = match current {
            Some(f)
                if family_name_for(
                    name,
                    &self.families[f as usize].name,
                    self.families[f as usize].kind,
                )
                .is_some() =>
            {
                f
            }
            _ => self.family(name),
        };
        let id = SeriesId::try_from(self.series.len()).map_err(|_| "series index is full")?;
        // Appending in order (a first scrape, new pods at the end): the series expected next is
        // not in the index yet, so point past the end instead of comparing with series 0 every
        // time. A series new in the middle leaves the expectation where it was.
        if self.cursor == id {
            self.cursor = id + 1;
        }
        self.keys.extend_from_slice(key);
        self.series.push(Series {
            key_off,
            key_len,
            family,
            seen_gen: gen,
            last: value,
            prev: f64::NAN,
            last_ms: now_ms,
            prev_ms: i64::MIN,
            ts_ms: timestamp_ms.unwrap_or(i64::MIN),
        });
        let (keys, series, hasher) = (&self.keys, &self.series, &self.hasher);
        self.table.insert_unique(hash, id, |&id| {
            let e = &series[id as usize];
            hasher.hash_one(&keys[e.key_off as usize..(e.key_off + e.key_len) as usize])
        });
        Ok(())
    }

    fn family(&mut self, name: &str) -> u32 {
        if let Some(&f) = self.family_ids.get(name) {
            return f;
        }
        let f = self.families.len() as u32;
        self.families.push(Family {
            name: name.into(),
            kind: MetricType::Unknown,
            help: None,
            unit: None,
        });
        self.family_ids.insert(name.into(), f);
        f
    }

    /// Drops series absent for more than `RETAIN_ABSENT` scrapes, compacting the arena.
    fn drop_vanished(&mut self, report: &mut ScrapeReport) {
        // Every sample accepted is a different series (a repeat is refused), so when there
        // were as many as the index holds, none is absent: skip the pass over all series.
        if report.samples == self.series.len() {
            return;
        }
        let gen = self.generation;
        let gone = |s: &Series| gen.wrapping_sub(s.seen_gen) > RETAIN_ABSENT;
        // Checking every scrape is one pass over a few bytes a series; compaction is rare.
        if !self.series.iter().any(gone) {
            return;
        }
        let old_keys = std::mem::take(&mut self.keys);
        let old_series = std::mem::take(&mut self.series);
        self.table.clear();
        for mut s in old_series {
            if gone(&s) {
                report.removed_series += 1;
                continue;
            }
            let key = &old_keys[s.key_off as usize..(s.key_off + s.key_len) as usize];
            s.key_off = self.keys.len() as u32;
            self.keys.extend_from_slice(key);
            let id = self.series.len() as SeriesId;
            self.series.push(s);
            let hash = self.hasher.hash_one(key);
            let (keys, series, hasher) = (&self.keys, &self.series, &self.hasher);
            self.table.insert_unique(hash, id, |&id| {
                let e = &series[id as usize];
                hasher.hash_one(&keys[e.key_off as usize..(e.key_off + e.key_len) as usize])
            });
        }
        report.ids_changed = true;
    }

    /// The series with this exact key (`name{labels}` as written), if known.
    pub fn find(&self, key: &str) -> Option<SeriesId> {
        let hash = self.hasher.hash_one(key.as_bytes());
        self.find_hashed(hash, key.as_bytes())
    }

    fn find_hashed(&self, hash: u64, key: &[u8]) -> Option<SeriesId> {
        self.table
            .find(hash, |&id| self.key(&self.series[id as usize]) == key)
            .copied()
    }

    pub fn get(&self, id: SeriesId) -> Option<SeriesView<'_>> {
        let s = self.series.get(id as usize)?;
        let fam = &self.families[s.family as usize];
        // Keys are checked to be UTF-8 before they are stored.
        let key = std::str::from_utf8(self.key(s)).ok()?;
        let (name, labels) = match key.find('{') {
            Some(i) => (
                &key[..i],
                RawLabels::new(&key.as_bytes()[i + 1..key.len() - 1]),
            ),
            None => (key, RawLabels::default()),
        };
        Some(SeriesView {
            id,
            name,
            key,
            labels,
            family: &fam.name,
            kind: fam.kind,
            help: fam.help.as_deref(),
            unit: fam.unit.as_deref(),
            value: s.last,
            at_ms: s.last_ms,
            prev: (s.prev_ms != i64::MIN).then_some((s.prev_ms, s.prev)),
            timestamp_ms: (s.ts_ms != i64::MIN).then_some(s.ts_ms),
            present: s.seen_gen == self.generation,
        })
    }

    /// Every series in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = SeriesView<'_>> + '_ {
        (0..self.series.len() as SeriesId).filter_map(|id| self.get(id))
    }

    /// Ids of the series whose sample name satisfies `pick`, in the order first seen.
    pub fn select(&self, mut pick: impl FnMut(&str) -> bool) -> Vec<SeriesId> {
        self.iter().filter(|v| pick(v.name)).map(|v| v.id).collect()
    }
}
