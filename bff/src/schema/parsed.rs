//! Parsed documents kept by their text, so a query the shop sends again and again is parsed
//! once.
//!
//! Parsing (async-graphql's pest grammar) was the largest share of the BFF's own CPU time per
//! products query after the kernel and the allocator (bench scenario 2's profile), and every
//! request was parsed twice: once to check its required variables ([`super::variables`]),
//! once by async-graphql. Now [`super::execute`] parses a request's document once, or takes a
//! copy of the one kept for the same text (copying the tree costs a fraction of parsing it),
//! checks the variables on it and hands it to async-graphql, which then does not parse.
//!
//! Nothing is skipped: async-graphql's recursion and directive checks, the document limits
//! ([`super::document_limits`]) and validation run on every request's document, kept or not.
//! A text that does not parse is not kept (async-graphql parses it and reports the error, as
//! before). The documents are bounded in bytes by `quick_cache`, whose CLOCK-PRO policy keeps
//! those used again: a flood of distinct documents pushes out other one-off documents, not
//! the shop's.

use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;
use quick_cache::sync::Cache;
use quick_cache::Weighter;

/// The bytes of documents kept at most, by default.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 20;

/// A parsed document weighs about this many times its text (an estimate of the tree's
/// nodes, names and positions: the bound matters, not the exact bytes).
const TREE_PER_TEXT_BYTE: u64 = 16;

/// The kept documents (schema data).
pub struct ParsedDocuments {
    kept: Cache<String, ExecutableDocument, ByWeight>,
}

impl ParsedDocuments {
    pub fn new(max_bytes: u64) -> ParsedDocuments {
        ParsedDocuments {
            kept: crate::byte_bounded::cache(max_bytes, 4096, ByWeight),
        }
    }

    /// `query` parsed, from the kept copy when there is one; `None` when it does not parse.
    pub fn parse(&self, query: &str) -> Option<ExecutableDocument> {
        if let Some(document) = self.kept.get(query) {
            return Some(document);
        }
        // The parser's lists keep the spare room they grew with (room for four selections
        // where there is one, and so on): a copy is tight, about a third of the bytes, and a
        // subscription holds its document for as long as it runs.
        let document = parse_query(query).ok()?.clone();
        self.kept.insert(query.to_owned(), document.clone());
        Some(document)
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

#[derive(Clone)]
struct ByWeight;

impl Weighter<String, ExecutableDocument> for ByWeight {
    fn weight(&self, text: &String, _: &ExecutableDocument) -> u64 {
        256 + text.len() as u64 * (1 + TREE_PER_TEXT_BYTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::types::{DocumentOperations, Selection};

    #[test]
    fn a_document_is_kept_once_parsed_and_a_broken_one_is_not() {
        let parsed = ParsedDocuments::new(DEFAULT_MAX_BYTES);
        let query = "{ products { items { id name } } }";
        let first = parsed.parse(query).expect("parses");
        assert_eq!(parsed.len(), 1);
        let again = parsed.parse(query).expect("kept");
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert!(parsed.parse("{ products {").is_none());
        assert_eq!(parsed.len(), 1, "what does not parse is not kept");
    }

    /// The top-level selections of `document`'s one operation.
    fn top_level(document: &ExecutableDocument) -> &Vec<async_graphql::Positioned<Selection>> {
        match &document.operations {
            DocumentOperations::Single(operation) => &operation.node.selection_set.node.items,
            DocumentOperations::Multiple(_) => panic!("one operation"),
        }
    }

    #[test]
    fn a_document_holds_no_spare_room_kept_or_fresh() {
        let parsed = ParsedDocuments::new(DEFAULT_MAX_BYTES);
        let query = r#"subscription { myPage(customerId: "a@b") { kind } }"#;
        for _ in 0..2 {
            let document = parsed.parse(query).expect("parses");
            let items = top_level(&document);
            assert_eq!(items.capacity(), items.len());
        }
    }

    #[test]
    fn a_flood_of_distinct_documents_stays_within_the_bound() {
        let parsed = ParsedDocuments::new(64 << 10);
        for i in 0..5_000 {
            parsed.parse(&format!("{{ a{i}: products {{ total }} }}"));
        }
        assert!(parsed.len() < 1_000, "{} kept", parsed.len());
    }
}
