//! The text analyzer shared by indexing, queries and highlighting: words split on anything
//! not a letter or digit, lowercased, `ё` folded to `е`, Russian and English stop words
//! dropped, then each word stemmed by its own script (Cyrillic words by the Russian Snowball
//! stemmer, the rest by the English one), so a mixed-language text needs only one field.

use frostem::Algorithm;
use tantivy::tokenizer::Language;
use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter, TextAnalyzer, Token,
    TokenFilter, TokenStream, Tokenizer,
};

/// The name the analyzer is registered under in every index.
pub const ANALYZER: &str = "okno";

pub fn analyzer() -> TextAnalyzer {
    let mut builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .dynamic();
    for language in [Language::Russian, Language::English] {
        if let Some(stop) = StopWordFilter::new(language) {
            builder = builder.filter_dynamic(stop);
        }
    }
    builder.filter_dynamic(MixedStemmer).build()
}

/// The stems of `text` in order (what the index holds for it).
pub fn stems(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Stems Cyrillic words as Russian and every other word as English.
#[derive(Clone, Copy)]
pub struct MixedStemmer;

impl TokenFilter for MixedStemmer {
    type Tokenizer<T: Tokenizer> = MixedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MixedStemmerFilter<T> {
        MixedStemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct MixedStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for MixedStemmerFilter<T> {
    type TokenStream<'a> = MixedStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MixedStemmerStream {
            tail: self.inner.token_stream(text),
            position: 0,
            russian: frostem::Stemmer::new(Algorithm::Russian),
            english: frostem::Stemmer::new(Algorithm::English),
        }
    }
}

pub struct MixedStemmerStream<T> {
    tail: T,
    /// The next word's position: counted over the words kept, so that a stop word leaves no
    /// gap and "ошибка при закрытии" is the phrase "ошибка закрытия".
    position: usize,
    russian: frostem::Stemmer,
    english: frostem::Stemmer,
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}')
}

impl<T: TokenStream> TokenStream for MixedStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token: &mut Token = self.tail.token_mut();
        token.position = self.position;
        self.position += 1;
        if token.text.contains('ё') {
            token.text = token.text.replace('ё', "е");
        }
        let stemmer = if token.text.chars().any(is_cyrillic) {
            &self.russian
        } else {
            &self.english
        };
        let stemmed: String = stemmer.stem(&token.text).into_owned();
        token.text = stemmed;
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::stems;

    #[test]
    fn russian_word_forms_meet_in_one_stem() {
        assert_eq!(
            stems("ошибки при закрытии месяца"),
            stems("Ошибка закрытия месяца")
        );
        assert_eq!(stems("ёлка"), stems("елки"));
    }

    #[test]
    fn english_and_mixed_text() {
        assert_eq!(
            stems("closing the month errors"),
            stems("close month error")
        );
        let mixed = stems("Ошибка в 1С: invoices");
        assert!(mixed.contains(&"1с".to_string()), "{mixed:?}");
        assert!(mixed.contains(&"invoic".to_string()), "{mixed:?}");
    }
}
