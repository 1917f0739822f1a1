//! What a process and every process it started cost, read from Linux's `/proc`: memory as PSS
//! and RSS (`smaps_rollup`), CPU time and context switches. The benchmark measures the idle
//! desktop app with it, WebKit helper processes included.

use std::collections::BTreeMap;
use std::path::Path;

/// One process of a tree, as measured.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    /// `comm`: the first 15 bytes of the program name (`WebKitWebProces`).
    pub name: String,
    /// Proportional set size: shared pages divided among their users, so the sum over processes
    /// is what they cost together.
    pub pss_kib: u64,
    pub rss_kib: u64,
    /// Unique set size: the pages no other process maps (private clean + private dirty), what
    /// ending the process would free whatever else runs.
    pub uss_kib: u64,
    /// The dirty part of the PSS (`Pss_Dirty`, Linux 6.0 and later): written pages (heap,
    /// stacks, relocated data) only ending the process or swap gives back, where clean pages
    /// (a library's code, say) are dropped by the kernel under memory pressure and read back
    /// when used.
    pub pss_dirty_kib: Option<u64>,
}

/// `pid` and all its descendants, parents first.
pub fn tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|child| Some((child, stat_fields(child)?.get(1)?.parse().ok()?)))
                .collect()
        })
        .unwrap_or_default();
    let mut found = vec![pid];
    let mut next = 0;
    while let Some(&parent) = found.get(next) {
        found.extend(
            parents
                .iter()
                .filter(|&&(_, p)| p == parent)
                .map(|&(child, _)| child),
        );
        next += 1;
    }
    found
}

/// `comm` of `pid`: the first 15 bytes of its program name; empty once it ended.
pub fn name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// The WebKit helper processes (`WebKitNetworkProcess`, `WebKitWebProcess`) among `pid`'s
/// descendants, as `(pid, name)`.
pub fn webkit_helpers(pid: u32) -> Vec<(u32, String)> {
    tree(pid)
        .into_iter()
        .skip(1)
        .map(|p| (p, name(p)))
        .filter(|(_, name)| name.starts_with("WebKit"))
        .collect()
}

/// Memory of `pid` and its descendants; processes that end meanwhile are left out.
pub fn memory(pid: u32) -> Vec<Process> {
    tree(pid)
        .into_iter()
        .filter_map(|pid| {
            let proc_dir = Path::new("/proc").join(pid.to_string());
            let rollup = std::fs::read_to_string(proc_dir.join("smaps_rollup")).ok()?;
            let name = std::fs::read_to_string(proc_dir.join("comm")).ok()?;
            Some(Process {
                pid,
                name: name.trim().to_owned(),
                pss_kib: kib(&rollup, "Pss:")?,
                rss_kib: kib(&rollup, "Rss:")?,
                uss_kib: kib(&rollup, "Private_Clean:")?
                    .saturating_add(kib(&rollup, "Private_Dirty:")?),
                pss_dirty_kib: kib(&rollup, "Pss_Dirty:"),
            })
        })
        .collect()
}

/// The files (and `[heap]`, `[anon]`, ...) mapped into `pid` with the most resident memory:
/// `(name, rss_kib, uss_kib)`, largest first, at most `count`.
pub fn largest_mappings(pid: u32, count: usize) -> Vec<(String, u64, u64)> {
    let Ok(smaps) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) else {
        return Vec::new();
    };
    let mut sizes: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut current = String::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        // A mapping's header: "start-end perms offset dev inode [name]".
        if first.contains('-') && !first.ends_with(':') {
            fields.nth(4).unwrap_or("[anon]").clone_into(&mut current);
            continue;
        }
        let value = || {
            fields
                .clone()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let entry = sizes.entry(current.clone()).or_default();
        match first {
            "Rss:" => entry.0 = entry.0.saturating_add(value()),
            "Private_Clean:" | "Private_Dirty:" => entry.1 = entry.1.saturating_add(value()),
            _ => {}
        }
    }
    let mut largest: Vec<(String, u64, u64)> = sizes
        .into_iter()
        .map(|(name, (rss, uss))| (name, rss, uss))
        .collect();
    largest.sort_by_key(|m| std::cmp::Reverse(m.1));
    largest.truncate(count);
    largest
}

/// CPU time (user + system, in clock ticks) the processes of the tree have used so far,
/// threads that ended included.
pub fn cpu_ticks(pid: u32) -> u64 {
    tree(pid)
        .into_iter()
        .filter_map(|pid| {
            let fields = stat_fields(pid)?;
            // After the command: state(0) ppid(1) ... utime(11) stime(12).
            let user: u64 = fields.get(11)?.parse().ok()?;
            let system: u64 = fields.get(12)?.parse().ok()?;
            Some(user.saturating_add(system))
        })
        .fold(0, u64::saturating_add)
}

/// Voluntary and involuntary context switches so far of each live thread of the tree, by
/// thread id: each time a sleeping thread wakes up costs one. Threads that ended are gone from
/// it (see [`switches_between`]).
pub fn context_switches(pid: u32) -> BTreeMap<u32, u64> {
    tree(pid)
        .into_iter()
        .flat_map(|pid| {
            std::fs::read_dir(Path::new("/proc").join(pid.to_string()).join("task"))
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
        })
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            let status = std::fs::read_to_string(task.path().join("status")).ok()?;
            let count = |key| kib(&status, key).unwrap_or(0);
            Some((
                tid,
                count("voluntary_ctxt_switches:")
                    .saturating_add(count("nonvoluntary_ctxt_switches:")),
            ))
        })
        .collect()
}

/// Context switches between two [`context_switches`] samples: those of threads alive at both,
/// plus all of those that started in between; and how many threads ended in between (their
/// last switches are not counted).
pub fn switches_between(before: &BTreeMap<u32, u64>, after: &BTreeMap<u32, u64>) -> (u64, usize) {
    let switches = after
        .iter()
        .map(|(tid, &now)| now.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .fold(0, u64::saturating_add);
    let ended = before.keys().filter(|tid| !after.contains_key(tid)).count();
    (switches, ended)
}

/// The number after `key` on its line (`Pss:    1234 kB`).
fn kib(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The fields of `/proc/<pid>/stat` after the command, which may itself hold spaces and `)`.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')?.saturating_add(1)..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_process_is_part_of_the_tree_and_measured() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep starts");
        let me = std::process::id();
        assert!(tree(me).contains(&child.id()));
        let measured = memory(me);
        let sleep = measured
            .iter()
            .find(|p| p.pid == child.id())
            .expect("the child is measured");
        assert_eq!(sleep.name, "sleep");
        assert!(
            sleep.pss_kib > 0 && sleep.rss_kib >= sleep.pss_kib,
            "{sleep:?}"
        );
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn work_costs_cpu_time() {
        let me = std::process::id();
        let ticks = cpu_ticks(me);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut spins = 0_u64;
        while cpu_ticks(me) == ticks {
            assert!(std::time::Instant::now() < deadline, "no CPU time counted");
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }

    #[test]
    fn a_sleeping_process_has_switched_out() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep starts");
        let none = BTreeMap::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while switches_between(&none, &context_switches(child.id())).0 == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "no context switch counted"
            );
            std::thread::yield_now();
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn switches_of_ended_threads_are_not_taken_back() {
        let before = BTreeMap::from([(1, 10), (2, 50)]);
        let after = BTreeMap::from([(1, 15), (3, 4)]);
        assert_eq!(switches_between(&before, &after), (9, 1));
    }
}
