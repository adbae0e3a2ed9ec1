//! SQLite's relevance rank for a search: `syndic_rank(articles_search, title, summary, content)`, an FTS5
//! auxiliary function registered on every connection of the store.
//!
//! FTS5's own `bm25` first counts, once per statement, the rows that match each phrase of the query, to weigh
//! rare words above common ones. That count reads every match of every word of the query: at 1,000,000
//! articles, 40-120 ms for a pair of common words, whatever the page, and a search by relevance ranks only its
//! 500 newest candidates. `syndic_rank` is BM25 without that factor: per column, each phrase's hits, saturated
//! (`k1` 1.2) and normalised by the column's length against its average (`b` 0.75), weighted per column. What
//! it reads per row is what `bm25` reads per row (the row's hits and its column sizes); the averages come from
//! totals FTS5 keeps. Like Postgres's `ts_rank`, it does not weigh words by rarity; every result of a query
//! holds every word but those after `OR` or `-`, so the rarity of a word would mostly scale all of them alike.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;

/// The name the statements call it by.
pub(super) const FUNCTION: &CStr = c"syndic_rank";

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;
/// BM25's length normalisation.
const B: f64 = 0.75;
/// The most columns weighed; `articles_search` has three.
const MAX_COLUMNS: usize = 8;

/// Registers `syndic_rank` on a new connection of the pool.
pub(super) async fn register_on(connection: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = connection.lock_handle().await?;
    // The locked handle keeps sqlx's worker thread off the connection for the call.
    unsafe { register(handle.as_raw_handle().as_ptr()) }.map_err(|code| {
        sqlx::Error::Configuration(
            format!("could not register the search rank on a SQLite connection: code {code}").into(),
        )
    })
}

/// Registers `syndic_rank` on the connection.
///
/// # Safety
/// `db` must be an open connection that no other thread uses during the call.
pub(super) unsafe fn register(db: *mut ffi::sqlite3) -> Result<(), c_int> {
    let api = fts5_api(db)?;
    let create = (*api).xCreateFunction.ok_or(ffi::SQLITE_MISUSE)?;
    match create(api, FUNCTION.as_ptr(), ptr::null_mut(), Some(rank), None) {
        ffi::SQLITE_OK => Ok(()),
        code => Err(code),
    }
}

/// The connection's FTS5 API, as SQLite hands it out: `SELECT fts5(?1)` with a pointer bound.
unsafe fn fts5_api(db: *mut ffi::sqlite3) -> Result<*mut ffi::fts5_api, c_int> {
    let mut statement: *mut ffi::sqlite3_stmt = ptr::null_mut();
    let sql = c"SELECT fts5(?1)";
    let code = ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut statement, ptr::null_mut());
    if code != ffi::SQLITE_OK {
        return Err(code);
    }
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    let mut code = ffi::sqlite3_bind_pointer(
        statement,
        1,
        (&mut api as *mut *mut ffi::fts5_api).cast::<c_void>(),
        c"fts5_api_ptr".as_ptr(),
        None,
    );
    if code == ffi::SQLITE_OK {
        code = ffi::sqlite3_step(statement);
    }
    ffi::sqlite3_finalize(statement);
    match code {
        ffi::SQLITE_ROW | ffi::SQLITE_DONE | ffi::SQLITE_OK if !api.is_null() => Ok(api),
        ffi::SQLITE_ROW | ffi::SQLITE_DONE | ffi::SQLITE_OK => Err(ffi::SQLITE_ERROR),
        code => Err(code),
    }
}

/// The auxiliary function: the row's rank, larger for a better match; the weights are its arguments, one per
/// column (1.0 for a column without one).
unsafe extern "C" fn rank(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    context: *mut ffi::sqlite3_context,
    arguments: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    let weights: Vec<f64> = (0..usize::try_from(arguments).unwrap_or(0))
        .map(|index| ffi::sqlite3_value_double(*values.add(index)))
        .collect();
    match row_rank(&*api, fts, &weights) {
        Ok(rank) => ffi::sqlite3_result_double(context, rank),
        Err(code) => ffi::sqlite3_result_error_code(context, code),
    }
}

/// What the rank is made of for one row, read through FTS5's API; the sum is [`Hits::rank`].
unsafe fn row_rank(api: &ffi::Fts5ExtensionApi, fts: *mut ffi::Fts5Context, weights: &[f64]) -> Result<f64, c_int> {
    let call = |code: c_int| if code == ffi::SQLITE_OK { Ok(()) } else { Err(code) };
    let missing = ffi::SQLITE_MISUSE;
    let columns = usize::try_from(api.xColumnCount.ok_or(missing)?(fts))
        .unwrap_or(0)
        .min(MAX_COLUMNS);
    let phrases = usize::try_from(api.xPhraseCount.ok_or(missing)?(fts)).unwrap_or(0);
    let mut rows: i64 = 0;
    call(api.xRowCount.ok_or(missing)?(fts, &mut rows))?;
    let mut hits = Hits::new(phrases, columns);
    for column in 0..columns {
        let mut total: i64 = 0;
        call(api.xColumnTotalSize.ok_or(missing)?(fts, column as c_int, &mut total))?;
        let mut size: c_int = 0;
        call(api.xColumnSize.ok_or(missing)?(fts, column as c_int, &mut size))?;
        hits.lengths[column] = (f64::from(size), total as f64 / rows.max(1) as f64);
    }
    let mut instances: c_int = 0;
    call(api.xInstCount.ok_or(missing)?(fts, &mut instances))?;
    for instance in 0..instances {
        let (mut phrase, mut column, mut offset) = (0, 0, 0);
        call(api.xInst.ok_or(missing)?(
            fts,
            instance,
            &mut phrase,
            &mut column,
            &mut offset,
        ))?;
        hits.add(phrase, column);
    }
    Ok(hits.rank(weights))
}

/// One row's hits per phrase and column, and each column's length and average length.
#[derive(Debug)]
struct Hits {
    columns: usize,
    /// `counts[phrase * columns + column]`.
    counts: Vec<u32>,
    lengths: [(f64, f64); MAX_COLUMNS],
}

impl Hits {
    fn new(phrases: usize, columns: usize) -> Hits {
        Hits {
            columns,
            counts: vec![0; phrases * columns],
            lengths: [(0.0, 0.0); MAX_COLUMNS],
        }
    }

    fn add(&mut self, phrase: c_int, column: c_int) {
        let (Ok(phrase), Ok(column)) = (usize::try_from(phrase), usize::try_from(column)) else {
            return;
        };
        if column < self.columns {
            if let Some(count) = self.counts.get_mut(phrase * self.columns + column) {
                *count += 1;
            }
        }
    }

    /// BM25 without the rarity factor: per phrase and column, the saturated and length-normalised hits, times
    /// the column's weight.
    fn rank(&self, weights: &[f64]) -> f64 {
        let mut rank = 0.0;
        for (index, count) in self.counts.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let column = index % self.columns;
            let (length, average) = self.lengths[column];
            let weight = weights.get(column).copied().unwrap_or(1.0);
            let hits = f64::from(*count);
            let norm = if average > 0.0 {
                1.0 - B + B * length / average
            } else {
                1.0
            };
            rank += weight * hits * (K1 + 1.0) / (hits + K1 * norm);
        }
        rank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(columns: usize, lengths: &[(f64, f64)], phrase_columns: &[(c_int, c_int)]) -> Hits {
        let mut hits = Hits::new(2, columns);
        hits.lengths[..lengths.len()].copy_from_slice(lengths);
        for (phrase, column) in phrase_columns {
            hits.add(*phrase, *column);
        }
        hits
    }

    #[test]
    fn a_hit_in_a_heavier_column_ranks_higher() {
        let lengths = [(8.0, 8.0), (50.0, 50.0), (300.0, 300.0)];
        let weights = [10.0, 4.0, 1.0];
        let title = hits(3, &lengths, &[(0, 0)]).rank(&weights);
        let summary = hits(3, &lengths, &[(0, 1)]).rank(&weights);
        let content = hits(3, &lengths, &[(0, 2)]).rank(&weights);
        assert!(title > summary && summary > content, "{title} {summary} {content}");
    }

    #[test]
    fn more_hits_rank_higher_but_saturate_and_a_long_column_dilutes_them() {
        let lengths = [(8.0, 8.0), (50.0, 50.0), (300.0, 300.0)];
        let weights = [1.0, 1.0, 1.0];
        let once = hits(3, &lengths, &[(0, 2)]).rank(&weights);
        let twice = hits(3, &lengths, &[(0, 2), (0, 2)]).rank(&weights);
        let thrice = hits(3, &lengths, &[(0, 2), (0, 2), (0, 2)]).rank(&weights);
        assert!(twice > once && thrice > twice);
        assert!(thrice - twice < twice - once, "saturates");
        let long = hits(3, &[(8.0, 8.0), (50.0, 50.0), (900.0, 300.0)], &[(0, 2)]).rank(&weights);
        assert!(long < once, "{long} < {once}");
        // Both phrases count, and hits outside the columns or phrases are ignored.
        let both = hits(3, &lengths, &[(0, 2), (1, 2), (5, 0), (0, 7)]).rank(&weights);
        assert!((both - 2.0 * once).abs() < 1e-9, "{both}");
    }
}
