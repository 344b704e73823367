//! What the build does to a bundle between wasm-bindgen and shipping that wasm-opt alone cannot
//! do, because it sees the wasm without the JS glue that uses it.
//!
//! - **Exports nothing calls.** Every `#[wasm_bindgen]` export of every crate in the graph is a
//!   root that no dead-code pass may remove. leptos 0.8 turns on server_fn's `browser`
//!   feature, which links wasm-streams and its exported classes (`IntoUnderlyingSource`, …);
//!   the components never stream. Their classes are dropped from the glue, and binaryen's
//!   `wasm-metadce` then removes every export the remaining glue does not name, with all the
//!   code only those exports reached.
//! - **Names.** wasm-bindgen names each import and export after its Rust item with a hash
//!   (`__wbg_setAttribute_1b9f6c3a2e5d4f70`), written twice (wasm and glue), mostly
//!   incompressible. `wasm-opt --minify-imports-and-exports-and-modules` shortens them in the
//!   wasm and prints the mapping, which is applied to the glue here.
//!
//! Both edits are checked, not hoped for: a class, an import or a module name the glue does
//! not have where wasm-bindgen 0.2.130 puts it fails the build (the CLI is pinned exactly).

use std::collections::BTreeSet;

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use wasmparser::{Parser, Payload};

/// The glue's classes no bundle uses: wasm-streams' (through server_fn's `browser` feature,
/// which leptos turns on). Dropped where present.
pub const UNUSED_CLASSES: [&str; 3] = [
    "IntoUnderlyingByteSource",
    "IntoUnderlyingSink",
    "IntoUnderlyingSource",
];

/// Drops each of `classes` the glue exports: the class, its `Symbol.dispose` line and its
/// `FinalizationRegistry`. Returns the glue and the classes dropped.
pub fn drop_classes(js: &str, classes: &[&str]) -> Result<(String, Vec<String>)> {
    let mut js = js.to_owned();
    let mut dropped = Vec::new();
    for class in classes {
        let start = format!("\nexport class {class} {{\n");
        let Some(at) = js.find(&start) else {
            continue;
        };
        let body = at + start.len();
        let end = js[body..]
            .find("\n}\n")
            .with_context(|| format!("the glue's class {class} has no end"))?;
        js.replace_range(at..body + end + 2, "");
        remove_line(
            &mut js,
            &format!(
                "if (Symbol.dispose) {class}.prototype[Symbol.dispose] = {class}.prototype.free;\n"
            ),
        )?;
        let registry = format!("const {class}Finalization = ");
        let at = js
            .find(&registry)
            .with_context(|| format!("the glue has no {class}Finalization"))?;
        let end = js[at..]
            .find(");\n")
            .with_context(|| format!("the glue's {class}Finalization has no end"))?;
        js.replace_range(at..at + end + 3, "");
        ensure!(
            !contains_word(&js, class),
            "the glue still uses the class {class} after dropping it"
        );
        dropped.push((*class).to_owned());
    }
    Ok((js, dropped))
}

fn remove_line(js: &mut String, line: &str) -> Result<()> {
    let at = js
        .find(line)
        .with_context(|| format!("the glue lacks {line:?}"))?;
    js.replace_range(at..at + line.len(), "");
    Ok(())
}

/// Whether `word` occurs in `js` as a whole identifier.
fn contains_word(js: &str, word: &str) -> bool {
    js.match_indices(word).any(|(at, _)| {
        let before = js[..at].chars().next_back();
        let after = js[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// The wasm exports the glue uses (`wasm.NAME`).
pub fn used_exports(js: &str) -> BTreeSet<String> {
    js.match_indices("wasm.")
        .filter(|(at, _)| !js[..*at].chars().next_back().is_some_and(is_ident))
        .map(|(at, _)| {
            js[at + 5..]
                .chars()
                .take_while(|c| is_ident(*c))
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The reachability graph for `wasm-metadce`: each export the glue uses is a root; exports
/// not in the graph are removed.
pub fn metadce_graph(roots: &BTreeSet<String>) -> String {
    let nodes: Vec<serde_json::Value> = roots
        .iter()
        .map(|name| {
            serde_json::json!({
                "name": format!("export:{name}"),
                "export": name,
                "root": true,
            })
        })
        .collect();
    serde_json::Value::Array(nodes).to_string()
}

/// What `wasm-opt --minify-imports-and-exports-and-modules` prints: `[module, old, new]` per
/// import, `[old, new]` per export.
#[derive(Debug, Deserialize)]
pub struct Minified {
    pub imports: Vec<(String, String, String)>,
    pub exports: Vec<(String, String)>,
}

/// The one module a minified wasm imports from.
pub fn import_module(wasm: &[u8]) -> Result<String> {
    let mut modules = BTreeSet::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::ImportSection(imports) = payload.context("reading the wasm")? {
            for import in imports.into_imports() {
                modules.insert(import.context("reading an import")?.module.to_owned());
            }
        }
    }
    match modules.len() {
        0 => Ok(String::new()),
        1 => Ok(modules.into_iter().next().unwrap_or_default()),
        _ => bail!("the minified wasm imports from several modules: {modules:?}"),
    }
}

/// Applies the minified names to the glue: each import's key in the glue's import object,
/// each `wasm.EXPORT`, and the import object's module name (`module`, read from the wasm).
pub fn rename(js: &str, minified: &Minified, module: &str) -> Result<String> {
    let mut js = js.to_owned();
    let mut modules = BTreeSet::new();
    for (from, old, new) in &minified.imports {
        modules.insert(from.as_str());
        let key = format!("\n        {old}: function(");
        let count = js.matches(&key).count();
        ensure!(
            count == 1 && !contains_word(&js.replacen(&key, "", 1), old),
            "the glue names the import {old} {count} times as a key, or elsewhere too"
        );
        js = js.replacen(&key, &format!("\n        {new}: function("), 1);
    }
    for (old, new) in &minified.exports {
        js = replace_member(&js, old, new);
    }
    for from in modules {
        let key = format!("\n        \"{from}\": import0,\n");
        ensure!(
            js.matches(&key).count() == 1,
            "the glue's import object has no single {from:?} entry"
        );
        js = js.replacen(&key, &format!("\n        \"{module}\": import0,\n"), 1);
    }
    Ok(js)
}

/// `wasm.OLD` (a whole identifier) becomes `wasm.NEW`.
fn replace_member(js: &str, old: &str, new: &str) -> String {
    let pattern = format!("wasm.{old}");
    let mut out = String::with_capacity(js.len());
    let mut rest = js;
    while let Some(at) = rest.find(&pattern) {
        let before = if at == 0 {
            out.chars().next_back()
        } else {
            rest[..at].chars().next_back()
        };
        let after = rest[at + pattern.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            out.push_str(&pattern);
        } else {
            out.push_str("wasm.");
            out.push_str(new);
        }
        rest = &rest[at + pattern.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLUE: &str = "export class Handle {
    free() {
        wasm.__wbg_handle_free(this.__wbg_ptr, 0);
    }
}
if (Symbol.dispose) Handle.prototype[Symbol.dispose] = Handle.prototype.free;

export class IntoUnderlyingSink {
    close() {
        const ret = wasm.intounderlyingsink_close(this.__wbg_ptr);
        return ret;
    }
}
if (Symbol.dispose) IntoUnderlyingSink.prototype[Symbol.dispose] = IntoUnderlyingSink.prototype.free;

export function mount(host) {
    wasm.mount(host);
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_setAttribute_1b9f6c3a2e5d4f70: function(arg0, arg1) {
            arg0.setAttribute(arg1);
        },
    };
    return {
        __proto__: null,
        \"./a_bg.js\": import0,
    };
}
const HandleFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_handle_free(ptr, 1));
const IntoUnderlyingSinkFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_intounderlyingsink_free(ptr, 1));
wasm.__wbindgen_start();
";

    #[test]
    fn unused_classes_are_dropped_with_what_only_they_use() {
        let (js, dropped) = drop_classes(GLUE, &UNUSED_CLASSES).expect("drops");
        assert_eq!(dropped, ["IntoUnderlyingSink"]);
        assert!(!js.contains("IntoUnderlyingSink"), "{js}");
        assert!(js.contains("export class Handle {"));
        assert!(js.contains("HandleFinalization = "));
        let used: Vec<_> = used_exports(&js).into_iter().collect();
        assert_eq!(used, ["__wbg_handle_free", "__wbindgen_start", "mount"]);
        let graph: serde_json::Value =
            serde_json::from_str(&metadce_graph(&used_exports(&js))).expect("JSON");
        assert_eq!(graph[2]["export"], "mount");
        assert_eq!(graph[2]["root"], true);
    }

    #[test]
    fn minified_names_reach_the_glue() {
        let minified = Minified {
            imports: vec![(
                "./a_bg.js".into(),
                "__wbg_setAttribute_1b9f6c3a2e5d4f70".into(),
                "b".into(),
            )],
            exports: vec![
                ("mount".into(), "c".into()),
                ("__wbindgen_start".into(), "d".into()),
            ],
        };
        let js = rename(GLUE, &minified, "a").expect("renames");
        assert!(js.contains("\n        b: function(arg0, arg1) {"), "{js}");
        assert!(js.contains("\"a\": import0,"));
        assert!(js.contains("wasm.c(host)"));
        assert!(js.contains("wasm.d();"));
        // The JS function `mount` keeps its name: only the wasm's export changes.
        assert!(js.contains("export function mount(host)"));
        assert!(js.contains("wasm.__wbg_handle_free("));
    }

    #[test]
    fn a_glue_without_the_expected_shape_fails_the_build() {
        let minified = Minified {
            imports: vec![("./a_bg.js".into(), "__wbg_missing_00".into(), "b".into())],
            exports: vec![],
        };
        assert!(rename(GLUE, &minified, "a").is_err());
    }
}
