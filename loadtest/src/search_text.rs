//! The search scenario's text: a vocabulary of made-up words drawn with a Zipf distribution (the word of rank r
//! about 1/r as often as the most common one), articles written from it, and the two-word queries of each class,
//! all from a fixed seed so that every run indexes and asks the same.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Distinct words. With ~360 words an article, the word of rank 100 is in about a quarter of the articles,
/// the word of rank 5,000 in about 0.6%, and the last in about 0.06%.
pub const VOCABULARY_SIZE: usize = 50_000;
/// The common words: the 100 most frequent.
const COMMON: std::ops::Range<usize> = 0..100;
/// The rare words: ranks 5,000 to the last.
const RARE: std::ops::Range<usize> = 5_000..VOCABULARY_SIZE;

const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwz";
const VOWELS: &[u8] = b"aeiou";

/// The word of rank `rank` (0 the most common): syllables of a consonant and a vowel, the rank in bijective base
/// 90, so that every rank has its own word and common words are short (ranks 0-89: one syllable, up to 8,189:
/// two, then three), as in real text. Letters only, so both backends' tokenizers read it as one word.
pub fn word(rank: usize) -> String {
    let syllables = CONSONANTS.len() * VOWELS.len();
    let mut number = rank + 1;
    let mut letters = Vec::new();
    while number > 0 {
        let digit = (number - 1) % syllables;
        letters.push(VOWELS[digit % VOWELS.len()]);
        letters.push(CONSONANTS[digit / VOWELS.len()]);
        number = (number - 1) / syllables;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// Draws word ranks with a Zipf distribution of exponent 1.
pub struct Vocabulary {
    /// The probability that a drawn rank is at most each rank.
    cumulative: Vec<f64>,
    words: Vec<String>,
}

impl Vocabulary {
    pub fn zipf(size: usize) -> Vocabulary {
        let total: f64 = (1..=size).map(|rank| 1.0 / rank as f64).sum();
        let mut sum = 0.0;
        let cumulative = (1..=size)
            .map(|rank| {
                sum += 1.0 / rank as f64 / total;
                sum
            })
            .collect();
        Vocabulary {
            cumulative,
            words: (0..size).map(word).collect(),
        }
    }

    pub fn draw(&self, rng: &mut impl Rng) -> &str {
        let uniform: f64 = rng.random();
        let rank = self.cumulative.partition_point(|&below| below < uniform);
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// `count` words drawn, separated by spaces.
    fn sentence(&self, rng: &mut impl Rng, count: usize, text: &mut String) {
        text.clear();
        for index in 0..count {
            if index > 0 {
                text.push(' ');
            }
            text.push_str(self.draw(rng));
        }
    }
}

/// One article's text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleText {
    pub title: String,
    pub summary: String,
    pub content: String,
}

/// Writes articles from the vocabulary: titles of 5-10 words, summaries of 40-60, content of 250-350.
pub struct ArticleWriter {
    vocabulary: Vocabulary,
    rng: StdRng,
}

impl ArticleWriter {
    pub fn new(seed: u64) -> ArticleWriter {
        ArticleWriter {
            vocabulary: Vocabulary::zipf(VOCABULARY_SIZE),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The next article's text, written into `text` (its strings are reused).
    pub fn write(&mut self, text: &mut ArticleText) {
        let (title, summary, content) = (
            self.rng.random_range(5..=10),
            self.rng.random_range(40..=60),
            self.rng.random_range(250..=350),
        );
        self.vocabulary.sentence(&mut self.rng, title, &mut text.title);
        self.vocabulary.sentence(&mut self.rng, summary, &mut text.summary);
        self.vocabulary.sentence(&mut self.rng, content, &mut text.content);
    }
}

/// Which words a two-word query pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryClass {
    CommonCommon,
    CommonRare,
    RareRare,
}

impl QueryClass {
    pub const ALL: [QueryClass; 3] = [QueryClass::CommonCommon, QueryClass::CommonRare, QueryClass::RareRare];

    pub fn name(self) -> &'static str {
        match self {
            QueryClass::CommonCommon => "common + common",
            QueryClass::CommonRare => "common + rare",
            QueryClass::RareRare => "rare + rare",
        }
    }
}

/// `count` two-word queries of `class` (`q` as the API takes it), two different words each.
pub fn queries(class: QueryClass, count: usize, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed ^ class as u64);
    let (first, second) = match class {
        QueryClass::CommonCommon => (COMMON, COMMON),
        QueryClass::CommonRare => (COMMON, RARE),
        QueryClass::RareRare => (RARE, RARE),
    };
    (0..count)
        .map(|_| loop {
            let (one, two) = (rng.random_range(first.clone()), rng.random_range(second.clone()));
            if one != two {
                break format!("{} {}", word(one), word(two));
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn every_rank_has_its_own_word_of_letters_and_common_words_are_shorter() {
        let words: HashSet<String> = (0..VOCABULARY_SIZE).map(word).collect();
        assert_eq!(words.len(), VOCABULARY_SIZE);
        assert!(words.iter().all(|word| word.bytes().all(|b| b.is_ascii_lowercase())));
        assert_eq!((word(0), word(89), word(90)), ("ba".into(), "zu".into(), "baba".into()));
        assert_eq!(word(VOCABULARY_SIZE - 1).len(), 6);
    }

    #[test]
    fn the_same_seed_writes_the_same_articles_and_asks_the_same_queries() {
        let (mut one, mut two) = (ArticleWriter::new(7), ArticleWriter::new(7));
        let (mut a, mut b) = (ArticleText::default(), ArticleText::default());
        for _ in 0..20 {
            one.write(&mut a);
            two.write(&mut b);
            assert_eq!(a, b);
        }
        let mut other = ArticleWriter::new(8);
        other.write(&mut b);
        assert_ne!(a, b);
        for class in QueryClass::ALL {
            assert_eq!(queries(class, 50, 1), queries(class, 50, 1));
        }
    }

    #[test]
    fn articles_have_the_asked_lengths_and_common_words_are_common() {
        let mut writer = ArticleWriter::new(1);
        let mut text = ArticleText::default();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for _ in 0..200 {
            writer.write(&mut text);
            let words = |part: &str| part.split(' ').count();
            assert!((5..=10).contains(&words(&text.title)));
            assert!((40..=60).contains(&words(&text.summary)));
            assert!((250..=350).contains(&words(&text.content)));
            for word in text.content.split(' ') {
                *counts.entry(word.to_owned()).or_default() += 1;
            }
        }
        // Zipf with exponent 1: the first word about twice as frequent as the second, ten times the tenth.
        let ratio = counts[&word(0)] as f64 / counts[&word(9)] as f64;
        assert!((6.0..15.0).contains(&ratio), "rank 1 / rank 10 = {ratio}");
        assert!(counts.get(&word(VOCABULARY_SIZE - 1)).copied().unwrap_or(0) < 5);
    }

    #[test]
    fn each_class_pairs_two_different_words_of_its_kind() {
        let common: HashSet<String> = COMMON.map(word).collect();
        let rare: HashSet<String> = RARE.map(word).collect();
        for (class, first, second) in [
            (QueryClass::CommonCommon, &common, &common),
            (QueryClass::CommonRare, &common, &rare),
            (QueryClass::RareRare, &rare, &rare),
        ] {
            for query in queries(class, 100, 3) {
                let (one, two) = query.split_once(' ').expect("two words");
                assert!(one != two && first.contains(one) && second.contains(two), "{query}");
            }
        }
    }
}
