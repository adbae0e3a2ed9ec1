//! syndic's parser against feedparser on a corpus of real-world feeds: every feed in which feedparser finds
//! entries must parse, with the same number of entries. The corpus is not in the repository (see
//! docs/feed-corpus.md); its expected.tsv comes from scripts/feed_corpus_expected.py.

use std::path::{Path, PathBuf};

use syndic_actors::parse::parse_feed;

/// Fewer feeds with entries than this is not a corpus but a sample.
const MINIMUM_FEEDS: usize = 100;

struct Expected {
    file: String,
    entries: usize,
    feedparser_state: String,
}

fn corpus_dir() -> PathBuf {
    match std::env::var_os("SYNDIC_FEED_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        // The workspace root's sibling `shared/`, where the steering repository keeps shared data.
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/feed-corpus"),
    }
}

fn expected_rows(corpus: &Path) -> Vec<Expected> {
    let table = corpus.join("expected.tsv");
    let text = std::fs::read_to_string(&table)
        .unwrap_or_else(|error| panic!("{}: {error}; run scripts/feed_corpus_expected.py", table.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert!(fields.len() >= 3, "{}: malformed row {line:?}", table.display());
            Expected {
                file: fields[0].to_owned(),
                entries: fields[1]
                    .parse()
                    .unwrap_or_else(|_| panic!("bad entry count in {line:?}")),
                feedparser_state: fields[2].to_owned(),
            }
        })
        .collect()
}

#[test]
#[ignore = "needs a corpus of real-world feeds: SYNDIC_FEED_CORPUS, or ../shared/feed-corpus beside the workspace"]
fn every_feed_feedparser_reads_parses_with_the_same_entry_count() {
    let corpus = corpus_dir();
    let rows = expected_rows(&corpus);
    let with_entries: Vec<&Expected> = rows.iter().filter(|row| row.entries > 0).collect();
    assert!(
        with_entries.len() >= MINIMUM_FEEDS,
        "{} lists {} feeds with entries; a corpus needs at least {MINIMUM_FEEDS}",
        corpus.display(),
        with_entries.len()
    );
    let mut differences = Vec::new();
    for row in &with_entries {
        let bytes = std::fs::read(corpus.join(&row.file)).unwrap_or_else(|error| panic!("{}: {error}", row.file));
        match parse_feed(&bytes) {
            Ok(feed) if feed.entries.len() == row.entries => {}
            Ok(feed) => differences.push(format!(
                "{}: {} entries, feedparser ({}) {}",
                row.file,
                feed.entries.len(),
                row.feedparser_state,
                row.entries
            )),
            Err(error) => differences.push(format!(
                "{}: error ({error}), feedparser ({}) {} entries",
                row.file, row.feedparser_state, row.entries
            )),
        }
    }
    println!(
        "{} feeds, {} with entries per feedparser, {} read alike by syndic",
        rows.len(),
        with_entries.len(),
        with_entries.len() - differences.len()
    );
    assert!(
        differences.is_empty(),
        "{} of {} feeds with entries differ from feedparser:\n{}",
        differences.len(),
        with_entries.len(),
        differences.join("\n")
    );
}
