//! Parsing throughput: RSS, Atom and JSON Feed documents of 20 and 200 entries, generated here, through
//! `parse_feed` (feed-rs plus syndic's conversion and dedupe keys); in bytes/s and in entries/s.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use syndic_actors::parse::parse_feed;
use syndic_testkit::documents::numbered::document;
use syndic_testkit::documents::Format;

const FORMATS: [(Format, &str); 3] = [
    (Format::Rss, "rss"),
    (Format::Atom, "atom"),
    (Format::JsonFeed, "json_feed"),
];
const SIZES: [usize; 2] = [20, 200];

fn documents() -> Vec<(String, usize, String)> {
    FORMATS
        .iter()
        .flat_map(|(format, name)| SIZES.map(|entries| (name.to_string(), entries, document(*format, 1, 0, entries))))
        .collect()
}

fn parse(criterion: &mut Criterion) {
    let documents = documents();
    for (group_name, by_bytes) in [("parse_bytes", true), ("parse_entries", false)] {
        let mut group = criterion.benchmark_group(group_name);
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        for (name, entries, body) in &documents {
            group.throughput(if by_bytes {
                Throughput::Bytes(body.len() as u64)
            } else {
                Throughput::Elements(*entries as u64)
            });
            group.bench_with_input(BenchmarkId::new(name.as_str(), entries), body, |bencher, body| {
                bencher.iter(|| {
                    let parsed = parse_feed(body.as_bytes()).unwrap();
                    assert_eq!(parsed.entries.len(), *entries);
                    parsed
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
