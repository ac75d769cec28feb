//! Parquet copies of a run folder's CSVs (feature `parquet`, `chipdip parquet RUN`): each
//! `NAME.csv` becomes `NAME.parquet` beside it, with one typed column per CSV column. A
//! column's type is the narrowest that holds every cell: Int64, Float64, Boolean or Utf8;
//! empty cells are nulls. The CSVs stay (the other commands read them).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use super::OutputError;

/// Rows per record batch (and row group).
const BATCH: usize = 65_536;

fn refused(path: &Path, e: impl std::fmt::Display) -> OutputError {
    OutputError::Refused(format!("{}: {e}", path.display()))
}

/// The type of a column from its cells (see the module documentation).
fn widen(t: Option<DataType>, cell: &str) -> Option<DataType> {
    if cell.is_empty() {
        return t;
    }
    let int = cell.parse::<i64>().is_ok();
    let float = cell.parse::<f64>().is_ok();
    let boolean = cell == "true" || cell == "false";
    Some(match t {
        None if int => DataType::Int64,
        None if float => DataType::Float64,
        None if boolean => DataType::Boolean,
        Some(DataType::Int64) if int => DataType::Int64,
        Some(DataType::Int64 | DataType::Float64) if float => DataType::Float64,
        Some(DataType::Boolean) if boolean => DataType::Boolean,
        _ => DataType::Utf8,
    })
}

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>, OutputError> {
    csv::Reader::from_path(path).map_err(|e| refused(path, e))
}

/// Writes `csv_path` as Parquet to `out`.
pub fn csv_to_parquet(csv_path: &Path, out: &Path) -> Result<(), OutputError> {
    let mut r = reader(csv_path)?;
    let head: Vec<String> = r
        .headers()
        .map_err(|e| refused(csv_path, e))?
        .iter()
        .map(String::from)
        .collect();
    let mut types: Vec<Option<DataType>> = vec![None; head.len()];
    for rec in r.records() {
        let rec = rec.map_err(|e| refused(csv_path, e))?;
        for (t, cell) in types.iter_mut().zip(rec.iter()) {
            *t = widen(t.take(), cell);
        }
    }
    let types: Vec<DataType> = types
        .into_iter()
        .map(|t| t.unwrap_or(DataType::Utf8))
        .collect();
    let schema = Arc::new(Schema::new(
        head.iter()
            .zip(&types)
            .map(|(h, t)| Field::new(h, t.clone(), true))
            .collect::<Vec<_>>(),
    ));
    let tmp = out.with_extension("parquet.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| OutputError::io(&tmp, e))?;
    let mut w = ArrowWriter::try_new(file, schema.clone(), None).map_err(|e| refused(out, e))?;
    let mut rows: Vec<csv::StringRecord> = Vec::with_capacity(BATCH);
    let flush = |rows: &mut Vec<csv::StringRecord>,
                 w: &mut ArrowWriter<std::fs::File>|
     -> Result<(), OutputError> {
        if rows.is_empty() {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = types
            .iter()
            .enumerate()
            .map(|(k, t)| column(t, rows.iter().map(|r| r.get(k).unwrap_or(""))))
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| refused(out, e))?;
        w.write(&batch).map_err(|e| refused(out, e))?;
        rows.clear();
        Ok(())
    };
    for rec in reader(csv_path)?.records() {
        rows.push(rec.map_err(|e| refused(csv_path, e))?);
        if rows.len() == BATCH {
            flush(&mut rows, &mut w)?;
        }
    }
    flush(&mut rows, &mut w)?;
    w.close().map_err(|e| refused(out, e))?;
    super::publish(&tmp, out).map_err(|e| OutputError::io(out, e))
}

/// One column of cells as an array of type `t`.
fn column<'a>(t: &DataType, cells: impl Iterator<Item = &'a str>) -> ArrayRef {
    match t {
        DataType::Int64 => {
            let mut b = Int64Builder::new();
            cells.for_each(|c| b.append_option(c.parse().ok()));
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::new();
            cells.for_each(|c| b.append_option(c.parse().ok()));
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::new();
            cells.for_each(|c| b.append_option(c.parse().ok()));
            Arc::new(b.finish())
        }
        _ => {
            let mut b = StringBuilder::new();
            cells.for_each(|c| {
                if c.is_empty() {
                    b.append_null()
                } else {
                    b.append_value(c)
                }
            });
            Arc::new(b.finish())
        }
    }
}

/// Writes a Parquet copy of every CSV of the complete run folder `dir`; returns the files.
pub fn run_to_parquet(dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let m = super::manifest::Manifest::read(&dir.join("manifest.json"))?;
    if !m.complete {
        return Err(OutputError::Refused(format!(
            "{} is not complete; finish the run first",
            dir.display()
        )));
    }
    let mut written = Vec::new();
    for name in m.outputs.iter().filter(|n| n.ends_with(".csv")) {
        let out = dir.join(name).with_extension("parquet");
        csv_to_parquet(&dir.join(name), &out)?;
        written.push(out);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_takes_the_narrowest_type_that_holds_every_cell() {
        let t = |cells: &[&str]| cells.iter().fold(None, |t, c| widen(t, c));
        assert_eq!(t(&["1", "", "2"]), Some(DataType::Int64));
        assert_eq!(t(&["1", "2.5"]), Some(DataType::Float64));
        assert_eq!(t(&["true", "false"]), Some(DataType::Boolean));
        assert_eq!(t(&["1", "MYS"]), Some(DataType::Utf8));
        assert_eq!(t(&[""]), None);
    }
}
