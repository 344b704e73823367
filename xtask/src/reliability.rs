//! RELIABILITY.md: the sections the long runs write (`## Fuzzing` by `cargo xtask fuzz`,
//! `## Chaos` by `cargo xtask chaos`), each replacing only itself, and the date and machine
//! their figures come from.

use std::process::Command;

use anyhow::{Context as _, Result};

/// The file, at the repository root.
pub const PATH: &str = "RELIABILITY.md";

/// Puts `section` (which starts with its `heading` line) in place of the file's old section
/// of that heading, or after the others when there is none.
pub fn write_section(heading: &str, section: &str) -> Result<()> {
    let old = std::fs::read_to_string(PATH).unwrap_or_default();
    std::fs::write(PATH, replace_section(&old, heading, section))
        .with_context(|| format!("writing {PATH}"))
}

fn replace_section(old: &str, heading: &str, section: &str) -> String {
    if old.trim().is_empty() {
        return format!("# Reliability\n\n{section}");
    }
    let Some(start) = old.find(&format!("\n{heading}\n")).map(|i| i + 1) else {
        return format!("{}\n\n{section}", old.trim_end());
    };
    let after = &old[start + heading.len()..];
    let end = after
        .find("\n## ")
        .map(|i| start + heading.len() + i + 1)
        .unwrap_or(old.len());
    let rest = &old[end..];
    if rest.is_empty() {
        format!("{}{section}", &old[..start])
    } else {
        format!("{}{section}\n{rest}", &old[..start])
    }
}

/// Now, in UTC, to the minute.
pub fn date() -> Result<String> {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .context("running date")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Cores, CPU model and memory, from /proc.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB memory", kib / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown memory".into());
    format!("{cores} cores, {model}, {memory}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_replaces_only_itself() {
        let new = "## Fuzzing\n\nnew\n";
        assert_eq!(
            replace_section("", "## Fuzzing", new),
            "# Reliability\n\n## Fuzzing\n\nnew\n"
        );
        let old = "# Reliability\n\n## Chaos\n\nc\n\n## Fuzzing\n\nold\n\n## Other\n\no\n";
        assert_eq!(
            replace_section(old, "## Fuzzing", new),
            "# Reliability\n\n## Chaos\n\nc\n\n## Fuzzing\n\nnew\n\n## Other\n\no\n"
        );
        let without = "# Reliability\n\n## Chaos\n\nc\n";
        assert_eq!(
            replace_section(without, "## Fuzzing", new),
            "# Reliability\n\n## Chaos\n\nc\n\n## Fuzzing\n\nnew\n"
        );
        let old = "# Reliability\n\n## Fuzzing\n\nfuzz\n\n## Chaos\n\nold\n\n## Later\n\nkept\n";
        assert_eq!(
            replace_section(old, "## Chaos", "## Chaos\n\nnew\n"),
            "# Reliability\n\n## Fuzzing\n\nfuzz\n\n## Chaos\n\nnew\n\n## Later\n\nkept\n"
        );
        // A heading's words elsewhere in the text are not the heading.
        let mention = "# Reliability\n\nSee ## Chaos below.\n";
        assert_eq!(
            replace_section(mention, "## Chaos", "## Chaos\n\nnew\n"),
            "# Reliability\n\nSee ## Chaos below.\n\n## Chaos\n\nnew\n"
        );
    }
}
