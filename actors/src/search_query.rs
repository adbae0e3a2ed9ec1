//! The article search language, the same on both backends: words, `"phrases"`, `-excluded` words or phrases,
//! and `OR` between two terms. Terms are ANDed. Matching ignores case and punctuation: a word is its letters
//! and digits, so `rust-lang` is the phrase `"rust lang"`. Parsed once here, then written as a Postgres
//! `tsquery` or an SQLite FTS5 `MATCH` expression, both built only from letters and digits, so no input can
//! change a query's structure.

use std::fmt::Write;

/// Longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most terms (words and phrases) in one query.
pub const MAX_TERMS: usize = 16;

/// A parsed query: every group must match, and no excluded term may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Each group matches when one of its terms does (`a OR b`); most groups have one term.
    pub required: Vec<Vec<Term>>,
    pub excluded: Vec<Term>,
}

/// A word, or a phrase of words that must follow each other; lowercase letters and digits only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term(pub Vec<String>);

/// Why a query was refused; said to the client as the reason for field `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    #[error("q is longer than 256 characters")]
    TooLong,
    #[error("q has more than 16 terms")]
    TooManyTerms,
    #[error("q has no word to search for (only punctuation, or only excluded terms)")]
    NothingToFind,
    #[error("q has an unclosed quote")]
    UnclosedQuote,
    #[error("q has an OR without a term on both sides")]
    DanglingOr,
}

/// One lexical piece of the input.
#[derive(Debug, PartialEq)]
enum Token {
    Term { negated: bool, term: Term },
    Or,
}

impl SearchQuery {
    pub fn parse(input: &str) -> Result<SearchQuery, SearchQueryError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchQueryError::TooLong);
        }
        let tokens = tokenize(input)?;
        let terms = tokens
            .iter()
            .filter(|token| matches!(token, Token::Term { .. }))
            .count();
        if terms > MAX_TERMS {
            return Err(SearchQueryError::TooManyTerms);
        }
        let mut query = SearchQuery {
            required: Vec::new(),
            excluded: Vec::new(),
        };
        // An OR joins the required terms on its two sides into one group; it binds tighter than the implicit AND.
        let mut joining = false;
        let mut after_required = false;
        for token in tokens {
            match token {
                Token::Or if joining || !after_required => return Err(SearchQueryError::DanglingOr),
                Token::Or => joining = true,
                Token::Term { negated: true, .. } if joining => return Err(SearchQueryError::DanglingOr),
                Token::Term { negated: true, term } => {
                    query.excluded.push(term);
                    after_required = false;
                }
                Token::Term { negated: false, term } => {
                    match query.required.last_mut() {
                        Some(group) if joining => group.push(term),
                        _ => query.required.push(vec![term]),
                    }
                    joining = false;
                    after_required = true;
                }
            }
        }
        if joining {
            return Err(SearchQueryError::DanglingOr);
        }
        if query.required.is_empty() {
            return Err(SearchQueryError::NothingToFind);
        }
        Ok(query)
    }

    /// The query as Postgres `to_tsquery('simple', …)` text.
    pub fn to_tsquery(&self) -> String {
        let mut parts: Vec<String> = self
            .required
            .iter()
            .map(|group| {
                let alternatives: Vec<String> = group.iter().map(Term::to_tsquery).collect();
                format!("({})", alternatives.join(" | "))
            })
            .collect();
        parts.extend(self.excluded.iter().map(|term| format!("!({})", term.to_tsquery())));
        parts.join(" & ")
    }

    /// The query as an SQLite FTS5 `MATCH` expression.
    pub fn to_fts5(&self) -> String {
        let groups: Vec<String> = self
            .required
            .iter()
            .map(|group| {
                let alternatives: Vec<String> = group.iter().map(Term::to_fts5).collect();
                format!("({})", alternatives.join(" OR "))
            })
            .collect();
        let mut expression = format!("({})", groups.join(" AND "));
        for term in &self.excluded {
            let _ = write!(expression, " NOT {}", term.to_fts5());
        }
        expression
    }
}

impl Term {
    fn to_tsquery(&self) -> String {
        let lexemes: Vec<String> = self.0.iter().map(|word| format!("'{word}'")).collect();
        format!("({})", lexemes.join(" <-> "))
    }

    fn to_fts5(&self) -> String {
        format!("\"{}\"", self.0.join(" "))
    }
}

/// Splits the input into terms and `OR`s. A term with no letter or digit is dropped.
fn tokenize(input: &str) -> Result<Vec<Token>, SearchQueryError> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        let mut negated = false;
        if first == '-' {
            chars.next();
            negated = true;
        }
        let text: String = if chars.next_if_eq(&'"').is_some() {
            let mut phrase = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => phrase.push(c),
                    None => return Err(SearchQueryError::UnclosedQuote),
                }
            }
            phrase
        } else {
            let mut word = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
            if !negated && word == "OR" {
                tokens.push(Token::Or);
                continue;
            }
            word
        };
        let words = words(&text);
        if !words.is_empty() {
            tokens.push(Token::Term {
                negated,
                term: Term(words),
            });
        }
    }
    Ok(tokens)
}

/// The lowercase runs of letters and digits in `text`.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
#[path = "search_query_tests.rs"]
mod tests;
