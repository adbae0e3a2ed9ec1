//! Article HTML sanitising: one typical article (about 5 KiB of paragraphs, links, images and a pixel) and one
//! long one (about 50 KiB), reported in articles/s. A timeline page serves up to 50 articles: the per-article time
//! times 50 is what sanitising at read time would add to a page.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use syndic_actors::sanitize::{base_of, sanitize_html};

fn article(paragraphs: usize) -> String {
    let mut html = String::from("<h2>A heading</h2>");
    for n in 0..paragraphs {
        html.push_str(&format!(
            "<p>Paragraph {n} with <a href=\"/posts/{n}.html\" onclick=\"track()\">a relative link</a>, \
             <em>emphasis</em> and <strong>strong text</strong> of typical length for a blog post.</p>\
             <figure><img src=\"images/{n}.jpg\" alt=\"picture {n}\" width=\"640\" height=\"480\"></figure>"
        ));
    }
    html.push_str(
        "<img src=\"https://feeds.feedburner.com/~r/blog/~4/x\" width=\"1\" height=\"1\"><script>x()</script>",
    );
    html
}

fn sanitize(criterion: &mut Criterion) {
    let base = base_of(Some("https://blog.example.com/posts/2026/hello.html"));
    let typical = article(16);
    let long = article(160);
    let mut group = criterion.benchmark_group("sanitize");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(1));
    group.bench_function(format!("article_{}_bytes", typical.len()), |bencher| {
        bencher.iter(|| sanitize_html(black_box(&typical), base.as_ref()).len())
    });
    group.bench_function(format!("article_{}_bytes", long.len()), |bencher| {
        bencher.iter(|| sanitize_html(black_box(&long), base.as_ref()).len())
    });
    group.finish();
}

criterion_group!(benches, sanitize);
criterion_main!(benches);
