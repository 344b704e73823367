//! RELIABILITY.md: the sections the long runs write (`## Fuzzing` by `cargo xtask fuzz`,
//! `## Chaos` by `cargo xtask chaos`), each replacing only itself, and the date and machine
//! their figures come from. A section may hold subsections (`### Schemathesis` and
//! `### cargo-fuzz` under `## Fuzzing`) that are written apart, each replacing only itself.

use std::process::Command;

use anyhow::{Context as _, Result};

/// The file, at the repository root.
pub const PATH: &str = "RELIABILITY.md";

/// Puts `section` (which starts with its `heading` line) in place of the file's old section
/// of that heading, or after the others when there is none.
pub fn write_section(heading: &str, section: &str) -> Result<()> {
    rewrite(|old| replace_section(old, heading, section))
}

/// Puts `subsection` (which starts with its `heading` line, `### …`) in place of the old
/// one inside the section `parent` (`## …`), or at the end of that section when it has none;
/// makes the section when the file has none.
pub fn write_subsection(parent: &str, heading: &str, subsection: &str) -> Result<()> {
    rewrite(|old| replace_subsection(old, parent, heading, subsection))
}

/// Writes the file as `change` makes it from its text (empty when there is no file yet).
fn rewrite(change: impl FnOnce(&str) -> String) -> Result<()> {
    let old = std::fs::read_to_string(PATH).unwrap_or_default();
    std::fs::write(PATH, change(&old)).with_context(|| format!("writing {PATH}"))
}

fn replace_subsection(old: &str, parent: &str, heading: &str, subsection: &str) -> String {
    let section = match section_range(old, parent) {
        Some((start, end)) => {
            let inner = old[start..end].trim_end();
            let body = replace_in(inner, heading, subsection);
            format!("{}\n", body.trim_end())
        }
        None => format!("{parent}\n\n{subsection}"),
    };
    replace_section(old, parent, &section)
}

fn replace_section(old: &str, heading: &str, section: &str) -> String {
    if old.trim().is_empty() {
        return format!("# Reliability\n\n{section}");
    }
    replace_in(old, heading, section)
}

/// `old` with the part under `heading` replaced by `section` (appended when missing).
fn replace_in(old: &str, heading: &str, section: &str) -> String {
    let Some((start, end)) = section_range(old, heading) else {
        return format!("{}\n\n{section}", old.trim_end());
    };
    let rest = &old[end..];
    if rest.is_empty() {
        format!("{}{section}", &old[..start])
    } else {
        format!("{}{section}\n{rest}", &old[..start])
    }
}

/// Where the part under `heading` starts (its heading line) and ends (the next heading of
/// its level or above, or the end of the text).
fn section_range(text: &str, heading: &str) -> Option<(usize, usize)> {
    let start = if text.starts_with(&format!("{heading}\n")) {
        0
    } else {
        text.find(&format!("\n{heading}\n"))? + 1
    };
    let level = heading.chars().take_while(|c| *c == '#').count();
    let body = start + heading.len();
    let end = text[body..]
        .match_indices("\n#")
        .map(|(i, _)| body + i + 1)
        .find(|&at| {
            let hashes = text[at..].chars().take_while(|c| *c == '#').count();
            hashes <= level && text[at + hashes..].starts_with(' ')
        })
        .unwrap_or(text.len());
    Some((start, end))
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
        // A subsection ends its section no earlier than the next section.
        let nested = "# Reliability\n\n## Fuzzing\n\nintro\n\n### A\n\na\n\n## Chaos\n\nc\n";
        assert_eq!(
            replace_section(nested, "## Fuzzing", new),
            "# Reliability\n\n## Fuzzing\n\nnew\n\n## Chaos\n\nc\n"
        );
        // A heading's words elsewhere in the text are not the heading.
        let mention = "# Reliability\n\nSee ## Chaos below.\n";
        assert_eq!(
            replace_section(mention, "## Chaos", "## Chaos\n\nnew\n"),
            "# Reliability\n\nSee ## Chaos below.\n\n## Chaos\n\nnew\n"
        );
    }

    #[test]
    fn a_subsection_replaces_only_itself() {
        let old = "# Reliability\n\n## Fuzzing\n\nintro\n\n### Schemathesis\n\ns\n\n\
                   ### cargo-fuzz\n\nold\n\n## Chaos\n\nc\n";
        assert_eq!(
            replace_subsection(
                old,
                "## Fuzzing",
                "### cargo-fuzz",
                "### cargo-fuzz\n\nnew\n"
            ),
            "# Reliability\n\n## Fuzzing\n\nintro\n\n### Schemathesis\n\ns\n\n\
             ### cargo-fuzz\n\nnew\n\n## Chaos\n\nc\n"
        );
        assert_eq!(
            replace_subsection(
                old,
                "## Fuzzing",
                "### Schemathesis",
                "### Schemathesis\n\nnew\n"
            ),
            "# Reliability\n\n## Fuzzing\n\nintro\n\n### Schemathesis\n\nnew\n\n\
             ### cargo-fuzz\n\nold\n\n## Chaos\n\nc\n"
        );
        // Missing: at the end of its section, or a new section at the end of the file.
        let without = "# Reliability\n\n## Fuzzing\n\nintro\n\n## Chaos\n\nc\n";
        assert_eq!(
            replace_subsection(
                without,
                "## Fuzzing",
                "### cargo-fuzz",
                "### cargo-fuzz\n\nnew\n"
            ),
            "# Reliability\n\n## Fuzzing\n\nintro\n\n### cargo-fuzz\n\nnew\n\n## Chaos\n\nc\n"
        );
        assert_eq!(
            replace_subsection(
                "# Reliability\n\n## Chaos\n\nc\n",
                "## Fuzzing",
                "### cargo-fuzz",
                "### cargo-fuzz\n\nnew\n"
            ),
            "# Reliability\n\n## Chaos\n\nc\n\n## Fuzzing\n\n### cargo-fuzz\n\nnew\n"
        );
    }
}
