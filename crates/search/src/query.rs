//! What a person types, turned into a tantivy query without a parser that can fail: any
//! bytes give a query (or none). `"quoted words"` are phrases, `word*` is a prefix, every
//! other word matches its stem exactly, or, when no document has that stem (a typo), any
//! stem one or two edits away.

use crate::analyzer::analyzer;
use std::collections::BTreeMap;
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TokenStream;
use tantivy::{Searcher, Term};

/// Longer queries are cut here (on a character boundary); nobody types more in a search box.
pub const MAX_QUERY_CHARS: usize = 256;
/// At most this many words are looked up.
const MAX_WORDS: usize = 12;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// One word's stem.
    Word(String),
    /// Stems beginning with this.
    Prefix(String),
    /// Stems at these positions, in order.
    Phrase(Vec<(usize, String)>),
}

#[derive(Debug, Clone, Default)]
pub struct ParsedQuery {
    parts: Vec<Part>,
}

fn analyse(text: &str) -> Vec<(usize, String)> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let token = stream.token();
        out.push((token.position, token.text.clone()));
    }
    out
}

impl ParsedQuery {
    pub fn parse(input: &str, prefix_last: bool) -> ParsedQuery {
        let input: String = input
            .chars()
            .take(MAX_QUERY_CHARS)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut parts = Vec::new();
        // Odd segments between quotes are phrases.
        for (i, segment) in input.split('"').enumerate() {
            if i % 2 == 1 {
                let stems = analyse(segment);
                match stems.len() {
                    0 => {}
                    1 => parts.push(Part::Word(stems[0].1.clone())),
                    _ => parts.push(Part::Phrase(stems)),
                }
                continue;
            }
            let words: Vec<&str> = segment.split_whitespace().collect();
            for (j, word) in words.iter().enumerate() {
                let last = i == input.split('"').count() - 1 && j == words.len() - 1;
                let prefix = word.ends_with('*') || (prefix_last && last && !input.ends_with(' '));
                let stems = analyse(word.trim_end_matches('*'));
                if prefix && stems.len() == 1 {
                    parts.push(Part::Prefix(stems[0].1.clone()));
                } else if stems.len() > 1 {
                    // "1С-Бухгалтерия", "e-mail": the pieces as a phrase.
                    parts.push(Part::Phrase(stems));
                } else if let Some((_, stem)) = stems.into_iter().next() {
                    parts.push(Part::Word(stem));
                }
            }
        }
        parts.dedup();
        parts.truncate(MAX_WORDS);
        ParsedQuery { parts }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The stems to highlight.
    pub fn highlight_terms(&self) -> BTreeMap<String, f32> {
        let mut terms = BTreeMap::new();
        for part in &self.parts {
            match part {
                Part::Word(s) | Part::Prefix(s) => {
                    terms.insert(s.clone(), 1.0);
                }
                Part::Phrase(stems) => {
                    for (_, s) in stems {
                        terms.insert(s.clone(), 1.0);
                    }
                }
            }
        }
        terms
    }

    /// Whether a query of every word differs from the relaxed one (most of the words).
    pub fn can_relax(&self) -> bool {
        self.parts.len() >= 2
    }

    /// One part's alternatives over `fields` (each with its boost). `fuzzy`: a word no
    /// document has in these fields (a typo) matches the words one or two edits away.
    fn alternatives(
        part: &Part,
        searcher: &Searcher,
        fields: &[(Field, f32)],
        fuzzy: bool,
    ) -> Vec<(Occur, Box<dyn Query>)> {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        match part {
            Part::Word(stem) => {
                let known = fields.iter().any(|(field, _)| {
                    searcher
                        .doc_freq(&Term::from_field_text(*field, stem))
                        .is_ok_and(|n| n > 0)
                });
                let chars = stem.chars().count();
                for &(field, boost) in fields {
                    let term = Term::from_field_text(field, stem);
                    let query: Box<dyn Query> = if known || chars < 4 || !fuzzy {
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
                    } else {
                        let distance = if chars >= 8 { 2 } else { 1 };
                        Box::new(FuzzyTermQuery::new(term, distance, true))
                    };
                    alternatives.push((Occur::Should, boosted(query, boost)));
                }
            }
            Part::Prefix(stem) => {
                for &(field, boost) in fields {
                    for word in prefix_terms(searcher, field, stem) {
                        let term = Term::from_field_text(field, &word);
                        let query = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                        alternatives.push((Occur::Should, boosted(query, boost)));
                    }
                }
            }
            Part::Phrase(stems) => {
                for &(field, boost) in fields {
                    let first = stems[0].0;
                    let terms = stems
                        .iter()
                        .map(|(pos, s)| (pos - first, Term::from_field_text(field, s)))
                        .collect();
                    let query = Box::new(PhraseQuery::new_with_offset(terms));
                    alternatives.push((Occur::Should, boosted(query, boost * 1.5)));
                }
            }
        }
        alternatives
    }

    /// The query over `fields` (each with its boost) that also meets `filters`; `None` when
    /// nothing searchable is left. `strict`: every word must match (an intersection, quick
    /// however common the words); otherwise most of them. `lift`: a field (a title, a
    /// subject) where the words lift a match by its boost; it is only looked at for
    /// documents that already match.
    pub fn to_query(
        &self,
        searcher: &Searcher,
        fields: &[(Field, f32)],
        lift: Option<(Field, f32)>,
        strict: bool,
        filters: &[(Occur, Box<dyn Query>)],
    ) -> Option<Box<dyn Query>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for part in &self.parts {
            let mut alternatives = Self::alternatives(part, searcher, fields, true);
            // One field: its query as it is (an intersection of plain term lists).
            let query: Box<dyn Query> = if alternatives.len() == 1 {
                alternatives.remove(0).1
            } else {
                Box::new(BooleanQuery::new(alternatives))
            };
            clauses.push((Occur::Should, query));
        }
        if clauses.is_empty() {
            return None;
        }
        let parts: Vec<Box<dyn Query>> = clauses.into_iter().map(|(_, q)| q).collect();
        let with_filters = |musts: Vec<Box<dyn Query>>| -> Box<dyn Query> {
            let mut clauses: Vec<_> = musts.into_iter().map(|q| (Occur::Must, q)).collect();
            clauses.extend(filters.iter().map(|(occur, q)| (*occur, q.box_clone())));
            Box::new(BooleanQuery::new(clauses))
        };
        // With three words or more, most of them must match: "ошибка закрытия месяца"
        // should not list everything that mentions a month.
        let required = match parts.len() {
            n if strict => n,
            n if n >= 3 => n.div_ceil(2),
            _ => 1,
        };
        let matching = if required == parts.len() {
            with_filters(parts)
        } else if let Some(ways) = choices(parts.len(), required) {
            // Each way to match enough words is an intersection led by the filters (a
            // client's own tickets), so nothing outside them is read; "most of the words" as
            // one clause cannot skip ahead and walks every posting of every word. A document
            // with more of the words is in more of the ways and scores higher.
            let ways = ways
                .into_iter()
                .map(|way| {
                    let musts = way.into_iter().map(|i| parts[i].box_clone()).collect();
                    (Occur::Should, with_filters(musts))
                })
                .collect();
            Box::new(BooleanQuery::new(ways))
        } else {
            let most = parts.into_iter().map(|q| (Occur::Should, q)).collect();
            let most = BooleanQuery::with_minimum_required_clauses(most, required);
            with_filters(vec![Box::new(most)])
        };
        let Some(lift) = lift else {
            return Some(matching);
        };
        let lifts: Vec<_> = self
            .parts
            .iter()
            .flat_map(|part| Self::alternatives(part, searcher, &[lift], false))
            .collect();
        if lifts.is_empty() {
            return Some(matching);
        }
        Some(Box::new(BooleanQuery::new(vec![
            (Occur::Must, matching),
            (Occur::Should, Box::new(BooleanQuery::new(lifts))),
        ])))
    }
}

/// Most ways [`choices`] spells out; a longer query keeps "most of the words" as one clause.
const MAX_WAYS: usize = 10;

/// Every way to choose `k` of `n` items (as index lists), or `None` when there are more than
/// [`MAX_WAYS`].
fn choices(n: usize, k: usize) -> Option<Vec<Vec<usize>>> {
    if n > 16 {
        return None;
    }
    let ways: Vec<Vec<usize>> = (0u32..1 << n)
        .filter(|set| set.count_ones() as usize == k)
        .take(MAX_WAYS + 1)
        .map(|set| (0..n).filter(|i| set & (1 << i) != 0).collect())
        .collect();
    (ways.len() <= MAX_WAYS).then_some(ways)
}

/// Words a prefix expands to, per field: at most this many (the first in word order), as
/// search engines cap it; a short prefix of a common stem would otherwise score a union of
/// thousands of words.
const MAX_PREFIX_WORDS: usize = 16;

fn prefix_terms(searcher: &Searcher, field: Field, prefix: &str) -> Vec<String> {
    let mut words = std::collections::BTreeSet::new();
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = inverted.terms().range().ge(prefix.as_bytes()).into_stream() else {
            continue;
        };
        let mut taken = 0;
        while taken < MAX_PREFIX_WORDS && stream.advance() {
            let Ok(word) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if !word.starts_with(prefix) {
                break;
            }
            words.insert(word.to_owned());
            taken += 1;
        }
    }
    words.into_iter().take(MAX_PREFIX_WORDS).collect()
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if boost == 1.0 {
        query
    } else {
        Box::new(BoostQuery::new(query, boost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_phrases_and_prefixes() {
        let q = ParsedQuery::parse(r#"ошибки "закрытие месяца" счёт*"#, false);
        assert_eq!(q.parts.len(), 3, "{q:?}");
        assert!(matches!(q.parts[1], Part::Phrase(ref s) if s.len() == 2));
        assert!(matches!(q.parts[2], Part::Prefix(_)));
        let typing = ParsedQuery::parse("закрытие мес", true);
        assert!(matches!(typing.parts.last(), Some(Part::Prefix(s)) if s == "мес"));
    }

    #[test]
    fn ways_to_match_most_words() {
        assert_eq!(
            choices(3, 2),
            Some(vec![vec![0, 1], vec![0, 2], vec![1, 2]])
        );
        assert_eq!(choices(2, 1), Some(vec![vec![0], vec![1]]));
        assert_eq!(choices(5, 3).map(|w| w.len()), Some(10));
        assert_eq!(choices(6, 3), None);
        assert_eq!(choices(12, 6), None);
    }

    #[test]
    fn any_input_parses() {
        for input in [
            "",
            "\"",
            "\"\"\"",
            "***",
            "\u{0}\u{1}",
            "<script>",
            "a\"b\"c\"d",
            "при и в",
        ] {
            let _ = ParsedQuery::parse(input, true);
        }
        let long = "слово ".repeat(10_000);
        assert!(ParsedQuery::parse(&long, false).parts.len() <= MAX_WORDS);
        assert!(ParsedQuery::parse("при и в the", false).is_empty());
    }
}
