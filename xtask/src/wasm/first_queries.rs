//! A component's first queries: what it asks as soon as it is mounted. Declared in its crate
//! (`first-queries.json`: each query's operation, the `.graphql` file it is in, and its
//! variables, `{"$mall": "customerId"}` standing for the signed-in customer's id) and written
//! into its bundle directory with the file's text, which is what the component sends as the
//! query (graphql_client sends the whole file). The BFF reads it with the manifest and has the
//! document preload each query for a caller who will mount the component, so the data arrives
//! while the bundle compiles (bff/src/static_files.rs); the component's GraphQL client takes
//! the preloaded answer when it is exactly its first request (components/kit/src/graphql.rs).
//! The file travels with the bundle's version: deploying a component deploys its queries.

use std::fs;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The declaration's name, in the crate and in the bundle directory.
pub const FILE: &str = "first-queries.json";

/// One query as the crate declares it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Declared {
    operation_name: String,
    /// The `.graphql` file, relative to the crate.
    document: String,
    #[serde(default)]
    variables: Map<String, Value>,
}

/// One query as the bundle carries it (what the BFF reads).
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Written {
    operation_name: String,
    query: String,
    variables: Map<String, Value>,
}

/// Writes the first queries the crate in `crate_dir` declares into the bundle directory
/// `out`; nothing when it declares none.
pub fn write(crate_dir: &Path, out: &Path) -> Result<()> {
    let path = crate_dir.join(FILE);
    if !path.exists() {
        return Ok(());
    }
    let written = resolve(crate_dir, &path)?;
    let target = out.join(FILE);
    fs::write(&target, serde_json::to_string(&written)?)
        .with_context(|| format!("writing {}", target.display()))
}

fn resolve(crate_dir: &Path, path: &Path) -> Result<Vec<Written>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let declared: Vec<Declared> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a list of first queries", path.display()))?;
    let mut written = Vec::new();
    for d in declared {
        let file = crate_dir.join(&d.document);
        let query =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let Some(declared) = query_variables(&query, &d.operation_name) else {
            anyhow::bail!(
                "{}: {} has no `query {}`",
                path.display(),
                file.display(),
                d.operation_name
            );
        };
        // The component's GraphQL client compares its variables with the preload's as JSON
        // text, whose keys the BFF writes sorted; the client writes them in the order the
        // operation declares them.
        let mut sorted = declared.clone();
        sorted.sort();
        ensure!(
            declared == sorted,
            "{}: `query {}` declares its variables as {declared:?}: declare them in sorted \
             order, so the preloaded request's JSON is the component's",
            file.display(),
            d.operation_name
        );
        let given: Vec<&str> = d.variables.keys().map(String::as_str).collect();
        ensure!(
            given.iter().all(|name| declared.iter().any(|d| d == name)),
            "{}: {} gives variables {given:?}; `query {}` declares {declared:?}",
            path.display(),
            d.operation_name,
            d.operation_name
        );
        written.push(Written {
            operation_name: d.operation_name,
            query,
            variables: d.variables,
        });
    }
    Ok(written)
}

/// The variables the query operation `name` of `document` declares, in their order; `None`
/// when the document does not parse or holds no query of that name (read by async-graphql's
/// parser, as the BFF reads it).
fn query_variables(document: &str, name: &str) -> Option<Vec<String>> {
    let document = async_graphql_parser::parse_query(document).ok()?;
    document.operations.iter().find_map(|(op_name, op)| {
        (op_name.map(|n| n.as_str()) == Some(name)
            && op.node.ty == async_graphql_parser::types::OperationType::Query)
            .then(|| {
                op.node
                    .variable_definitions
                    .iter()
                    .map(|v| v.node.name.node.to_string())
                    .collect()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bundle_carries_the_query_text_as_the_component_sends_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let document = "query Products($page: Int!) {\n  products(page: $page) { page }\n}\n\nmutation M { x }\n";
        fs::create_dir_all(dir.path().join("src/queries")).expect("dir");
        fs::write(dir.path().join("src/queries/p.graphql"), document).expect("query");
        fs::write(
            dir.path().join(FILE),
            r#"[{"operationName":"Products","document":"src/queries/p.graphql","variables":{"page":0}}]"#,
        )
        .expect("declaration");
        let out = tempfile::tempdir().expect("temp dir");
        write(dir.path(), out.path()).expect("written");
        let carried: Value =
            serde_json::from_str(&fs::read_to_string(out.path().join(FILE)).expect("file"))
                .expect("json");
        assert_eq!(
            carried,
            json!([{"operationName": "Products", "query": document, "variables": {"page": 0}}])
        );
    }

    #[test]
    fn a_declared_operation_must_be_a_query_of_its_file() {
        let declares_query = |document, name| query_variables(document, name).is_some();
        assert!(declares_query("query Products($p: Int) { x }", "Products"));
        assert!(declares_query("# c\nquery MyPage { x }", "MyPage"));
        assert!(!declares_query("query ProductsPage { x }", "Products"));
        assert!(!declares_query("mutation Products { x }", "Products"));

        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("q.graphql"), "mutation Cancel { x }").expect("query");
        fs::write(
            dir.path().join(FILE),
            r#"[{"operationName":"Cancel","document":"q.graphql"}]"#,
        )
        .expect("declaration");
        let e = write(dir.path(), dir.path()).expect_err("a mutation is no first query");
        assert!(e.to_string().contains("no `query Cancel`"), "{e}");
    }

    #[test]
    fn an_operations_variables_must_be_declared_in_sorted_order() {
        assert_eq!(
            query_variables("query P($page: Int!, $size: Int!) { x }", "P"),
            Some(vec!["page".to_owned(), "size".to_owned()])
        );
        assert_eq!(query_variables("query P { x }", "P"), Some(Vec::new()));
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(
            dir.path().join("q.graphql"),
            "query P($size: Int!, $page: Int!) { x }",
        )
        .expect("query");
        fs::write(
            dir.path().join(FILE),
            r#"[{"operationName":"P","document":"q.graphql","variables":{"page":0,"size":5}}]"#,
        )
        .expect("declaration");
        let e = write(dir.path(), dir.path()).expect_err("unsorted");
        assert!(e.to_string().contains("sorted order"), "{e}");
    }

    #[test]
    fn every_components_declaration_resolves() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for bundle in super::super::COMPONENTS {
            let dir = root.join(bundle.dir);
            let path = dir.join(FILE);
            assert!(path.exists(), "{} declares no first queries", bundle.name);
            let written = resolve(&dir, &path).expect("resolves");
            assert!(!written.is_empty(), "{}", bundle.name);
        }
    }
}
