use super::{words, SearchQuery, SearchQueryError, Term};

fn term(words: &[&str]) -> Term {
    Term(words.iter().map(|word| (*word).to_owned()).collect())
}

fn parsed(input: &str) -> SearchQuery {
    SearchQuery::parse(input).unwrap_or_else(|error| panic!("{input:?}: {error}"))
}

#[test]
fn words_are_anded_lowercased_and_stripped_of_punctuation() {
    let query = parsed("  Rust, TOKIO!  ");
    assert_eq!(query.required, [vec![term(&["rust"])], vec![term(&["tokio"])]]);
    assert!(query.excluded.is_empty());
    assert_eq!(query.to_tsquery(), "(('rust')) & (('tokio'))");
    assert_eq!(query.to_fts5(), r#"(("rust") AND ("tokio"))"#);
}

#[test]
fn phrases_and_hyphenated_words_keep_their_order() {
    let query = parsed(r#""async Rust" well-known"#);
    assert_eq!(
        query.required,
        [vec![term(&["async", "rust"])], vec![term(&["well", "known"])]]
    );
    assert_eq!(query.to_tsquery(), "(('async' <-> 'rust')) & (('well' <-> 'known'))");
    assert_eq!(query.to_fts5(), r#"(("async rust") AND ("well known"))"#);
}

#[test]
fn or_joins_its_neighbours_and_binds_tighter_than_and() {
    let query = parsed("feeds rss OR atom OR json");
    assert_eq!(
        query.required,
        [
            vec![term(&["feeds"])],
            vec![term(&["rss"]), term(&["atom"]), term(&["json"])]
        ]
    );
    assert_eq!(query.to_tsquery(), "(('feeds')) & (('rss') | ('atom') | ('json'))");
    assert_eq!(query.to_fts5(), r#"(("feeds") AND ("rss" OR "atom" OR "json"))"#);
    assert_eq!(
        parsed("rss or atom").required.len(),
        3,
        "only an upper-case OR is an operator"
    );
}

#[test]
fn excluded_terms_are_subtracted() {
    let query = parsed(r#"rust -"game engine" -java"#);
    assert_eq!(query.required, [vec![term(&["rust"])]]);
    assert_eq!(query.excluded, [term(&["game", "engine"]), term(&["java"])]);
    assert_eq!(
        query.to_tsquery(),
        "(('rust')) & !(('game' <-> 'engine')) & !(('java'))"
    );
    assert_eq!(query.to_fts5(), r#"(("rust")) NOT "game engine" NOT "java""#);
}

#[test]
fn quotes_and_operators_in_words_cannot_change_the_structure() {
    let query = parsed(r#"a'b & c|d ! NEAR( x* ) "#);
    assert_eq!(
        query.to_tsquery(),
        "(('a' <-> 'b')) & (('c' <-> 'd')) & (('near')) & (('x'))"
    );
    assert_eq!(query.to_fts5(), r#"(("a b") AND ("c d") AND ("near") AND ("x"))"#);
}

#[test]
fn bad_queries_are_refused_with_a_reason() {
    assert_eq!(SearchQuery::parse(""), Err(SearchQueryError::NothingToFind));
    assert_eq!(SearchQuery::parse("  ?! ... "), Err(SearchQueryError::NothingToFind));
    assert_eq!(SearchQuery::parse("-rust"), Err(SearchQueryError::NothingToFind));
    assert_eq!(
        SearchQuery::parse(r#"rust "async"#),
        Err(SearchQueryError::UnclosedQuote)
    );
    assert_eq!(SearchQuery::parse("OR rust"), Err(SearchQueryError::DanglingOr));
    assert_eq!(SearchQuery::parse("rust OR"), Err(SearchQueryError::DanglingOr));
    assert_eq!(SearchQuery::parse("rust OR OR go"), Err(SearchQueryError::DanglingOr));
    assert_eq!(SearchQuery::parse("rust OR -go"), Err(SearchQueryError::DanglingOr));
    assert_eq!(
        SearchQuery::parse(&"a ".repeat(17)),
        Err(SearchQueryError::TooManyTerms)
    );
    assert!(SearchQuery::parse(&"a ".repeat(16)).is_ok());
    assert_eq!(SearchQuery::parse(&"x".repeat(257)), Err(SearchQueryError::TooLong));
}

#[test]
fn words_split_on_anything_but_letters_and_digits() {
    assert_eq!(
        words("Café-au-lait, 3D <b>HTML</b>"),
        ["café", "au", "lait", "3d", "b", "html", "b"]
    );
}
