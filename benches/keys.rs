//! Key and URL throughput: `dedupe_key` from a guid, a link, or the title-and-content hash, and
//! `FeedUrl::parse` of typical feed URLs; 1,000 inputs per iteration, reported in elements/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use syndic_actors::dedupe::dedupe_key;
use syndic_actors::feed_url::FeedUrl;

const INPUTS: usize = 1_000;

fn keys(criterion: &mut Criterion) {
    let guids: Vec<String> = (0..INPUTS).map(|n| format!("urn:example:entry:{n}")).collect();
    let links: Vec<String> = (0..INPUTS)
        .map(|n| format!("https://blog.example.com/2026/01/post-{n}"))
        .collect();
    let contents: Vec<String> = (0..INPUTS)
        .map(|n| format!("<p>Entry {n}: a paragraph of content of typical length.</p>").repeat(10))
        .collect();
    let urls: Vec<String> = (0..INPUTS)
        .map(|n| format!("HTTPS://Blog{n}.Example.com:443/feeds/all.atom.xml?utm_source=x#fragment"))
        .collect();
    let mut group = criterion.benchmark_group("keys");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(INPUTS as u64));
    group.bench_function("dedupe_key_guid", |bencher| {
        bencher.iter(|| {
            guids
                .iter()
                .map(|guid| dedupe_key(black_box(Some(guid)), None, None, None).len())
                .sum::<usize>()
        })
    });
    group.bench_function("dedupe_key_link", |bencher| {
        bencher.iter(|| {
            links
                .iter()
                .map(|link| dedupe_key(None, black_box(Some(link)), None, None).len())
                .sum::<usize>()
        })
    });
    group.bench_function("dedupe_key_hash", |bencher| {
        bencher.iter(|| {
            contents
                .iter()
                .map(|content| dedupe_key(None, None, Some("A title"), black_box(Some(content))).len())
                .sum::<usize>()
        })
    });
    group.bench_function("feed_url_parse", |bencher| {
        bencher.iter(|| urls.iter().filter(|url| FeedUrl::parse(black_box(url)).is_ok()).count())
    });
    group.finish();
}

criterion_group!(benches, keys);
criterion_main!(benches);
