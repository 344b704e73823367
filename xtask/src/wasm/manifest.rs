//! `dist/components.json`: each component's name mapped to `{version, entry, contract}`
//! (its JSON Schema is schema/components.schema.json).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The manifest's file name, beside the shell's index.
pub const FILE: &str = "components.json";

/// One component's entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub version: String,
    pub entry: String,
    pub contract: u32,
}

/// The manifest, in name order so rewriting one entry leaves the others' lines alone.
pub type Manifest = BTreeMap<String, Entry>;

/// Reads a manifest; a missing file is an empty manifest.
pub fn read(path: &Path) -> Result<Manifest> {
    if !path.exists() {
        return Ok(Manifest::new());
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a manifest", path.display()))
}

/// Writes a manifest (pretty, with a final newline), replacing the file atomically so the
/// server never serves half of it.
pub fn write(path: &Path, manifest: &Manifest) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(manifest)?;
    text.push('\n');
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const SCHEMA: &str = include_str!("../../../schema/components.schema.json");

    /// Validates `value` against the subset of JSON Schema the manifest schema uses, and fails
    /// on any keyword outside it so the schema cannot grow past what this test checks.
    fn validate(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(schema) = schema.as_object() else {
            return;
        };
        for (keyword, rule) in schema {
            match keyword.as_str() {
                "$schema" | "$id" | "title" | "description" => {}
                "type" => {
                    let ok = match rule.as_str() {
                        Some("object") => value.is_object(),
                        Some("string") => value.is_string(),
                        Some("integer") => value.is_u64() || value.is_i64(),
                        other => panic!("unsupported type {other:?}"),
                    };
                    if !ok {
                        errors.push(format!("{at}: not of type {rule}"));
                    }
                }
                "pattern" => {
                    let re = regex::Regex::new(rule.as_str().expect("pattern")).expect("regex");
                    if let Some(s) = value.as_str() {
                        if !re.is_match(s) {
                            errors.push(format!("{at}: {s:?} does not match {re}"));
                        }
                    }
                }
                "minimum" => {
                    if let (Some(v), Some(min)) = (value.as_f64(), rule.as_f64()) {
                        if v < min {
                            errors.push(format!("{at}: {v} < {min}"));
                        }
                    }
                }
                "required" => {
                    for name in rule.as_array().expect("required list") {
                        let name = name.as_str().expect("name");
                        if value.get(name).is_none() {
                            errors.push(format!("{at}: missing {name}"));
                        }
                    }
                }
                "properties" | "additionalProperties" | "propertyNames" => {}
                other => panic!("the schema uses {other}, which this test does not check"),
            }
        }
        let Some(object) = value.as_object() else {
            return;
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, item) in object {
            if let Some(names) = schema.get("propertyNames") {
                validate(names, &json!(name), &format!("{at}/{name} (name)"), errors);
            }
            match properties.and_then(|p| p.get(name)) {
                Some(sub) => validate(sub, item, &format!("{at}/{name}"), errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{at}: unexpected {name}")),
                    Some(sub @ Value::Object(_)) => {
                        validate(sub, item, &format!("{at}/{name}"), errors)
                    }
                    _ => {}
                },
            }
        }
    }

    fn errors_of(value: &Value) -> Vec<String> {
        let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
        let mut errors = Vec::new();
        validate(&schema, value, "", &mut errors);
        errors
    }

    fn sample() -> Manifest {
        let mut manifest = Manifest::new();
        for (name, package) in [
            ("product", "product_component"),
            ("order", "order_component"),
            ("delivery", "delivery_component"),
        ] {
            manifest.insert(
                name.into(),
                Entry {
                    version: "0.1.0".into(),
                    entry: format!("components/{name}/0.1.0/{package}.js"),
                    contract: super::super::CONTRACT,
                },
            );
        }
        manifest
    }

    #[test]
    fn a_written_manifest_conforms_to_the_schema() {
        let dir = std::env::temp_dir().join(format!("mall-manifest-{}", std::process::id()));
        let path = dir.join(FILE);
        write(&path, &sample()).expect("write");
        let text = fs::read_to_string(&path).expect("read back");
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(errors_of(&value), Vec::<String>::new());
        assert_eq!(read(&path).expect("read"), sample());
        fs::remove_dir_all(dir).expect("cleanup");
    }

    #[test]
    fn the_schema_rejects_broken_manifests() {
        let broken = [
            json!({"product": {"version": "0.1.0", "entry": "components/product/0.1.0/p.js"}}),
            json!({"product": {"version": "latest", "entry": "components/product/0.1.0/p.js", "contract": 1}}),
            json!({"product": {"version": "0.1.0", "entry": "https://cdn.example/p.js", "contract": 1}}),
            json!({"product": {"version": "0.1.0", "entry": "components/product/0.1.0/p.js", "contract": 0}}),
            json!({"Product": {"version": "0.1.0", "entry": "components/product/0.1.0/p.js", "contract": 1}}),
            json!({"product": {"version": "0.1.0", "entry": "components/product/0.1.0/p.js", "contract": 1, "extra": true}}),
        ];
        for manifest in broken {
            assert!(!errors_of(&manifest).is_empty(), "accepted {manifest}");
        }
    }
}
