//! The micro-frontend bundles as shipped: their files (raw, gzip and brotli, as the static
//! server can send them) and where a wasm module's bytes go, section by section.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use wasmparser::{KnownCustom, Name, Parser, Payload, TypeRef};

/// A bundle's size, in bytes, three ways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

impl std::ops::AddAssign for Sizes {
    fn add_assign(&mut self, other: Sizes) {
        self.raw += other.raw;
        self.gzip += other.gzip;
        self.brotli += other.brotli;
    }
}

/// Compresses `bytes` the way the build's precompressed files are (gzip level 9, brotli
/// quality 11) and returns the three sizes.
pub fn sizes_of(bytes: &[u8]) -> Result<Sizes> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    let gzip = gz.finish()?.len() as u64;
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        w.write_all(bytes)?;
        w.flush()?;
    }
    Ok(Sizes {
        raw: bytes.len() as u64,
        gzip,
        brotli: br.len() as u64,
    })
}

/// The component's declared first queries beside its bundle: read by the BFF, never fetched by
/// the browser, so not part of a bundle's size.
const FIRST_QUERIES: &str = "first-queries.json";

/// Every file a bundle directory ships to the browser (the precompressed `.gz` / `.br` copies
/// and the first queries left out), sorted, including subdirectories (wasm-bindgen's
/// `snippets/`).
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else if !matches!(path.extension().and_then(|e| e.to_str()), Some("gz" | "br"))
                && path.file_name() != Some(FIRST_QUERIES.as_ref())
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The sizes of a bundle directory, and of its wasm files alone.
pub fn measure(dir: &Path) -> Result<(Sizes, Sizes)> {
    let mut all = Sizes::default();
    let mut wasm = Sizes::default();
    for f in files(dir)? {
        let bytes = std::fs::read(&f)?;
        let s = sizes_of(&bytes)?;
        all += s;
        if f.extension().and_then(|e| e.to_str()) == Some("wasm") {
            wasm += s;
        }
    }
    Ok((all, wasm))
}

/// Section names by id, as the wasm specification numbers them.
const SECTION_NAMES: [&str; 13] = [
    "custom",
    "type",
    "import",
    "function",
    "table",
    "memory",
    "global",
    "export",
    "start",
    "element",
    "code",
    "data",
    "datacount",
];

/// The sections of a wasm module and their sizes in bytes, in file order (custom sections
/// as `custom:<name>`). `None` if it is not a wasm module or is malformed.
pub fn wasm_sections(bytes: &[u8]) -> Option<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.ok()?;
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        let name = match &payload {
            Payload::CustomSection(c) => format!("custom:{}", c.name()),
            _ => (*SECTION_NAMES.get(usize::from(id))?).to_owned(),
        };
        out.push((name, range.end - range.start));
    }
    Some(out)
}

/// The crate a Rust function name belongs to, demangled by `rustc-demangle` (legacy `_ZN…`
/// and v0 `_R…`) or as wasm-ld writes it already demangled (`core::fmt::write::h…`,
/// `<alloc::vec::Vec<T> as Clone>::clone`; `<&T as core::fmt::Debug>::fmt` is the trait's
/// `core`); anything else (wasm-bindgen's shims, C) is `other`.
pub fn crate_of(symbol: &str) -> String {
    let demangled = match rustc_demangle::try_demangle(symbol) {
        Ok(d) => format!("{d:#}"),
        Err(_) if symbol.starts_with("_ZN") || symbol.starts_with("_R") => return "other".into(),
        Err(_) => symbol.to_owned(),
    };
    let path = demangled.trim_start_matches(['<', '&']);
    let Some((first, _)) = path.split_once("::") else {
        return "other".into();
    };
    // `&mut serde_json…` or `T as core` (a generic impl of a trait): the last word.
    let first = first.rsplit(' ').next().unwrap_or(first);
    if first.is_empty() || !first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        "other".into()
    } else {
        first.to_owned()
    }
}

/// The code section's bytes per crate, largest first, from the function names of the name
/// section (present in cargo's output before wasm-bindgen and wasm-opt strip it).
pub fn code_by_crate(bytes: &[u8]) -> Option<Vec<(String, u64)>> {
    let mut imported_functions = 0u32;
    let mut bodies = Vec::new();
    let mut names = HashMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if matches!(import.ok()?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported_functions += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                bodies.push(range.end - range.start);
            }
            Payload::CustomSection(custom) => {
                if let KnownCustom::Name(sections) = custom.as_known() {
                    for section in sections {
                        if let Name::Function(map) = section.ok()? {
                            for naming in map {
                                let naming = naming.ok()?;
                                names.insert(naming.index, naming.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if bodies.is_empty() {
        return None;
    }
    let mut sums: HashMap<String, u64> = HashMap::new();
    for (i, size) in (0u32..).zip(bodies) {
        let krate = names
            .get(&(imported_functions + i))
            .map_or_else(|| "other".to_owned(), |n| crate_of(n));
        *sums.entry(krate).or_default() += size;
    }
    let mut out: Vec<(String, u64)> = sums.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_shrinks_repetitive_text_and_keeps_the_raw_size() {
        let text = "mall ".repeat(2000);
        let s = sizes_of(text.as_bytes()).expect("compresses");
        assert_eq!(s.raw, 10_000);
        assert!(s.gzip < 200, "gzip {}", s.gzip);
        assert!(s.brotli < 100, "brotli {}", s.brotli);
        let mut sum = s;
        sum += s;
        assert_eq!(sum.raw, 20_000);
    }

    #[test]
    fn wasm_sections_are_listed_with_their_sizes() {
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        // type section, 4 bytes: one type, () -> ()
        module.extend([1, 4, 1, 0x60, 0, 0]);
        // function section, 2 bytes: one function of type 0
        module.extend([3, 2, 1, 0]);
        // a custom section "name" with 3 more bytes
        module.extend([0, 8, 4, b'n', b'a', b'm', b'e', 1, 2, 3]);
        // code section, 200 bytes (a two-byte LEB128 size): one body of 197 bytes
        module.extend([10, 0xc8, 0x01, 1, 0xc5, 0x01, 0]);
        module.extend(std::iter::repeat_n(0u8, 195));
        module.push(0x0b);
        assert_eq!(
            wasm_sections(&module),
            Some(vec![
                ("type".to_owned(), 4),
                ("function".to_owned(), 2),
                ("custom:name".to_owned(), 8),
                ("code".to_owned(), 200)
            ])
        );
        assert_eq!(wasm_sections(b"not wasm"), None);
        // A section running past the end is refused, not read out of bounds.
        assert_eq!(wasm_sections(b"\0asm\x01\0\0\0\x0a\x05\x00"), None);
    }

    #[test]
    fn crates_are_read_from_mangled_names() {
        assert_eq!(crate_of("_ZN4core3fmt5write17h0123456789abcdefE"), "core");
        assert_eq!(
            crate_of("_ZN63_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..clone..Clone$GT$5clone17h0123456789abcdefE"),
            "alloc"
        );
        assert_eq!(crate_of("_ZN6leptos4view17h0123456789abcdefE"), "leptos");
        assert_eq!(crate_of("__wbindgen_malloc"), "other");
        assert_eq!(crate_of("_ZNbroken"), "other");
        assert_eq!(crate_of("core::fmt::write::h0123456789abcdef"), "core");
        assert_eq!(
            crate_of("<alloc::vec::Vec<T> as core::clone::Clone>::clone"),
            "alloc"
        );
        assert_eq!(crate_of("<&T as core::fmt::Debug>::fmt"), "core");
        assert_eq!(crate_of("dlmalloc"), "other");
        assert_eq!(
            crate_of("_ZN93_$LT$$RF$mut$u20$serde_json..de..Deserializer$LT$R$GT$$u20$as$u20$serde..de..Deserializer$GT$15deserialize_any17h0123456789abcdefE"),
            "serde_json"
        );
        assert_eq!(crate_of("_RNvNtCs1234_4core3fmt5write"), "core");
        assert_eq!(crate_of("_RNvNtCs1234_8dlmalloc8dlmalloc4free"), "dlmalloc");
        assert_eq!(crate_of("_Rbroken"), "other");
    }

    #[test]
    fn code_is_attributed_to_crates_by_the_name_section() {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // import section: one function import "m"."f" (type 0)
        m.extend([2, 7, 1, 1, b'm', 1, b'f', 0, 0]);
        // function section: two functions of type 0
        m.extend([3, 3, 2, 0, 0]);
        // code section: two bodies of 3 and 5 bytes (each after its size byte)
        m.extend([10, 11, 2, 3, 0, 0, 0x0b, 5, 0, 0, 0, 0, 0x0b]);
        // name section: function 1 is core, function 2 is leptos
        let f1 = b"_ZN4core1a1bE";
        let f2 = b"_ZN6leptos1aE";
        let mut names = vec![2u8, 1];
        names.push(f1.len() as u8);
        names.extend(f1);
        names.push(2);
        names.push(f2.len() as u8);
        names.extend(f2);
        let mut custom = vec![4u8];
        custom.extend(b"name");
        custom.push(1);
        custom.push(names.len() as u8);
        custom.extend(&names);
        m.push(0);
        m.push(custom.len() as u8);
        m.extend(&custom);
        assert_eq!(
            code_by_crate(&m),
            Some(vec![("leptos".to_owned(), 5), ("core".to_owned(), 3)])
        );
    }
}
