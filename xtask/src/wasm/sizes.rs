//! Bundle sizes: raw, gzip and brotli, as a browser would download them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Sizes of one file in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

/// Measures `bytes` compressed at the levels a server would use for static files.
pub fn measure(bytes: &[u8]) -> Result<Sizes> {
    Ok(Sizes {
        raw: bytes.len(),
        gzip: gzip(bytes)?.len(),
        brotli: brotli(bytes)?.len(),
    })
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut br = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        writer.write_all(bytes)?;
    }
    Ok(br)
}

/// Writes `.gz` and `.br` beside every `.wasm` and `.js` under `dir`, so the server sends
/// the best compression without compressing on every request.
pub fn precompress(dir: &Path) -> Result<()> {
    for item in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = item?.path();
        if path.is_dir() {
            precompress(&path)?;
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "wasm" && ext != "js" {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        std::fs::write(path.with_file_name(format!("{name}.gz")), gzip(&bytes)?)?;
        std::fs::write(path.with_file_name(format!("{name}.br")), brotli(&bytes)?)?;
    }
    Ok(())
}

fn kb(n: usize) -> String {
    format!("{:.1} kB", n as f64 / 1000.0)
}

fn file_sizes(path: &Path) -> Result<Sizes> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    measure(&bytes)
}

/// Prints each bundle's wasm and JS glue sizes.
pub fn print(bundles: &[(String, PathBuf, String)]) -> Result<()> {
    crate::step("bundle sizes (raw / gzip / brotli)");
    println!(
        "{:<22} {:<6} {:>10} {:>10} {:>10}",
        "bundle", "file", "raw", "gzip", "brotli"
    );
    for (name, dir, out_name) in bundles {
        for (kind, file) in [
            ("wasm", format!("{out_name}_bg.wasm")),
            ("js", format!("{out_name}.js")),
        ] {
            let s = file_sizes(&dir.join(file))?;
            println!(
                "{:<22} {:<6} {:>10} {:>10} {:>10}",
                name,
                kind,
                kb(s.raw),
                kb(s.gzip),
                kb(s.brotli)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_sizes_are_smaller_for_repetitive_input() {
        let input = b"12st mall ".repeat(1000);
        let s = measure(&input).expect("measure");
        assert_eq!(s.raw, input.len());
        assert!(s.gzip < s.raw / 10, "{s:?}");
        assert!(s.brotli < s.raw / 10, "{s:?}");
    }
}
