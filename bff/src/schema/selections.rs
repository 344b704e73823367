//! The fields a selection runs, with fragments inlined: what [`super::document_limits`]
//! counts and [`super::field_errors`] follows a response path through.

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};

/// Calls `each` with every field of `sets` in document order, inline fragments and
/// fragment spreads inlined where they stand. A spread of a fragment already being expanded
/// is skipped: validation refuses such cycles later, this only must not loop.
pub fn each_field<'d>(
    document: &'d ExecutableDocument,
    sets: &[&'d SelectionSet],
    each: &mut dyn FnMut(&'d Field),
) {
    fn walk<'d>(
        document: &'d ExecutableDocument,
        set: &'d SelectionSet,
        open: &mut Vec<&'d str>,
        each: &mut dyn FnMut(&'d Field),
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => each(&field.node),
                Selection::InlineFragment(fragment) => {
                    walk(document, &fragment.node.selection_set.node, open, each)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if open.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        open.push(name);
                        walk(document, &fragment.node.selection_set.node, open, each);
                        open.pop();
                    }
                }
            }
        }
    }
    let mut open = Vec::new();
    for set in sets {
        walk(document, set, &mut open, each);
    }
}

/// The distinct response keys (alias, else name) of `sets` in the order async-graphql
/// writes them; fields for which `counts` is false are left out.
pub fn response_keys<'d>(
    document: &'d ExecutableDocument,
    sets: &[&'d SelectionSet],
    counts: impl Fn(&Field) -> bool,
) -> Vec<&'d str> {
    let mut keys: Vec<&str> = Vec::new();
    each_field(document, sets, &mut |field| {
        let key = field.response_key().node.as_str();
        if counts(field) && !keys.contains(&key) {
            keys.push(key);
        }
    });
    keys
}
