//! Part files: the results of one chunk of replications, written atomically.
//!
//! A chunk `c` leaves in `parts/`:
//! - `cNNNNNN.rows`: a line of checksums (bytes, rows and SHA-256 of each kind of rows and of
//!   the sketch), then its summary, events and failure rows (failed replications, usually
//!   none) and, with `--timeseries`, its timeseries rows, no header
//!   ([`super::integrity::rows_path`]; earlier releases wrote a file per kind and the
//!   checksums in `cNNNNNN.sums`, which are still read),
//! - `cNNNNNN.sketch`: one quantile sketch per (month, series) over the chunk's replications,
//!   written last: its presence is what marks the chunk done.
//!
//! Each file goes through a temporary name and a rename, so a killed run leaves either a whole
//! chunk or a chunk that is redone on resume — never half a chunk that looks whole.
//!
//! A chunk's sketches are many (one per month and series, about 0.4 MB for 50 replications of
//! the replay), so they do not wait for the end of the run: as soon as every chunk of a point
//! is done, the point's sketches are merged into its rows of `quantiles.csv`, written as
//! `pNNNNNN.quantiles`, and the chunks' sketch files are removed (an unsharded run; a shard
//! keeps its sketches for `chipdip merge`); the rows of a point of one chunk, or of the run's
//! last point, go straight into the final file instead when it is their turn, and its
//! sketches stay until the run ends. A chunk's sketches are
//! made at its end from its series values, one series at a time ([`SparseSketches`]: each
//! series' few values put in bucket order); a point of several chunks adds them up
//! ([`PointSketches`]). A chunk is then done if its sketch or its point's quantile rows are
//! there.
//! So the sketches on disk at any time are those of the points in progress, of points of
//! one chunk (a sketch of at most 50 values takes no more room than its quantile rows) and of
//! the last point once its rows are in, and
//! the peak disk use stays within about twice the final output (the part files, then the
//! final files assembled from them).

use std::fs;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::integrity::{FileSum, Sums, write_chunk_rows};
use super::sketch::{EncodedSketches, PointSketches, QuantileSketch, Sketches, SparseSketches};
use super::{OutputError, RunDir, format_month, text};
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

/// The quantile rows of point `point`, once all its chunks are merged.
pub fn point_quantiles_path(dir: &Path, point: usize) -> PathBuf {
    dir.join("parts").join(format!("p{point:06}.quantiles"))
}

/// Whether chunk `chunk` of point `point` is complete in `dir`: its sketch (written last) or
/// its point's merged quantile rows are there, and every part file matches the checksums
/// written before them ([`super::integrity`]). A chunk that fails the check is not done, so
/// resume runs it again and overwrites its files.
pub fn is_done(dir: &RunDir, chunk: usize, point: usize) -> bool {
    use super::integrity::{verify_chunk, verify_point};
    if point_quantiles_path(&dir.path, point).exists() {
        verify_point(&dir.path, point).is_ok() && verify_chunk(&dir.path, chunk, true).is_ok()
    } else {
        part_path(&dir.path, chunk, "sketch").exists()
            && verify_chunk(&dir.path, chunk, false).is_ok()
    }
}

/// The buffers of one chunk, handed on to the next chunk a thread runs so that their memory is
/// reused (a chunk of the replay holds about 2 MB of series values).
#[derive(Debug, Default)]
pub struct ChunkBuffers {
    summary: Vec<u8>,
    events: Vec<u8>,
    series: Vec<u8>,
    /// The series values of the chunk's replications, one replication after the other; put
    /// into the sketches when the chunk finishes, one series at a time.
    values: Vec<f64>,
    /// The values of [`BLOCK`] series, series after series (scratch of `finish`).
    block: Vec<f64>,
    /// The chunk's sketches, one per month and series (once finished).
    sketches: SparseSketches,
    /// The same sketches encoded: the sketch file's bytes.
    sketch_file: EncodedSketches,
    /// `point,replication` of the replication being added.
    pr: Vec<u8>,
}

impl ChunkBuffers {
    /// The chunk's sketches, one per month and series, month-major (once finished), and the
    /// same encoded, which a point of several chunks takes (see
    /// [`PointSketches::add_encoded`]).
    pub fn sketches(&mut self) -> (&SparseSketches, &mut EncodedSketches) {
        (&self.sketches, &mut self.sketch_file)
    }
}

/// Series whose values are copied out of the replications' rows together (eight values: a
/// cache line of each row).
const BLOCK: usize = 8;

/// Accumulates one chunk's rows and sketches in memory (bounded by the chunk size).
///
/// Rows are appended as bytes to one buffer per file, numbers through [`super::text`] and
/// names quoted once when the writer is made, so that a replication's rows cost no
/// allocation and no `fmt` (the bytes are those the `csv` crate wrote before).
pub struct ChunkWriter<'s> {
    /// The scenario itself, when the writer belongs to a run folder (to merge a finished
    /// point's sketches).
    whole: Option<&'s Scenario>,
    /// Whether each kind of `dictionary::EVENT_KINDS` (in declaration order, so indexed by
    /// `kind as usize`) is written (empty: every kind).
    events: Vec<bool>,
    timeseries: bool,
    failures: csv::Writer<Vec<u8>>,
    buffers: ChunkBuffers,
    /// `series_names().len()`.
    width: usize,
    /// Series values of a replication: `width` × months.
    values_per_replication: usize,
    /// The `scenario` field of a summary row, with its `,`.
    scenario_field: Vec<u8>,
    /// The sweep point's labels as fields, each after a `,`.
    labels: Vec<u8>,
    /// `YYYY-MM` of every month.
    months: Vec<Vec<u8>>,
    /// `,entity,metric,` of every series (timeseries rows).
    series_fields: Vec<Vec<u8>>,
    /// Actor/target names: nations, firms, products, timeline changes.
    parties: [Vec<Vec<u8>>; 4],
}

fn rows() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new())
}

impl<'s> ChunkWriter<'s> {
    /// An empty chunk of `point`'s replications of the scenario named `scenario` (with
    /// timeseries rows if `timeseries`); `names` are the point's `series_names()`.
    pub fn new(
        scenario: &'s str,
        point: &'s Point,
        names: &[(String, String)],
        timeseries: bool,
    ) -> ChunkWriter<'s> {
        let setup = &point.setup;
        let base = setup.base();
        let fields = |ids: &mut dyn Iterator<Item = &String>| -> Vec<Vec<u8>> {
            ids.map(|id| text::field(id)).collect()
        };
        let mut scenario_field = text::field(scenario);
        scenario_field.push(b',');
        ChunkWriter {
            whole: None,
            events: Vec::new(),
            timeseries,
            failures: rows(),
            buffers: ChunkBuffers::default(),
            width: names.len(),
            values_per_replication: names.len() * setup.months as usize,
            scenario_field,
            labels: point
                .labels
                .iter()
                .flat_map(|l| std::iter::once(b',').chain(text::field(l)))
                .collect(),
            months: (0..setup.months)
                .map(|m| text::field(&format_month(setup.start, m)))
                .collect(),
            series_fields: if timeseries {
                names
                    .iter()
                    .map(|(e, m)| {
                        let mut f = vec![b','];
                        f.extend(text::field(e));
                        f.push(b',');
                        f.extend(text::field(m));
                        f.push(b',');
                        f
                    })
                    .collect()
            } else {
                Vec::new()
            },
            parties: [
                fields(&mut base.nations.iter().map(|n| &n.id)),
                fields(&mut base.firms.iter().map(|f| &f.id)),
                fields(&mut base.products.iter().map(|p| &p.id)),
                fields(&mut setup.changes.iter().map(|c| &c.path)),
            ],
        }
    }

    /// Adds one replication's outcome.
    pub fn add(&mut self, point: &Point, rep: u32, seed: u64, outcome: &Outcome) {
        let b = &mut self.buffers;
        // `point,replication` opens the events and timeseries rows.
        let pr = &mut b.pr;
        pr.clear();
        text::push_u64(pr, point.index as u64);
        pr.push(b',');
        text::push_u64(pr, u64::from(rep));
        let w = &mut b.summary;
        w.extend_from_slice(&self.scenario_field);
        w.extend_from_slice(pr);
        w.push(b',');
        text::push_u64(w, seed);
        w.extend_from_slice(&self.labels);
        for v in &outcome.summary {
            w.push(b',');
            text::push_number(w, *v);
        }
        w.push(b'\n');
        let w = &mut b.events;
        for (e, seq) in outcome.events.iter().zip(seq_in_month(&outcome.events)) {
            // `events` follows `EVENT_KINDS`, the kinds in declaration order.
            if !self.events.is_empty() && !self.events[e.kind as usize] {
                continue;
            }
            w.extend_from_slice(pr);
            w.push(b',');
            w.extend_from_slice(&self.months[e.month as usize]);
            w.push(b',');
            text::push_u64(w, u64::from(seq));
            w.push(b',');
            w.extend_from_slice(party(&self.parties, e.actor));
            w.push(b',');
            w.extend_from_slice(party(&self.parties, e.target));
            w.push(b',');
            // Kind names are snake_case words: no quoting.
            w.extend_from_slice(e.kind.name().as_bytes());
            w.push(b',');
            text::push_number(w, e.magnitude);
            w.push(b'\n');
        }
        assert_eq!(
            outcome.series.len(),
            self.values_per_replication,
            "one value per month and series"
        );
        b.values.extend_from_slice(&outcome.series);
        if self.timeseries {
            let width = self.width;
            let w = &mut b.series;
            for (k, v) in outcome.series.iter().enumerate() {
                w.extend_from_slice(pr);
                w.push(b',');
                w.extend_from_slice(&self.months[k / width]);
                w.extend_from_slice(&self.series_fields[k % width]);
                text::push_number(w, *v);
                w.push(b'\n');
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

    /// Uses `buffers` (emptied) for the chunk: buffers an earlier chunk left keep their memory.
    fn reuse(&mut self, mut buffers: ChunkBuffers) {
        buffers.summary.clear();
        buffers.events.clear();
        buffers.series.clear();
        buffers.values.clear();
        buffers.sketches.clear();
        buffers.sketch_file.clear();
        self.buffers = buffers;
    }

    /// Writes the chunk's files into `dir/parts`: its rows file (the rows of each kind and
    /// their checksums, [`super::integrity::rows_path`]), then its sketch. Returns the
    /// chunk's buffers, its sketches in them.
    pub fn finish(self, dir: &RunDir, chunk: usize) -> Result<ChunkBuffers, OutputError> {
        let mut sums = Sums::new();
        let failures = self
            .failures
            .into_inner()
            .expect("memory writer cannot fail");
        let mut b = self.buffers;
        let mut sections: Vec<(&str, &[u8])> = vec![
            ("summary", &b.summary),
            ("events", &b.events),
            ("failures", &failures),
        ];
        if self.timeseries {
            // Without --timeseries never read (the final files have no timeseries.csv, and a
            // merge refuses shards that differ in it), so not written.
            sections.push(("timeseries", &b.series));
        }
        for (kind, bytes) in &sections {
            sums.insert(kind.to_string(), FileSum::of_bytes(bytes));
        }
        // One series at a time (a sketch is an order-independent function of its values: the
        // bytes are those of inserting them as they came). The values of a block of series are
        // first copied out of every replication's row in a loop of loads alone, so that the
        // cache misses of the rows overlap rather than stall the sketch one by one.
        let n = self.values_per_replication;
        b.sketches.clear();
        // Grown by doubling, the chunk's first sets (1.4 MB for the replay, 22 MB with 200
        // extra nations) were copied into fresh memory at each step.
        b.sketches.reserve(n, b.values.len());
        if let Some(reps) = b.values.len().checked_div(n) {
            b.block.resize(BLOCK * reps, 0.0);
            for first in (0..n).step_by(BLOCK) {
                let width = BLOCK.min(n - first);
                for (r, row) in b.values.chunks_exact(n).enumerate() {
                    for (j, v) in row[first..first + width].iter().enumerate() {
                        b.block[j * reps + r] = *v;
                    }
                }
                for j in 0..width {
                    b.sketches.push(&b.block[j * reps..(j + 1) * reps]);
                }
            }
        }
        b.sketch_file.encode(&b.sketches);
        let bytes = b.sketch_file.bytes();
        sums.insert("sketch".to_string(), FileSum::of_bytes(bytes));
        write_chunk_rows(&dir.path, chunk, &sums, &sections)?;
        write_part(&part_path(&dir.path, chunk, "sketch"), bytes)?;
        Ok(b)
    }
}

/// A party's field for the `actor`/`target` columns (timeline changes show their path), from
/// the fields of nations, firms, products and timeline changes.
fn party(parties: &[Vec<Vec<u8>>; 4], party: Party) -> &[u8] {
    match party {
        Party::Nation(i) => &parties[0][i],
        Party::Firm(i) => &parties[1][i],
        Party::Product(i) => &parties[2][i],
        Party::TimelineChange(k) => &parties[3][k],
        Party::None => &[],
    }
}

impl Recorder for ChunkWriter<'_> {
    fn add(&mut self, point: &Point, rep: u32, seed: u64, outcome: Outcome) -> Option<Outcome> {
        ChunkWriter::add(self, point, rep, seed, &outcome);
        Some(outcome)
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
    /// Whether a finished point's sketches are merged into its quantile rows at once (an
    /// unsharded run), or kept for `chipdip merge` (a shard).
    pub merge_points: bool,
    /// Which event kinds go to `events.csv` (by `EventKind` name).
    pub events: Vec<String>,
    /// Held while a point's sketches are merged (two chunks of a point may finish together);
    /// what the chunks of this process share.
    merging: std::sync::Arc<std::sync::Mutex<Shared>>,
    /// The final files, assembled while the chunks run (an unsharded run; see
    /// [`PartFiles::assemble_during`]).
    assembling: Option<std::sync::Arc<Assembling>>,
}

/// The final files of a run being assembled while its chunks run.
#[derive(Debug)]
struct Assembling {
    /// Taken by the thread that appends (others go on running chunks), and by the end of the
    /// run.
    assembly: std::sync::Mutex<Option<super::Assembly>>,
    /// Per chunk of the run: its part files are complete, and its point's quantile rows too
    /// when it was the point's last chunk (appended, or written as a part file).
    done: Vec<std::sync::atomic::AtomicBool>,
}

/// What the chunks of one [`PartFiles`] share (behind its lock).
#[derive(Debug, Default)]
struct Shared {
    /// Each point's `series_names()` (building them builds a world).
    names: std::collections::HashMap<usize, std::sync::Arc<Vec<(String, String)>>>,
    /// Buffers of finished chunks, to be emptied and reused.
    spare: Vec<ChunkBuffers>,
    /// Sketch sets of finished points, to be emptied and reused for the next points' merges
    /// ([`PointSketches::new`]).
    spare_merged: Vec<PointSketches>,
    /// Per point of several chunks in progress, the sketches of the chunks this process
    /// closed, merged (behind the point's own lock, so that chunks of other points go on
    /// meanwhile). When they are all the point's chunks, its quantile rows come from there
    /// rather than from reading the sketch files back.
    merged: std::collections::HashMap<usize, std::sync::Arc<std::sync::Mutex<PointMerge>>>,
    /// Per point, how many of its chunks this process has opened.
    opened: std::collections::HashMap<usize, usize>,
}

/// The merged sketches of a point's chunks closed so far.
#[derive(Debug, Default)]
struct PointMerge {
    sketches: Option<PointSketches>,
    /// The chunks merged.
    chunks: Vec<usize>,
    /// The point's rows are written: a chunk that took this merge before it was removed from
    /// [`Shared::merged`] and waited for its lock has nothing left to do (its sketches were
    /// read from its file, which its worker writes before merging).
    written: bool,
}

impl PartFiles {
    /// The part files of the run folder at `path`.
    pub fn new(path: &Path, timeseries: bool) -> PartFiles {
        PartFiles {
            dir: RunDir {
                path: path.to_path_buf(),
            },
            timeseries,
            merge_points: true,
            events: super::dictionary::default_events(),
            merging: Default::default(),
            assembling: None,
        }
    }

    /// Starts the final files now, so that each chunk's rows are appended to them as soon as it
    /// and every chunk before it are done (by the thread that closed it, while the other
    /// threads go on), rather than all at the end. `pending` are the chunks still to run (the
    /// others are done already: a resumed run). Take the assembly with
    /// [`take_assembly`](Self::take_assembly) once every chunk has run.
    pub fn assemble_during(
        &mut self,
        scenario: &Scenario,
        pending: &[Chunk],
    ) -> Result<(), OutputError> {
        use std::sync::atomic::AtomicBool;
        let all = crate::experiment::chunks(scenario.points.len(), scenario.settings.replications);
        let done: Vec<AtomicBool> = all.iter().map(|_| AtomicBool::new(true)).collect();
        for c in pending {
            done[c.index].store(false, std::sync::atomic::Ordering::Relaxed);
        }
        let assembly = super::Assembly::start(scenario, &self.dir.path, self.timeseries)?;
        self.assembling = Some(std::sync::Arc::new(Assembling {
            assembly: std::sync::Mutex::new(Some(assembly)),
            done,
        }));
        Ok(())
    }

    /// The assembly started by [`assemble_during`](Self::assemble_during), with every chunk
    /// done so far appended; `None` without one.
    pub fn take_assembly(&self) -> Option<super::Assembly> {
        let a = self.assembling.as_ref()?;
        a.assembly.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Marks `chunk` done and appends what is ready to the final files, unless another thread
    /// is appending already (it, or a later chunk's thread, or the end of the run, appends
    /// this chunk then).
    fn advance(&self, chunk: &Chunk) -> Result<(), OutputError> {
        use std::sync::atomic::Ordering;
        let Some(a) = &self.assembling else {
            return Ok(());
        };
        a.done[chunk.index].store(true, Ordering::Release);
        let Ok(mut held) = a.assembly.try_lock() else {
            return Ok(());
        };
        match held.as_mut() {
            Some(assembly) => assembly.append_ready(&|_| self.dir.path.clone(), &|c| {
                a.done[c.index].load(Ordering::Acquire)
            }),
            None => Ok(()),
        }
    }

    /// Appends the quantile rows of `chunk`'s point, `rows`, to the final files when the
    /// assembly is free and they are the next to go in (`chunk`, marked done here, and every
    /// chunk and point before them appended first); true when it did. A point's rows run to
    /// about 1 MB (3,420 rows for the replay); written as a part file they were summed,
    /// written, read back and summed again, and its two files created, which for a sweep of
    /// 20 replications a point was a large share of the point's cost. Appended here, the
    /// point's sketch file is kept instead of its rows: should the run be interrupted, its
    /// chunk is done by it, and the rows are made from it again at the end. Only for a point
    /// of one chunk (`chunks`), whose sketch (at most 50 values a series) takes no more room
    /// than its rows: a point of many chunks would keep many sketches for the rest of the
    /// run; or for the run's last point, which has no rest of the run (and whose rows, with
    /// every replication run, were written, summed, read back and summed again with the other
    /// threads idle: ≈ 2 ms of a 1,000-replication run).
    fn append_point_now(
        &self,
        chunk: &Chunk,
        chunks: usize,
        rows: &[u8],
    ) -> Result<bool, OutputError> {
        use std::sync::atomic::Ordering;
        let Some(a) = &self.assembling else {
            return Ok(false);
        };
        let Ok(mut held) = a.assembly.try_lock() else {
            return Ok(false);
        };
        let Some(assembly) = held.as_mut() else {
            return Ok(false);
        };
        if chunks > 1 && !assembly.is_last_point(chunk.point) {
            return Ok(false);
        }
        // `chunk` is not marked done for the other threads: its point's rows are not on disk
        // yet (see [`PartFiles::advance`]).
        assembly.append_ready(&|_| self.dir.path.clone(), &|c| {
            c.index == chunk.index || a.done[c.index].load(Ordering::Acquire)
        })?;
        assembly.append_point(chunk.point, rows)
    }

    /// Writes only these event kinds to `events.csv`.
    pub fn with_events(mut self, kinds: &[String]) -> PartFiles {
        self.events = kinds.to_vec();
        self
    }

    /// The part files of one shard: sketches are kept for `chipdip merge`.
    pub fn keep_sketches(mut self) -> PartFiles {
        self.merge_points = false;
        self
    }

    /// The point's series names (computed once per point).
    fn names(&self, point: &Point) -> std::sync::Arc<Vec<(String, String)>> {
        self.shared()
            .names
            .entry(point.index)
            .or_insert_with(|| std::sync::Arc::new(point.setup.series_names()))
            .clone()
    }

    /// What the chunks share, locked.
    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.merging.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a closed chunk's sketches to its point's, then, if every chunk of the point is done,
    /// merges their sketches into the point's quantile rows (`pNNNNNN.quantiles`, written
    /// atomically, or appended to the final file at once: see [`PartFiles::write_point`]) and
    /// removes the sketch files. A point of one chunk has its rows from the chunk's sketches
    /// at once. A resumed point's chunks that ran before are read back from
    /// their sketch files once every chunk of the point this process ran is merged.
    fn merge_point(
        &self,
        scenario: &Scenario,
        chunk: &Chunk,
        (sketches, encoded): (&SparseSketches, &mut EncodedSketches),
    ) -> Result<(), OutputError> {
        let point = chunk.point;
        let per_point = scenario
            .settings
            .replications
            .div_ceil(crate::experiment::CHUNK_REPS) as usize;
        let of_point: Vec<usize> = (point * per_point..(point + 1) * per_point).collect();
        let target = point_quantiles_path(&self.dir.path, point);
        if target.exists() {
            if super::integrity::verify_point(&self.dir.path, point).is_ok() {
                // A chunk redone after its point's rows were written (it failed its checksums).
                return Ok(());
            }
            // Rows a crash left short: gone before anything could append them.
            super::integrity::remove_point_rows(&self.dir.path, point)?;
        }
        if per_point == 1 {
            return self.write_point(scenario, chunk, sketches, &of_point);
        }
        let width = sketches.len();
        let slot = self.shared().merged.entry(point).or_default().clone();
        // Held until the point's rows are written (two chunks of a point may finish together).
        let mut held = slot.lock().unwrap_or_else(|e| e.into_inner());
        let held = &mut *held;
        if held.written {
            return Ok(());
        }
        let mine = held.sketches.get_or_insert_with(|| {
            let spare = self.shared().spare_merged.pop();
            PointSketches::new(per_point, width, spare)
        });
        mine.add_encoded(sketches, encoded);
        held.chunks.push(chunk.index);
        if held.chunks.len() < per_point {
            let opened = self.shared().opened.get(&point).copied().unwrap_or(0);
            if held.chunks.len() < opened {
                // Chunks of the point this process runs are still to be merged.
                return Ok(());
            }
            // Every chunk of the point opened here is merged: the others ran before this
            // process (a resumed run) if their sketches are there and whole, else they are
            // still to run.
            let before: Vec<usize> = of_point
                .iter()
                .copied()
                .filter(|c| !held.chunks.contains(c))
                .collect();
            let ran_before = |&c: &usize| {
                part_path(&self.dir.path, c, "sketch").exists()
                    && super::integrity::verify_chunk(&self.dir.path, c, false).is_ok()
            };
            if !before.iter().all(ran_before) {
                return Ok(());
            }
            for &c in &before {
                let path = part_path(&self.dir.path, c, "sketch");
                super::merge_sketch_file(&path, width, mine)?;
                held.chunks.push(c);
            }
        }
        // Every chunk of the point is merged.
        let merged = held.sketches.take().expect("merged above");
        held.written = true;
        self.shared().merged.remove(&point);
        self.write_point(scenario, chunk, &merged, &of_point)?;
        self.shared().spare_merged.push(merged);
        Ok(())
    }

    /// Writes the quantile rows of `chunk`'s point from all its chunks' sketches, `merged`
    /// (`chunk` the last of them to close), and removes the sketch files of its chunks
    /// `of_point`; or, for a point of one chunk or the run's last point, appends the rows
    /// straight to the final files when they are the next to go in, and keeps the sketches
    /// (see [`PartFiles::append_point_now`]).
    fn write_point(
        &self,
        scenario: &Scenario,
        chunk: &Chunk,
        merged: &(impl Sketches + ?Sized),
        of_point: &[usize],
    ) -> Result<(), OutputError> {
        let point = chunk.point;
        let names = self.names(&scenario.points[point]);
        let rows = super::quantile_rows(scenario, point, &names, merged);
        if self.append_point_now(chunk, of_point.len(), &rows)? {
            return Ok(());
        }
        super::integrity::write_point_sums(&self.dir.path, point, &rows)?;
        write_part(&point_quantiles_path(&self.dir.path, point), &rows)?;
        for &c in of_point {
            let s = part_path(&self.dir.path, c, "sketch");
            fs::remove_file(&s).map_err(|e| OutputError::io(&s, e))?;
        }
        Ok(())
    }
}

impl ChunkSink for PartFiles {
    type Recorder<'s> = ChunkWriter<'s>;
    type Error = OutputError;

    fn is_done(&self, chunk: &Chunk) -> bool {
        is_done(&self.dir, chunk.index, chunk.point)
    }

    fn open<'s>(&'s self, scenario: &'s Scenario, chunk: &Chunk) -> ChunkWriter<'s> {
        let point = &scenario.points[chunk.point];
        let names = self.names(point);
        let mut w = ChunkWriter::new(&scenario.name, point, &names, self.timeseries);
        let spare = {
            let mut shared = self.shared();
            *shared.opened.entry(chunk.point).or_default() += 1;
            shared.spare.pop()
        };
        if let Some(buffers) = spare {
            w.reuse(buffers);
        }
        // Room for the chunk's series values at once: growing by doubling would copy them at
        // each step into memory fresh from the system (57 MB a chunk with 200 extra nations).
        let values = chunk.reps as usize * w.values_per_replication;
        w.buffers.values.reserve_exact(values);
        w.whole = Some(scenario);
        w.events = super::dictionary::EVENT_KINDS
            .iter()
            .map(|k| self.events.iter().any(|e| e == k.name()))
            .collect();
        w
    }

    fn close(&self, chunk: &Chunk, writer: ChunkWriter<'_>) -> Result<(), OutputError> {
        let scenario = writer.whole;
        let mut buffers = writer.finish(&self.dir, chunk.index)?;
        if let Some(s) = scenario
            && self.merge_points
        {
            self.merge_point(s, chunk, buffers.sketches())?;
        }
        self.shared().spare.push(buffers);
        self.advance(chunk)
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

/// A chunk's sketches as a file holds them: their count (`u64`, little-endian), then each
/// sketch (format version 2, [`super::sketch`]), all appended to one buffer.
pub fn sketch_bytes(sketches: &[QuantileSketch]) -> Vec<u8> {
    // About 100 bytes a sketch for a chunk of 50 replications; one growth at most otherwise.
    let mut bytes = Vec::with_capacity(8 + 128 * sketches.len());
    bytes.extend_from_slice(&(sketches.len() as u64).to_le_bytes());
    for s in sketches {
        s.write_into(&mut bytes);
    }
    bytes
}

/// Reads the sketches [`sketch_bytes`] made (or an earlier release's, sketch format version 1).
/// A file that is truncated, holds anything but sketches, a sketch of an unknown format
/// version, or bytes after its last sketch is an error naming the file.
pub fn read_sketches(path: &Path) -> Result<Vec<QuantileSketch>, OutputError> {
    use std::io::Read;
    let io = |e| OutputError::io(path, e);
    let mut r = BufReader::new(fs::File::open(path).map_err(io)?);
    let mut n = [0u8; 8];
    r.read_exact(&mut n).map_err(io)?;
    let n = u64::from_le_bytes(n);
    // No capacity from the file: a corrupt count must not ask for memory it does not hold.
    let mut sketches = Vec::new();
    for _ in 0..n {
        sketches.push(QuantileSketch::read_from(&mut r).map_err(io)?);
    }
    if r.read(&mut [0u8; 1]).map_err(io)? != 0 {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bytes after the last of its {n} sketches"),
        )));
    }
    Ok(sketches)
}

/// Writes a part file: `bytes` to `path` through a temporary file and a rename, not synced to
/// disk. A part file is only ever used after its checksum is checked (a chunk's rows and
/// sketch against the sums its rows file begins with, a point's quantile rows against theirs),
/// so one that a crash of the machine left short or empty fails the check and its chunk runs
/// again; a killed process loses nothing the system has not written yet. Syncing each file
/// and its folder (ten `fsync`s a chunk, four a point) made every chunk wait on the disk.
/// What says a run is complete, its final files and manifest, is synced
/// ([`super::publish_all`], [`write_atomic`]).
pub fn write_part(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_part_all(path, &[bytes])
}

/// [`write_part`] of the bytes of `parts`, one after the other.
pub fn write_part_all(path: &Path, parts: &[&[u8]]) -> Result<(), OutputError> {
    let tmp = super::temporary(path);
    let io = |e| OutputError::io(path, e);
    let mut f = fs::File::create(&tmp).map_err(io)?;
    for bytes in parts {
        f.write_all(bytes).map_err(io)?;
    }
    drop(f);
    fs::rename(&tmp, path).map_err(io)
}

/// Writes `bytes` to `path` through a temporary file, synced to disk, and a rename ([`super::publish`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let file = write_unpublished(path, bytes)?;
    super::publish(&file.tmp, path).map_err(|e| OutputError::io(path, e))
}

/// Writes `bytes` to `path`'s temporary file, to be published ([`super::publish_all`]).
pub fn write_unpublished(path: &Path, bytes: &[u8]) -> Result<super::Unpublished, OutputError> {
    let tmp = super::temporary(path);
    let io = |e| OutputError::io(path, e);
    let mut f = BufWriter::new(fs::File::create(&tmp).map_err(io)?);
    f.write_all(bytes).map_err(io)?;
    f.flush().map_err(io)?;
    Ok(super::Unpublished {
        tmp,
        target: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{PAGE_BYTES, Target, Unpublished, WRITE_BACK_BYTES, publish_all};
    use super::*;

    /// A fresh folder under the system's temporary folder.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chipdip-parts-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn sketches() -> Vec<QuantileSketch> {
        (0..5)
            .map(|k| {
                let mut s = QuantileSketch::new();
                for j in 0..k * 20 {
                    s.insert(f64::from(j * k) - 30.0);
                }
                s
            })
            .collect()
    }

    /// The scenario at `path` with `reps` replications a point.
    fn scenario_of(path: &str, reps: u32) -> Scenario {
        let reps = format!("simulation.replications={reps}");
        Scenario::load(path.as_ref(), &[reps]).unwrap()
    }

    /// Runs `chunks` in turn into `files`, as a worker does.
    fn run_chunks<'c>(
        files: &PartFiles,
        scenario: &Scenario,
        chunks: impl Iterator<Item = &'c Chunk>,
    ) {
        for c in chunks {
            let mut w = files.open(scenario, c);
            crate::experiment::run_chunk(scenario, c, &mut w, &|| {});
            files.close(c, w).unwrap();
        }
    }

    /// A point whose chunks ran in two processes (chunks 0 and 2, then 1, as a resumed run
    /// does) gets the quantile rows of one process running them all, and its sketch files go.
    #[test]
    fn a_point_finished_by_a_resumed_run_reads_the_chunks_run_before() {
        let scenario = scenario_of("scenarios/baseline.toml", 120);
        let all = crate::experiment::chunks(1, 120);
        assert_eq!(all.len(), 3);
        let run = |dir: &Path, which: &[usize]| {
            // A new `PartFiles`: what a new process knows.
            let files = PartFiles::new(dir, false);
            run_chunks(&files, &scenario, which.iter().map(|&i| &all[i]));
        };
        let (whole, split) = (scratch("whole"), scratch("split"));
        for d in [&whole, &split] {
            fs::create_dir_all(d.join("parts")).unwrap();
        }
        run(&whole, &[0, 1, 2]);
        run(&split, &[2, 0]);
        assert!(!point_quantiles_path(&split, 0).exists());
        assert!(part_path(&split, 2, "sketch").exists());
        run(&split, &[1]);
        let rows = |d: &Path| fs::read(point_quantiles_path(d, 0)).unwrap();
        assert!(!rows(&whole).is_empty());
        assert_eq!(rows(&split), rows(&whole));
        for c in 0..3 {
            assert!(!part_path(&split, c, "sketch").exists(), "chunk {c}");
        }
        for d in [whole, split] {
            fs::remove_dir_all(d).unwrap();
        }
    }

    /// With the final files assembled during the run, a point's quantile rows that are the next
    /// to go in are appended from memory (no `pNNNNNN.quantiles` part; its chunk's sketch is
    /// kept in case the run is interrupted), one whose earlier point is not done yet goes
    /// through its part file, and the final files are those assembled at the end: also when
    /// a point's rows part was left short by a crash before (a resumed run), and when the run
    /// is interrupted after every chunk and its files are assembled from the parts left.
    #[test]
    fn a_point_next_in_line_goes_straight_into_the_final_files() {
        let scenario = scenario_of("scenarios/sweep_enforcement_pressure.toml", 3);
        let all = crate::experiment::chunks(scenario.points.len(), 3);
        assert!(all.len() >= 3 && all.iter().enumerate().all(|(i, c)| c.point == i));
        // Point 1 closes before point 0: its rows cannot go in yet.
        let mut order: Vec<usize> = (0..all.len()).collect();
        order.swap(0, 1);
        // `during`: the final files assembled while the chunks run; `interrupted`: that
        // assembly dropped after the last chunk, the files assembled again from the parts.
        let run = |dir: &Path, during: bool, interrupted: bool| {
            fs::create_dir_all(dir.join("parts")).unwrap();
            // What a crash left of point 2's rows in an earlier process.
            fs::write(point_quantiles_path(dir, 2), "0,short\n").unwrap();
            let mut files = PartFiles::new(dir, false);
            if during {
                files.assemble_during(&scenario, &all).unwrap();
            }
            run_chunks(&files, &scenario, order.iter().map(|&i| &all[i]));
            let quantile_parts: Vec<usize> = (0..all.len())
                .filter(|&p| point_quantiles_path(dir, p).exists())
                .collect();
            let part_dir = |_: &Chunk| dir.to_path_buf();
            match files.take_assembly() {
                Some(assembly) if !interrupted => {
                    assembly.finish(&scenario, &part_dir).unwrap();
                }
                _ => {
                    super::super::assemble(&scenario, dir, false, &part_dir).unwrap();
                }
            }
            quantile_parts
        };
        let (during, after, interrupted) =
            (scratch("during"), scratch("after"), scratch("interrupted"));
        assert_eq!(run(&during, true, false), [1]);
        assert_eq!(run(&interrupted, true, true), [1]);
        assert_eq!(
            run(&after, false, false),
            (0..all.len()).collect::<Vec<_>>()
        );
        for c in all.iter().filter(|c| c.point != 1) {
            assert!(part_path(&during, c.index, "sketch").exists(), "{c:?}");
        }
        for name in ["quantiles.csv", "summary.csv", "events.csv"] {
            let bytes = |d: &Path| fs::read(d.join(name)).unwrap();
            assert!(bytes(&after).len() > 100, "{name}");
            assert!(bytes(&during) == bytes(&after), "{name}");
            assert!(bytes(&interrupted) == bytes(&after), "{name}");
        }
        // Every chunk appended and point 0's rows not in yet (their thread is writing them as
        // a part file, having found the assembly busy): point 1's rows must wait.
        let mut assembly = super::super::Assembly::start(&scenario, &during, false).unwrap();
        assembly
            .append_ready(&|_| during.clone(), &|_| true)
            .unwrap();
        assert!(!assembly.append_point(1, b"").unwrap());
        assert!(assembly.append_point(0, b"").unwrap());
        assert!(assembly.append_point(1, b"").unwrap());
        for d in [during, after, interrupted] {
            fs::remove_dir_all(d).unwrap();
        }
    }

    /// Points of two chunks, assembled while they run: the first goes through its part file
    /// and its sketches go; the last goes straight into the final files and keeps its
    /// sketches, from which the files of a run interrupted then are made again. The bytes are
    /// those of files assembled from the parts at the end.
    #[test]
    fn the_last_point_of_many_chunks_goes_straight_into_the_final_files() {
        let sets = [
            "simulation.replications=51".to_string(),
            "sweep.points=2".into(),
        ];
        let two =
            Scenario::load("scenarios/sweep_enforcement_pressure.toml".as_ref(), &sets).unwrap();
        let chunks = crate::experiment::chunks(2, 51);
        assert_eq!(chunks.len(), 4);
        let quantiles = |name: &str, during: bool, interrupted: bool| {
            let dir = scratch(name);
            fs::create_dir_all(dir.join("parts")).unwrap();
            let mut files = PartFiles::new(&dir, false);
            if during {
                files.assemble_during(&two, &chunks).unwrap();
            }
            run_chunks(&files, &two, chunks.iter());
            // Assembled during the run, the last point goes straight in.
            assert!(point_quantiles_path(&dir, 0).exists());
            assert_eq!(point_quantiles_path(&dir, 1).exists(), !during);
            for c in &chunks {
                let kept = during && c.point == 1;
                assert_eq!(part_path(&dir, c.index, "sketch").exists(), kept, "{c:?}");
            }
            let part_dir = |_: &Chunk| dir.clone();
            match files.take_assembly() {
                Some(assembly) if !interrupted => {
                    assembly.finish(&two, &part_dir).unwrap();
                }
                _ => {
                    super::super::assemble(&two, &dir, false, &part_dir).unwrap();
                }
            }
            let bytes = fs::read(dir.join("quantiles.csv")).unwrap();
            fs::remove_dir_all(&dir).unwrap();
            bytes
        };
        let after = quantiles("two-after", false, false);
        assert!(after.len() > 100);
        assert!(quantiles("two-during", true, false) == after);
        assert!(quantiles("two-interrupted", true, true) == after);
    }

    #[test]
    fn event_kinds_are_listed_in_declaration_order() {
        for (i, k) in super::super::dictionary::EVENT_KINDS.iter().enumerate() {
            assert_eq!(*k as usize, i, "{}", k.name());
        }
    }

    #[test]
    fn sketch_files_round_trip_and_bad_ones_are_errors_naming_the_file() {
        let dir = scratch("sketch");
        let path = dir.join("c000000.sketch");
        let written = sketches();
        let bytes = sketch_bytes(&written);
        fs::write(&path, &bytes).unwrap();
        assert_eq!(read_sketches(&path).unwrap(), written);
        let refused = |b: &[u8]| {
            fs::write(&path, b).unwrap();
            let err = read_sketches(&path).unwrap_err().to_string();
            assert!(err.contains("c000000.sketch"), "{err}");
            err
        };
        // Truncated anywhere, trailing bytes, a count larger than the sketches held.
        for len in 0..bytes.len() {
            refused(&bytes[..len]);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(refused(&longer).contains("after the last"));
        let mut count = bytes.clone();
        count[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        refused(&count);
        // A sketch of a format version this release does not know.
        let mut newer = bytes.clone();
        newer[12..16].copy_from_slice(&3u32.to_le_bytes());
        let err = refused(&newer);
        assert!(err.contains("version 3"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A chunk's sketch holds fewer than 2^32 values (a point holds its chunks' bucket counts
    /// as `u32`): a file with a larger one is refused, naming it, and nothing is added.
    #[test]
    fn a_sketch_file_holding_more_values_than_a_chunk_is_refused() {
        let dir = scratch("huge");
        let path = dir.join("c000000.sketch");
        let mut huge = QuantileSketch::new();
        huge.insert(2.5);
        for _ in 0..32 {
            let copy = huge.clone();
            huge.merge(&copy);
        }
        assert_eq!(huge.count(), 1 << 32);
        let mut point = PointSketches::new(2, 1, None);
        for (sketch, accepted) in [(&huge, false), (&sketches()[1], true)] {
            fs::write(&path, sketch_bytes(std::slice::from_ref(sketch))).unwrap();
            let merged = super::super::merge_sketch_file(&path, 1, &mut point);
            assert_eq!(merged.is_ok(), accepted);
            if let Err(e) = merged {
                let e = e.to_string();
                assert!(
                    e.contains("c000000.sketch") && e.contains("4294967296"),
                    "{e}"
                );
            }
        }
        assert_eq!(point.count(0), sketches()[1].count());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn publish_all_renames_every_file_with_its_bytes() {
        let dir = scratch("publish-all");
        let files: Vec<Unpublished> = (0..4)
            .map(|k| {
                let bytes = format!("file {k}\n").repeat(k * 1000 + 1);
                write_unpublished(&dir.join(format!("f{k}.csv")), bytes.as_bytes()).unwrap()
            })
            .collect();
        assert!(files.iter().all(|f| f.tmp.exists() && !f.target.exists()));
        publish_all(&files).unwrap();
        for (k, f) in files.iter().enumerate() {
            assert!(!f.tmp.exists());
            let text = fs::read_to_string(&f.target).unwrap();
            assert_eq!(text, format!("file {k}\n").repeat(k * 1000 + 1));
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn publish_all_renames_nothing_when_a_file_cannot_be_synced() {
        let dir = scratch("publish-all-missing");
        let files: Vec<Unpublished> = ["a.csv", "b.csv"]
            .iter()
            .map(|n| write_unpublished(&dir.join(n), b"x\n").unwrap())
            .collect();
        // A temporary file that is not there (removed by someone else, say), after one that
        // is: publishing them one by one would rename the first before finding the second.
        fs::remove_file(&files[1].tmp).unwrap();
        let e = publish_all(&files).unwrap_err().to_string();
        assert!(e.contains("b.csv"), "{e}");
        assert!(
            !dir.join("a.csv").exists(),
            "a file was published before all were synced"
        );
        assert!(files[0].tmp.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Bytes appended in pieces of every size, past the write-back step several times, are
    /// the file's bytes, and their sum is theirs.
    #[test]
    fn a_final_file_written_past_its_write_back_steps_holds_every_byte() {
        let dir = scratch("write-back");
        let mut t = Target::create(&dir, "big.csv".into()).unwrap();
        let mut all = Vec::new();
        let mut k = 0u64;
        while all.len() < 3 * WRITE_BACK_BYTES as usize + 12_345 {
            // Pieces from 1 byte to 200 kB, some larger than the writer's buffer.
            let len = 1 + (k * k * 7919 % 200_000) as usize;
            let piece: Vec<u8> = (0..len)
                .map(|j| b'a' + ((j as u64 + k) % 26) as u8)
                .collect();
            t.write(&piece).unwrap();
            all.extend_from_slice(&piece);
            k += 1;
        }
        assert!(t.writing_back >= 2 * WRITE_BACK_BYTES, "{}", t.writing_back);
        // Only bytes the system holds, in whole pages, are written back.
        let held = t.sum.bytes() - t.w.buffer().len() as u64;
        assert!(t.writing_back <= held && t.writing_back.is_multiple_of(PAGE_BYTES));
        let (sum, file) = t.close(true).unwrap().unwrap();
        publish_all(&[file]).unwrap();
        let bytes = fs::read(dir.join("big.csv")).unwrap();
        assert!(bytes == all);
        assert_eq!(sum, FileSum::of_bytes(&all));
        fs::remove_dir_all(&dir).unwrap();
    }
}
