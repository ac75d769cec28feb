//! Part files: the results of one chunk of replications, written atomically.
//!
//! A chunk `c` leaves in `parts/`:
//! - `cNNNNNN.summary.csv`, `cNNNNNN.events.csv`, `cNNNNNN.timeseries.csv` (rows, no header),
//! - `cNNNNNN.failures.csv` (failed replications, usually empty),
//! - `cNNNNNN.sketch`: one quantile sketch per (month, series) over the chunk's replications,
//!   written last: its presence is what marks the chunk done.
//!
//! Each file goes through a temporary name and a rename, so a killed run leaves either a whole
//! chunk or a chunk that is redone on resume — never half a chunk that looks whole.

use std::fs;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::sketch::QuantileSketch;
use super::{OutputError, RunDir, format_month, format_number};
use crate::experiment::{Chunk, ChunkSink, Failure, Recorder};
use crate::model::record::seq_in_month;
use crate::model::{Outcome, Party, Setup};
use crate::scenario::{Point, Scenario};

/// The part-file kinds holding CSV rows, in the order the final files are assembled.
pub const ROW_KINDS: [&str; 4] = ["summary", "events", "timeseries", "failures"];

/// The part file of `kind` of chunk `chunk` in the run folder `dir`.
pub fn part_path(dir: &Path, chunk: usize, kind: &str) -> PathBuf {
    dir.join("parts").join(format!("c{chunk:06}.{kind}"))
}

/// Whether chunk `chunk` is complete in `dir`.
pub fn is_done(dir: &RunDir, chunk: usize) -> bool {
    part_path(&dir.path, chunk, "sketch").exists()
}

/// Accumulates one chunk's rows and sketches in memory (bounded by the chunk size).
pub struct ChunkWriter<'s> {
    setup: &'s Setup,
    timeseries: bool,
    summary: csv::Writer<Vec<u8>>,
    events: csv::Writer<Vec<u8>>,
    series: csv::Writer<Vec<u8>>,
    failures: csv::Writer<Vec<u8>>,
    sketches: Vec<QuantileSketch>,
    names: Vec<(String, String)>,
}

fn rows() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new())
}

impl<'s> ChunkWriter<'s> {
    /// An empty chunk of `setup`'s replications (with timeseries rows if `timeseries`).
    pub fn new(setup: &'s Setup, timeseries: bool) -> ChunkWriter<'s> {
        let names = setup.series_names();
        ChunkWriter {
            setup,
            timeseries,
            summary: rows(),
            events: rows(),
            series: rows(),
            failures: rows(),
            sketches: vec![QuantileSketch::new(); names.len() * setup.months as usize],
            names,
        }
    }

    /// Adds one replication's outcome.
    pub fn add(&mut self, point: &Point, rep: u32, seed: u64, outcome: &Outcome) {
        let (p, r, s) = (point.index.to_string(), rep.to_string(), seed.to_string());
        let mut row = vec![p.clone(), r.clone(), s];
        row.extend(point.values.iter().map(|(_, v)| format_number(*v)));
        row.extend(outcome.summary.iter().map(|v| format_number(*v)));
        self.summary.write_record(&row).expect("writing to memory");
        let base = self.setup.base();
        for (e, seq) in outcome.events.iter().zip(seq_in_month(&outcome.events)) {
            self.events
                .write_record([
                    p.as_str(),
                    r.as_str(),
                    &format_month(self.setup.start, e.month),
                    &seq.to_string(),
                    &party_name(self.setup, base, e.actor),
                    &party_name(self.setup, base, e.target),
                    e.kind.name(),
                    &format_number(e.magnitude),
                ])
                .expect("writing to memory");
        }
        let width = self.names.len();
        for (k, v) in outcome.series.iter().enumerate() {
            self.sketches[k].insert(*v);
            if self.timeseries {
                let (month, (entity, metric)) = (k / width, &self.names[k % width]);
                self.series
                    .write_record([
                        p.as_str(),
                        r.as_str(),
                        &format_month(self.setup.start, month as u32),
                        entity,
                        metric,
                        &format_number(*v),
                    ])
                    .expect("writing to memory");
            }
        }
    }

    /// Records a failed replication.
    pub fn fail(&mut self, f: Failure) {
        self.failures
            .write_record([
                f.point.to_string(),
                f.replication.to_string(),
                f.seed.to_string(),
                f.error,
            ])
            .expect("writing to memory");
    }

    /// Writes the chunk's files into `dir/parts`, the sketch last.
    pub fn finish(self, dir: &RunDir, chunk: usize) -> Result<(), OutputError> {
        for (kind, w) in [
            ("summary", self.summary),
            ("events", self.events),
            ("timeseries", self.series),
            ("failures", self.failures),
        ] {
            let bytes = w.into_inner().expect("memory writer cannot fail");
            write_atomic(&part_path(&dir.path, chunk, kind), &bytes)?;
        }
        let mut bytes = Vec::new();
        write_sketches(&mut bytes, &self.sketches).expect("writing to memory");
        write_atomic(&part_path(&dir.path, chunk, "sketch"), &bytes)
    }
}

impl Recorder for ChunkWriter<'_> {
    fn add(&mut self, point: &Point, rep: u32, seed: u64, outcome: Outcome) {
        ChunkWriter::add(self, point, rep, seed, &outcome);
    }

    fn fail(&mut self, failure: Failure) {
        ChunkWriter::fail(self, failure);
    }
}

/// The part files of a run folder as a [`ChunkSink`]: each chunk goes through a
/// [`ChunkWriter`] into `dir/parts`, and a chunk whose sketch is there is done (resume).
#[derive(Clone, Debug)]
pub struct PartFiles {
    /// The run folder (holding `parts/`).
    pub dir: RunDir,
    /// Whether to write the timeseries rows too (`--timeseries`).
    pub timeseries: bool,
}

impl PartFiles {
    /// The part files of the run folder at `path`.
    pub fn new(path: &Path, timeseries: bool) -> PartFiles {
        PartFiles {
            dir: RunDir {
                path: path.to_path_buf(),
            },
            timeseries,
        }
    }
}

impl ChunkSink for PartFiles {
    type Recorder<'s> = ChunkWriter<'s>;
    type Error = OutputError;

    fn is_done(&self, chunk: &Chunk) -> bool {
        is_done(&self.dir, chunk.index)
    }

    fn open<'s>(&'s self, scenario: &'s Scenario, chunk: &Chunk) -> ChunkWriter<'s> {
        ChunkWriter::new(&scenario.points[chunk.point].setup, self.timeseries)
    }

    fn close(&self, chunk: &Chunk, writer: ChunkWriter<'_>) -> Result<(), OutputError> {
        writer.finish(&self.dir, chunk.index)
    }
}

/// A party's id for the `actor`/`target` columns (timeline changes show their path).
pub fn party_name(setup: &Setup, p: &crate::model::Params, party: Party) -> String {
    match party {
        Party::Nation(i) => p.nations[i].id.clone(),
        Party::Firm(i) => p.firms[i].id.clone(),
        Party::Product(i) => p.products[i].id.clone(),
        Party::TimelineChange(k) => setup.changes[k].path.clone(),
        Party::None => String::new(),
    }
}

/// Writes a chunk's sketches: their count, then each sketch.
pub fn write_sketches(w: &mut impl Write, sketches: &[QuantileSketch]) -> std::io::Result<()> {
    w.write_all(&(sketches.len() as u64).to_le_bytes())?;
    for s in sketches {
        s.write_to(w)?;
    }
    Ok(())
}

/// Reads the sketches `write_sketches` wrote.
pub fn read_sketches(path: &Path) -> Result<Vec<QuantileSketch>, OutputError> {
    let io = |e| OutputError::io(path, e);
    let mut r = BufReader::new(fs::File::open(path).map_err(io)?);
    let mut n = [0u8; 8];
    std::io::Read::read_exact(&mut r, &mut n).map_err(io)?;
    (0..u64::from_le_bytes(n))
        .map(|_| QuantileSketch::read_from(&mut r).map_err(io))
        .collect()
}

/// Writes `bytes` to `path` through a temporary file, synced to disk, and a rename ([`super::publish`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let io = |e| OutputError::io(path, e);
    {
        let mut f = BufWriter::new(fs::File::create(&tmp).map_err(io)?);
        f.write_all(bytes).map_err(io)?;
        f.flush().map_err(io)?;
    }
    super::publish(&tmp, path).map_err(io)
}
