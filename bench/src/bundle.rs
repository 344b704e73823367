//! The micro-frontend bundles as shipped: their files (raw, gzip and brotli, as the static
//! server can send them) and where a wasm module's bytes go, section by section.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

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

/// Every file a bundle directory ships (the precompressed `.gz` / `.br` copies left out),
/// sorted, including subdirectories (wasm-bindgen's `snippets/`).
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
            } else if !matches!(path.extension().and_then(|e| e.to_str()), Some("gz" | "br")) {
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

fn leb128(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// The sections of a wasm module and their sizes in bytes, in file order (custom sections
/// as `custom:<name>`). `None` if it is not a wasm module.
pub fn wasm_sections(bytes: &[u8]) -> Option<Vec<(String, u64)>> {
    if bytes.get(..4)? != b"\0asm" {
        return None;
    }
    const NAMES: [&str; 13] = [
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
    let mut at = 8;
    let mut out = Vec::new();
    while at < bytes.len() {
        let id = bytes[at];
        at += 1;
        let size = leb128(bytes, &mut at)?;
        let body = at;
        let name = match id {
            0 => {
                let mut p = body;
                let len = leb128(bytes, &mut p)? as usize;
                let name = bytes.get(p..p + len)?;
                format!("custom:{}", String::from_utf8_lossy(name))
            }
            _ => NAMES.get(usize::from(id))?.to_string(),
        };
        out.push((name, size));
        at = body.checked_add(usize::try_from(size).ok()?)?;
        if at > bytes.len() {
            return None;
        }
    }
    Some(out)
}

/// The sections of a module as (id, body offset, body length), or `None` if it is malformed.
fn sections(bytes: &[u8]) -> Option<Vec<(u8, usize, usize)>> {
    if bytes.get(..4)? != b"\0asm" {
        return None;
    }
    let mut at = 8;
    let mut out = Vec::new();
    while at < bytes.len() {
        let id = bytes[at];
        at += 1;
        let size = usize::try_from(leb128(bytes, &mut at)?).ok()?;
        if at.checked_add(size)? > bytes.len() {
            return None;
        }
        out.push((id, at, size));
        at += size;
    }
    Some(out)
}

fn name_at(bytes: &[u8], at: &mut usize) -> Option<String> {
    let len = usize::try_from(leb128(bytes, at)?).ok()?;
    let s = bytes.get(*at..*at + len)?;
    *at += len;
    Some(String::from_utf8_lossy(s).into_owned())
}

/// How many functions a module imports (they come first in the function index space).
fn imported_functions(bytes: &[u8], at: usize) -> Option<u32> {
    let mut at = at;
    let count = leb128(bytes, &mut at)?;
    let mut functions = 0;
    for _ in 0..count {
        name_at(bytes, &mut at)?;
        name_at(bytes, &mut at)?;
        let kind = *bytes.get(at)?;
        at += 1;
        let limits = |at: &mut usize| -> Option<()> {
            let flags = *bytes.get(*at)?;
            *at += 1;
            leb128(bytes, at)?;
            if flags & 1 != 0 {
                leb128(bytes, at)?;
            }
            Some(())
        };
        match kind {
            0 => {
                leb128(bytes, &mut at)?;
                functions += 1;
            }
            1 => {
                at += 1;
                limits(&mut at)?;
            }
            2 => limits(&mut at)?,
            3 => at += 2,
            4 => {
                at += 1;
                leb128(bytes, &mut at)?;
            }
            _ => return None,
        }
    }
    Some(functions)
}

/// The crate a Rust function name belongs to, demangled as wasm-ld writes it
/// (`core::fmt::write::h…`, `<alloc::vec::Vec<T> as Clone>::clone`, `<&T as core::fmt::Debug>::fmt`
/// is the trait's `core`) or legacy-mangled (`_ZN4core3fmt5write17h…E`); anything else
/// (wasm-bindgen's shims, C) is `other`.
pub fn crate_of(symbol: &str) -> String {
    if let Some(rest) = symbol.strip_prefix("_ZN") {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let first = rest[..digits].parse::<usize>().ok().and_then(|len| {
            rest.get(digits..digits + len)
                .or_else(|| rest.get(digits..))
        });
        let Some(first) = first else {
            return "other".into();
        };
        // `_$LT$$RF$mut$u20$serde_json..de..Deserializer…` is `<&mut serde_json::de::…`.
        let mut first = first;
        while let Some(rest) = ["_", "$LT$", "$RF$", "$BP$", "mut$u20$", "dyn$u20$"]
            .iter()
            .find_map(|p| first.strip_prefix(p))
        {
            first = rest;
        }
        let end = first
            .find("..")
            .or_else(|| first.find('$'))
            .unwrap_or(first.len());
        return match &first[..end] {
            "" => "other".into(),
            name => name.to_owned(),
        };
    }
    if let Some(rest) = symbol.strip_prefix("_R") {
        // v0 mangling: the first crate root is `Cs<disambiguator>_<length><name>`.
        let name = rest.find("Cs").and_then(|at| {
            let after = &rest[at + 2..];
            let after = &after[after.find('_')? + 1..];
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            let len: usize = after[..digits].parse().ok()?;
            after.get(digits..digits + len)
        });
        return name.map_or_else(|| "other".into(), str::to_owned);
    }
    let path = symbol.trim_start_matches(['<', '&']);
    let Some((first, _)) = path.split_once("::") else {
        return "other".into();
    };
    // `T as core` (a generic impl of a trait): the trait's crate.
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
    let sections = sections(bytes)?;
    let imports = match sections.iter().find(|(id, _, _)| *id == 2) {
        Some((_, at, _)) => imported_functions(bytes, *at)?,
        None => 0,
    };
    let mut names = std::collections::HashMap::new();
    for &(id, at, size) in &sections {
        if id != 0 {
            continue;
        }
        let mut p = at;
        if name_at(bytes, &mut p)? != "name" {
            continue;
        }
        while p < at + size {
            let sub = *bytes.get(p)?;
            p += 1;
            let len = usize::try_from(leb128(bytes, &mut p)?).ok()?;
            let end = p + len;
            if sub == 1 {
                let mut q = p;
                let count = leb128(bytes, &mut q)?;
                for _ in 0..count {
                    let index = leb128(bytes, &mut q)?;
                    names.insert(index, name_at(bytes, &mut q)?);
                }
            }
            p = end;
        }
    }
    let &(_, code_at, _) = sections.iter().find(|(id, _, _)| *id == 10)?;
    let mut p = code_at;
    let count = leb128(bytes, &mut p)?;
    let mut sums: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for i in 0..count {
        let start = p;
        let len = leb128(bytes, &mut p)?;
        p += usize::try_from(len).ok()?;
        let krate = names
            .get(&(u64::from(imports) + i))
            .map_or_else(|| "other".to_owned(), |n| crate_of(n));
        *sums.entry(krate).or_default() += (p - start) as u64;
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
        // type section, 4 bytes
        module.extend([1, 4, 1, 0x60, 0, 0]);
        // a custom section "name" with 3 more bytes
        module.extend([0, 8, 4, b'n', b'a', b'm', b'e', 1, 2, 3]);
        // code section, 200 bytes (a two-byte LEB128 size)
        module.extend([10, 0xc8, 0x01]);
        module.extend(std::iter::repeat_n(0u8, 200));
        assert_eq!(
            wasm_sections(&module),
            Some(vec![
                ("type".to_owned(), 4),
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
            crate_of("_ZN50_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$x$GT$5clone17hE"),
            "alloc"
        );
        assert_eq!(crate_of("_ZN6leptos4view17hE"), "leptos");
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
            crate_of("_ZN98_$LT$$RF$mut$u20$serde_json..de..Deserializer$LT$R$GT$$u20$as$u20$x"),
            "serde_json"
        );
        assert_eq!(crate_of("_RNvNtNtCsgXGp5Oqx2Ny_4core3num7flt2dec"), "core");
        assert_eq!(
            crate_of("_RNvMs0_NtCsjqx8TIyZbP9_8dlmalloc8dlmallocINtB5_8Dlmalloc"),
            "dlmalloc"
        );
    }

    #[test]
    fn code_is_attributed_to_crates_by_the_name_section() {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // import section: one function import "m"."f" (type 0)
        m.extend([2, 7, 1, 1, b'm', 1, b'f', 0, 0]);
        // code section: two bodies of 3 and 5 bytes (plus their size bytes)
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
            Some(vec![("leptos".to_owned(), 6), ("core".to_owned(), 4)])
        );
    }
}
