//! The cost model of a query (async-graphql's complexity): every field counts one, and a
//! list field counts its children once per row it is expected to hold, so a query is
//! priced by the rows it can bring back, not by the fields it names. A page of products
//! holds `size` rows; an unpaged list (a customer's orders, deliveries or my-page rows) is
//! expected to hold [`EXPECTED_ROWS`]. `limits.max_complexity` caps the total; past it the
//! request is refused with REQUEST_TOO_EXPENSIVE before anything is fetched
//! ([`super::document_limits`]).
//!
//! The shop's own queries cost a few hundred at most: its product page asks for 5 rows,
//! its my-page and delivery lists are unpaged lists of 8 or so fields (20 × 9 = 180).

/// The rows an unpaged list is expected to hold: a customer's orders, deliveries or
/// my-page rows (the course's data has a handful; a busy customer a few dozen).
pub const EXPECTED_ROWS: usize = 20;

/// The upstreams the BFF calls (the `upstreams` list).
pub const UPSTREAMS: usize = 4;

/// A page of `size` rows: its selections once per row. (Its own scalars, `page` or
/// `totalPages`, are counted with the rows: the price of a page stays an upper bound.)
pub fn page(size: i64, child_complexity: usize) -> usize {
    let rows = usize::try_from(size.max(1)).unwrap_or(usize::MAX);
    rows.saturating_mul(child_complexity).max(1)
}

/// An unpaged list: its selections once per expected row.
pub fn list(child_complexity: usize) -> usize {
    EXPECTED_ROWS.saturating_mul(child_complexity).max(1)
}

/// A list of `rows` known rows.
pub fn fixed(rows: usize, child_complexity: usize) -> usize {
    rows.saturating_mul(child_complexity).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_costs_its_rows_and_a_bad_size_costs_one_row() {
        assert_eq!(page(100, 5), 500);
        assert_eq!(page(0, 5), 5);
        assert_eq!(page(-3, 5), 5);
        assert_eq!(page(i64::MAX, usize::MAX), usize::MAX);
        assert_eq!(list(9), 180);
        assert_eq!(fixed(UPSTREAMS, 0), 1);
    }
}
