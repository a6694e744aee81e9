//! Machine metrics for heartbeats, from `/proc` where it exists (Linux): CPU use since the
//! previous sample, memory in use, the load average. Elsewhere the fields are left out.

use serde_json::{Map, Value as Json, json};

/// CPU time counters of `/proc/stat`'s first line: (busy, total) in clock ticks.
fn cpu_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    if ticks.len() < 4 {
        return None;
    }
    // user nice system idle iowait …: idle and iowait are the time not spent working.
    let idle = ticks[3] + ticks.get(4).copied().unwrap_or(0);
    let total: u64 = ticks.iter().sum();
    Some((total.saturating_sub(idle), total))
}

/// (used, total) MiB from `/proc/meminfo`.
fn memory_mb(meminfo: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse::<u64>()
            .ok()
    };
    let (total_kb, available_kb) = (field("MemTotal:")?, field("MemAvailable:")?);
    Some((
        total_kb.saturating_sub(available_kb) / 1024,
        total_kb / 1024,
    ))
}

/// Samples CPU use between calls (the first call reports use since boot).
#[derive(Debug, Default)]
pub(crate) struct Sampler {
    last_cpu: Option<(u64, u64)>,
}

impl Sampler {
    /// The metrics object of a heartbeat; `running` is the number of agents running now.
    pub(crate) fn sample(&mut self, running: usize) -> Json {
        let mut m = Map::new();
        m.insert("running_runs".into(), json!(running));
        if let Some(now) = read("/proc/stat").as_deref().and_then(cpu_ticks) {
            let (busy0, total0) = self.last_cpu.unwrap_or((0, 0));
            let (busy, total) = (now.0.saturating_sub(busy0), now.1.saturating_sub(total0));
            if total > 0 {
                // Two decimals are all a dashboard shows.
                let cpu = (busy as f64 / total as f64 * 100.0).round() / 100.0;
                m.insert("cpu".into(), json!(cpu));
            }
            self.last_cpu = Some(now);
        }
        if let Some((used, total)) = read("/proc/meminfo").as_deref().and_then(memory_mb) {
            m.insert("mem_mb".into(), json!(used));
            m.insert("mem_total_mb".into(), json!(total));
        }
        if let Some(load) = read("/proc/loadavg")
            .as_deref()
            .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        {
            m.insert("load1".into(), json!(load));
        }
        Json::Object(m)
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_and_meminfo() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(cpu_ticks(stat), Some((150, 1000)));
        assert_eq!(cpu_ticks("intr 1 2"), None);
        let meminfo = "MemTotal:       16384000 kB\nMemFree: 1 kB\nMemAvailable:    8192000 kB\n";
        assert_eq!(memory_mb(meminfo), Some((8000, 16000)));
        assert_eq!(memory_mb("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn a_sample_is_an_object_with_the_running_count() {
        let mut s = Sampler::default();
        let m = s.sample(2);
        assert_eq!(m["running_runs"], 2);
        if std::path::Path::new("/proc/meminfo").exists() {
            assert!(m["mem_total_mb"].as_u64().is_some_and(|t| t > 0), "{m}");
            let cpu = s.sample(0)["cpu"].as_f64().unwrap_or(0.0);
            assert!((0.0..=1.0).contains(&cpu), "{cpu}");
        }
    }
}
