//! What the numbers came from: CPUs, CPU model, memory, the disk under the scratch
//! directory, and the load average (other work on a shared machine shows there).

use std::path::Path;

fn first_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

/// The 1, 5 and 15 minute load averages.
pub(crate) fn loadavg() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The mount (device, file system, mount point) holding `path`: the longest mount point that
/// is a prefix of it.
fn mount_of(path: &Path) -> Option<(String, String, String)> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((
                f.next()?.to_owned(),
                f.next()?.to_owned(),
                f.next()?.to_owned(),
            ))
        })
        .filter(|(_, point, _)| path.starts_with(point))
        .max_by_key(|(_, point, _)| point.len())
        .map(|(dev, point, fs)| (dev, fs, point))
}

/// `key: value` lines describing this machine.
pub(crate) fn describe(scratch: &Path) -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = first_field(&meminfo, "MemTotal")
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
        );
    let disk = mount_of(scratch).map_or_else(
        || "unknown".to_owned(),
        |(dev, fs, point)| format!("{dev} ({fs}) mounted at {point}"),
    );
    vec![
        ("cpus", cpus.to_string()),
        (
            "cpu_model",
            first_field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
        ),
        ("memory", memory),
        ("disk", disk),
        ("sqlite", rusqlite::version().to_owned()),
    ]
}
