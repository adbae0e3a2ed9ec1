use super::*;

fn clean(html: &str) -> String {
    sanitize_html(
        html,
        base_of(Some("https://blog.example.com/posts/2026/hello.html")).as_ref(),
    )
}

#[test]
fn scripts_styles_frames_and_event_handlers_are_removed() {
    let html = r#"<p onclick="steal()">Hi<script>alert(1)</script><style>p{}</style></p><iframe src="https://evil.example/"></iframe><img src="x.png" onerror="steal()"><form action="/x"><input name="q"></form>"#;
    let cleaned = clean(html);
    for gone in [
        "script", "alert", "style", "iframe", "onclick", "onerror", "steal", "<form", "<input",
    ] {
        assert!(!cleaned.contains(gone), "{gone:?} is still in {cleaned}");
    }
    assert!(cleaned.contains("<p>Hi</p>"), "{cleaned}");
}

#[test]
fn javascript_and_data_urls_are_removed() {
    let cleaned = clean(
        r#"<a href="javascript:alert(1)">a</a><a href="JaVaScRiPt:alert(1)">b</a><img src="data:image/png;base64,AAAA">"#,
    );
    assert!(!cleaned.to_ascii_lowercase().contains("javascript"), "{cleaned}");
    assert!(!cleaned.contains("data:"), "{cleaned}");
}

#[test]
fn relative_links_and_images_are_made_absolute_and_links_get_a_safe_rel() {
    let cleaned = clean(
        r#"<a href="../other.html">x</a><img src="/images/cat.png" alt="cat"><a href="https://elsewhere.example/">y</a>"#,
    );
    assert!(
        cleaned.contains(r#"href="https://blog.example.com/posts/other.html""#),
        "{cleaned}"
    );
    assert!(
        cleaned.contains(r#"src="https://blog.example.com/images/cat.png""#),
        "{cleaned}"
    );
    assert!(cleaned.contains(r#"rel="noopener noreferrer nofollow""#), "{cleaned}");
}

#[test]
fn without_a_base_relative_urls_are_dropped() {
    let cleaned = sanitize_html(r#"<a href="/x">x</a><img src="y.png">"#, None);
    assert!(!cleaned.contains("/x") && !cleaned.contains("y.png"), "{cleaned}");
    assert!(base_of(Some("javascript:alert(1)")).is_none());
    assert!(base_of(Some("not a url")).is_none());
}

#[test]
fn tracking_pixels_are_removed_by_size_or_by_host() {
    let html = concat!(
        r#"<p>text</p><img src="https://counter.example/p.gif" width="1" height="1">"#,
        r#"<IMG HEIGHT=0 SRC='https://counter.example/q.gif' WIDTH="1px" />"#,
        r#"<img src="https://feeds.feedburner.com/~r/blog/~4/abc" alt="">"#,
        r#"<img src="https://pixel.wp.com/g.gif?blog=1">"#,
        r#"<img src="https://cdn.example/photo.jpg" width="640" height="1">"#,
        r#"<img alt="a > b" src="https://cdn.example/kept.jpg" width="1" height="10">"#
    );
    let cleaned = clean(html);
    for gone in ["counter.example", "feedburner", "pixel.wp.com"] {
        assert!(!cleaned.contains(gone), "{gone:?} is still in {cleaned}");
    }
    assert!(
        cleaned.contains("photo.jpg"),
        "a wide image 1 pixel high is kept: {cleaned}"
    );
    assert!(
        cleaned.contains("kept.jpg"),
        "a quoted > does not end the tag: {cleaned}"
    );
}

#[test]
fn pixel_removal_deletes_whole_tags_only() {
    assert_eq!(remove_pixel_images("<p>no images</p>"), "<p>no images</p>");
    assert_eq!(
        remove_pixel_images(r#"a<img width=1 height=1 src="x">b<img src="y">c"#),
        r#"ab<img src="y">c"#
    );
    // An unterminated tag is left for the sanitiser.
    assert_eq!(remove_pixel_images("<img width=1 height=1"), "<img width=1 height=1");
    assert!(is_pixel(r#"<img width="1" height="1">"#));
    assert!(!is_pixel(r#"<img width="1">"#));
    assert!(!is_pixel(r#"<img title="width=1 height=1" src="x">"#));
}

#[test]
fn ordinary_markup_is_kept() {
    let html = "<h2>Title</h2><p>One <em>two</em> <strong>three</strong></p><ul><li>item</li></ul><blockquote>q</blockquote><pre><code>let x = 1;</code></pre>";
    assert_eq!(clean(html), html);
}
