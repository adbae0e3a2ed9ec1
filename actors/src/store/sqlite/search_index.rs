//! The SQLite search index (`articles_search`, FTS5): one row per article, written in the transaction that
//! inserts the article, from its text with HTML tags dropped, as Postgres's parser drops them.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::domain::ArticleId;
use crate::store::error::sqlite_error;
use crate::store::StoreError;

/// How much of each part is indexed, in characters: the caps of the Postgres `search_vector` column.
const TITLE_CHARS: usize = 1_000;
const SUMMARY_CHARS: usize = 10_000;
const CONTENT_CHARS: usize = 100_000;

/// An article's searchable parts, as stored.
pub(super) struct SearchableArticle<'a> {
    pub id: ArticleId,
    pub title: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub content: Option<&'a str>,
}

/// Indexes the articles; a caller holds the write transaction that inserted them.
pub(super) async fn index_articles(
    connection: &mut SqliteConnection,
    articles: &[SearchableArticle<'_>],
) -> Result<(), StoreError> {
    // 4 binds per row, well under SQLite's 32,766.
    for chunk in articles.chunks(500) {
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO articles_search (rowid, title, summary, content) ");
        insert.push_values(chunk, |mut row, article| {
            row.push_bind(article.id)
                .push_bind(html_text(&capped(article.title, TITLE_CHARS)))
                .push_bind(html_text(&capped(article.summary, SUMMARY_CHARS)))
                .push_bind(html_text(&capped(article.content, CONTENT_CHARS)));
        });
        insert.build().execute(&mut *connection).await.map_err(sqlite_error)?;
    }
    Ok(())
}

fn capped(text: Option<&str>, chars: usize) -> String {
    text.unwrap_or_default().chars().take(chars).collect()
}

/// The text of an HTML fragment: what lies between its tags, entities decoded, each tag a word break.
pub(super) fn html_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return html.to_owned();
    }
    let tokenizer = Tokenizer::new(TextCollector::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.text.into_inner()
}

#[derive(Default)]
struct TextCollector {
    text: RefCell<String>,
}

impl TokenSink for TextCollector {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        let mut text = self.text.borrow_mut();
        match token {
            Token::CharacterTokens(characters) => text.push_str(&characters),
            // `a<br>b` is two words, as it reads.
            Token::TagToken(_) => text.push(' '),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::html_text;

    #[test]
    fn tags_and_their_attributes_are_dropped_and_entities_decoded() {
        assert_eq!(
            html_text(r#"<p class="lede">Fish &amp; chips<br>at <a href="https://x.test/rust">noon</a></p>"#)
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["Fish", "&", "chips", "at", "noon"]
        );
        assert_eq!(html_text("plain text"), "plain text");
    }
}
