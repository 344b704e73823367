//! The golden SDL: schema/schema.graphql is the contract the micro-frontends compile their
//! queries against, so it must be exactly what the schema code generates. On drift this
//! test rewrites the file and fails, so the change shows up in review.

use std::path::PathBuf;

#[test]
fn schema_graphql_is_what_the_code_generates() {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "schema", "schema.graphql"]
        .iter()
        .collect();
    let generated = mall_bff::schema::sdl();
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != generated {
        std::fs::write(&path, &generated).expect("schema/schema.graphql is writable");
        panic!(
            "schema/schema.graphql differed from the schema code and was rewritten; review \
             the change (and the components' queries) and commit it"
        );
    }
}
