//! What the numbers were measured on, and what a process costs: the machine line (cores, CPU
//! model, memory) and a process's CPU time and resident memory, all read from /proc.

use std::time::Duration;

/// The machine a run happened on.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub mem_total_kib: u64,
    /// The 1-minute load average when the run started (other work on the machine).
    pub load_at_start: f64,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let (cores, cpu_model) = parse_cpuinfo(&cpuinfo);
        Machine {
            cores: if cores == 0 {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                cores
            },
            cpu_model,
            mem_total_kib: parse_kib_field(&meminfo, "MemTotal").unwrap_or(0),
            load_at_start: parse_loadavg(&loadavg).unwrap_or(0.0),
        }
    }

    /// One line: `2 cores, Intel(R) Xeon(R) …, 23.5 GiB memory, load 0.42 at start`.
    pub fn line(&self) -> String {
        format!(
            "{} cores, {}, {:.1} GiB memory, load average {:.2} at start",
            self.cores,
            self.cpu_model,
            self.mem_total_kib as f64 / (1024.0 * 1024.0),
            self.load_at_start
        )
    }
}

/// Number of processors and the first model name in /proc/cpuinfo.
pub fn parse_cpuinfo(text: &str) -> (usize, String) {
    let mut cores = 0;
    let mut model = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "processor" => cores += 1,
            "model name" if model.is_none() => model = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    (cores, model.unwrap_or_else(|| "unknown CPU".into()))
}

/// A `Name:   1234 kB` field of /proc/meminfo or /proc/<pid>/status, in KiB.
pub fn parse_kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if key.trim() != name {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

pub fn parse_loadavg(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// utime + stime (in clock ticks) from the text of /proc/<pid>/stat. The command name (field
/// 2) may hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_stat_ticks(text: &str) -> Option<u64> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
pub fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// A process observed through /proc.
#[derive(Debug, Clone, Copy)]
pub struct Proc {
    pub pid: u32,
    ticks_per_second: u64,
}

impl Proc {
    pub fn new(pid: u32) -> Proc {
        Proc {
            pid,
            ticks_per_second: clock_ticks(),
        }
    }

    /// CPU time (user + system, every thread) used so far.
    pub fn cpu_time(&self) -> Option<Duration> {
        let text = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        let ticks = parse_stat_ticks(&text)?;
        Some(Duration::from_secs_f64(
            ticks as f64 / self.ticks_per_second as f64,
        ))
    }

    /// Resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        parse_kib_field(&text, "VmRSS")
    }

    /// Peak resident memory (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        parse_kib_field(&text, "VmHWM")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_counts_processors_and_takes_the_model() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n\n\
                    processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(parse_cpuinfo(text), (2, "AMD EPYC 7B13".to_owned()));
        assert_eq!(parse_cpuinfo(""), (0, "unknown CPU".to_owned()));
    }

    #[test]
    fn kib_fields_are_read_by_name() {
        let status = "Name:\tmall\nVmHWM:\t   20480 kB\nVmRSS:\t   12345 kB\n";
        assert_eq!(parse_kib_field(status, "VmRSS"), Some(12345));
        assert_eq!(parse_kib_field(status, "VmHWM"), Some(20480));
        assert_eq!(parse_kib_field(status, "VmSwap"), None);
        assert_eq!(
            parse_kib_field("MemTotal:       24684544 kB\n", "MemTotal"),
            Some(24684544)
        );
    }

    #[test]
    fn stat_ticks_survive_odd_command_names() {
        let stat = "4242 (mall (bff) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    150 25 0 0 20 0 8 0 12345 100000 2000 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(175));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn loadavg_takes_the_one_minute_figure() {
        assert_eq!(parse_loadavg("1.25 0.80 0.50 2/300 4242\n"), Some(1.25));
    }
}
