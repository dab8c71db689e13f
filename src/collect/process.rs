//! Process statistics from /proc, as `ps` reports them (and CPU use over a window, which
//! `ps` cannot give: its %CPU is CPU time over the whole uptime).

use std::path::Path;

/// Clock ticks per second of /proc's CPU times: USER_HZ, 100 on every mainstream Linux
/// architecture (the kernel converts to it whatever its internal HZ).
const USER_HZ: f64 = 100.0;

/// A process's figures at one moment, read from /proc.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The process id read.
    pub pid: u32,
    /// utime + stime, in seconds.
    pub cpu_seconds: f64,
    /// Seconds since the process started.
    pub uptime_seconds: f64,
    /// Resident set size in bytes (`VmRSS`; 0 when /proc/PID/status does not give it).
    pub rss_bytes: u64,
    /// Virtual memory size in bytes (`VmSize`; 0 when not given).
    pub vsz_bytes: u64,
    /// Threads of the process (`Threads`; 0 when not given).
    pub threads: u32,
    /// The command line, arguments joined with spaces; empty when /proc/PID/cmdline is
    /// empty or unreadable.
    pub command: String,
    /// CPUs the process may run on (`Cpus_allowed_list` of /proc/PID/status); `None` when
    /// not given.
    pub cpus_allowed: Option<u32>,
    /// The CPU quota of the process's cgroup in cores (`cpu.max` on cgroup v2,
    /// `cpu.cfs_quota_us` ÷ `cpu.cfs_period_us` on v1; the smallest along the path to the
    /// root); `None` when unlimited or unreadable.
    pub cpu_quota: Option<f64>,
}

/// A process that cannot be read: gone, or its /proc files unreadable or not as expected.
#[derive(Debug, thiserror::Error)]
#[error("process {pid}: {what}")]
pub struct ProcessError {
    /// The process id.
    pub pid: u32,
    /// What went wrong, in words (`no such process`, `cannot read /proc/42/stat: …`).
    pub what: String,
}

/// Reads /proc/PID/{stat,status,cmdline,cgroup}, /proc/uptime and the cgroup's CPU quota
/// under /sys/fs/cgroup.
pub fn snapshot(pid: u32) -> Result<Snapshot, ProcessError> {
    snapshot_in(Path::new("/proc"), Path::new("/sys/fs/cgroup"), pid)
}

fn snapshot_in(proc_root: &Path, cgroup_root: &Path, pid: u32) -> Result<Snapshot, ProcessError> {
    let fail = |what: String| ProcessError { pid, what };
    let read = |name: &str| {
        std::fs::read_to_string(proc_root.join(pid.to_string()).join(name)).map_err(|e| {
            fail(match e.kind() {
                std::io::ErrorKind::NotFound => "no such process".to_string(),
                _ => format!(
                    "cannot read /proc/{pid}/{name}: {}",
                    crate::text::describe_io(&e)
                ),
            })
        })
    };
    let stat = read("stat")?;
    let status = read("status")?;
    let cmdline = read("cmdline").unwrap_or_default();
    let system_uptime = std::fs::read_to_string(proc_root.join("uptime"))
        .map_err(|e| fail(format!("cannot read /proc/uptime: {e}")))?;
    let system_uptime: f64 = system_uptime
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| fail("unreadable /proc/uptime".to_string()))?;

    // The command name in parentheses may contain spaces and parentheses: fields start after
    // the last ')'.
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| fail("unreadable stat".to_string()))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state(3) ppid(4) … utime(14) stime(15) … starttime(22); index = n - 3.
    let field = |n: usize| -> Result<f64, ProcessError> {
        fields
            .get(n - 3)
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| fail(format!("stat field {n} missing")))
    };
    let cpu_seconds = (field(14)? + field(15)?) / USER_HZ;
    let start_seconds = field(22)? / USER_HZ;

    let status_kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let command = cmdline
        .split('\0')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Snapshot {
        pid,
        cpu_seconds,
        uptime_seconds: (system_uptime - start_seconds).max(0.0),
        rss_bytes: status_kib("VmRSS:") * 1024,
        vsz_bytes: status_kib("VmSize:") * 1024,
        threads: status_kib("Threads:") as u32,
        command,
        cpus_allowed: status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .and_then(|list| count_cpus(list.trim())),
        cpu_quota: std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup"))
            .ok()
            .and_then(|cgroups| cpu_quota(cgroup_root, &cgroups)),
    })
}

/// What the process's Go runtime is told about GOMAXPROCS: the toolchain that built it and
/// the settings that decide its GOMAXPROCS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoSettings {
    /// The Go version the executable was built with (`go1.24.3`), from its build
    /// information; `None` for a binary that is not Go, or from before Go 1.18.
    pub go_version: Option<String>,
    /// `GOMAXPROCS` of the process's environment, when set to a number above 0.
    pub gomaxprocs: Option<u32>,
    /// The GODEBUG settings that decide GOMAXPROCS (`containermaxprocs`, `updatemaxprocs`)
    /// in effect: the build's `DefaultGODEBUG`, overridden by the environment's `GODEBUG`
    /// (`containermaxprocs=0`); empty when neither sets them.
    pub godebug: String,
}

/// The GODEBUG keys that decide GOMAXPROCS (Go 1.25+).
const MAXPROCS_GODEBUG: [&str; 2] = ["containermaxprocs", "updatemaxprocs"];

/// Reads the build information of /proc/PID/exe and the GOMAXPROCS and GODEBUG variables
/// of /proc/PID/environ; what cannot be read is left out (another user's process hides its
/// environment).
pub fn go_settings(pid: u32) -> GoSettings {
    go_settings_in(Path::new("/proc"), pid)
}

fn go_settings_in(proc_root: &Path, pid: u32) -> GoSettings {
    let dir = proc_root.join(pid.to_string());
    let build = super::buildinfo::read(&dir.join("exe"));
    let environ = std::fs::read(dir.join("environ")).unwrap_or_default();
    let env = |key: &str| -> Option<String> {
        environ.split(|&b| b == 0).find_map(|kv| {
            let kv = std::str::from_utf8(kv).ok()?;
            kv.strip_prefix(key)?.strip_prefix('=').map(str::to_string)
        })
    };
    let env_godebug = env("GODEBUG").unwrap_or_default();
    let default_godebug = build
        .as_ref()
        .map(|b| b.default_godebug.as_str())
        .unwrap_or_default();
    let godebug = MAXPROCS_GODEBUG
        .iter()
        .filter_map(|key| {
            crate::context::godebug_value(&env_godebug, key)
                .or_else(|| crate::context::godebug_value(default_godebug, key))
                .map(|value| format!("{key}={value}"))
        })
        .collect::<Vec<_>>()
        .join(",");
    GoSettings {
        go_version: build.map(|b| b.go_version),
        gomaxprocs: env("GOMAXPROCS")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|&n| n > 0),
        godebug,
    }
}

/// CPUs in a list such as `0-3,8,10-11` (12 → 7); `None` when it does not read.
fn count_cpus(list: &str) -> Option<u32> {
    let mut count = 0u32;
    for part in list.split(',').filter(|p| !p.is_empty()) {
        count += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                b.checked_sub(a)? + 1
            }
            None => {
                part.parse::<u32>().ok()?;
                1
            }
        };
    }
    (count > 0).then_some(count)
}

/// The CPU quota in cores of the cgroup named in /proc/PID/cgroup: the smallest limit from
/// the process's own group up to the root (a parent's limit binds its children too).
fn cpu_quota(cgroup_root: &Path, cgroups: &str) -> Option<f64> {
    let mut limits = Vec::new();
    for line in cgroups.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            // cgroup v2: one hierarchy, cpu.max reads `max 100000` or `150000 100000`.
            for dir in ancestors(&cgroup_root.join(relative), cgroup_root) {
                let text = std::fs::read_to_string(dir.join("cpu.max")).ok();
                limits.extend(text.and_then(|t| {
                    let mut f = t.split_whitespace();
                    let quota: f64 = f.next()?.parse().ok()?;
                    let period: f64 = f.next()?.parse().ok()?;
                    (quota > 0.0 && period > 0.0).then(|| quota / period)
                }));
            }
        } else if controllers.split(',').any(|c| c == "cpu") {
            // cgroup v1: the cpu controller's own hierarchy; a quota of -1 is unlimited.
            let mount = cgroup_root.join(controllers);
            let mount = if mount.exists() {
                mount
            } else {
                cgroup_root.join("cpu")
            };
            for dir in ancestors(&mount.join(relative), &mount) {
                let read = |name: &str| -> Option<f64> {
                    std::fs::read_to_string(dir.join(name))
                        .ok()?
                        .trim()
                        .parse()
                        .ok()
                };
                if let (Some(quota), Some(period)) =
                    (read("cpu.cfs_quota_us"), read("cpu.cfs_period_us"))
                    && quota > 0.0
                    && period > 0.0
                {
                    limits.push(quota / period);
                }
            }
        }
    }
    limits.into_iter().reduce(f64::min)
}

/// `dir` and its parents up to `root`, `dir` first.
fn ancestors<'a>(dir: &'a Path, root: &'a Path) -> impl Iterator<Item = &'a Path> + 'a {
    dir.ancestors().take_while(move |d| d.starts_with(root))
}

/// CPU use between two snapshots, in percent of one core.
pub fn cpu_percent_between(start: &Snapshot, end: &Snapshot, wall_seconds: f64) -> Option<f64> {
    (wall_seconds > 0.0).then(|| (end.cpu_seconds - start.cpu_seconds) / wall_seconds * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_proc_tree() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("42");
        std::fs::create_dir(&dir).unwrap();
        // utime 30000 ticks, stime 17000 ticks (470 s), started at 1000 s of system uptime.
        let mut stat = String::from("42 (my (weird) proc) S 1 42 42 0 -1 4194560 0 0 0 0 ");
        stat.push_str("30000 17000 0 0 20 0 12 0 100000 15049596928 702060");
        std::fs::write(dir.join("stat"), stat).unwrap();
        std::fs::write(
            dir.join("status"),
            "Name:\tx\nVmSize:\t14696872 kB\nVmRSS:\t 2808240 kB\nThreads:\t12\n",
        )
        .unwrap();
        std::fs::write(dir.join("cmdline"), "/bin/tsnsrv\0-config=x\0").unwrap();
        std::fs::write(root.path().join("uptime"), "1470.00 2000.00\n").unwrap();
        let s = snapshot_in(root.path(), &root.path().join("no-cgroups"), 42).unwrap();
        assert_eq!(s.cpu_seconds, 470.0);
        assert_eq!(s.uptime_seconds, 470.0);
        assert_eq!(s.rss_bytes, 2_808_240 * 1024);
        assert_eq!(s.vsz_bytes, 14_696_872 * 1024);
        assert_eq!(s.threads, 12);
        assert_eq!(s.command, "/bin/tsnsrv -config=x");
        let later = Snapshot {
            cpu_seconds: 470.0 + 73.2,
            ..s.clone()
        };
        assert_eq!(
            cpu_percent_between(&s, &later, 60.0).map(|p| (p * 100.0).round() / 100.0),
            Some(122.0)
        );
    }

    #[test]
    fn go_settings_from_exe_and_environ() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("42");
        std::fs::create_dir(&dir).unwrap();
        let mut exe = vec![0u8; 64];
        exe.extend(b"\xff Go buildinf:\x08\x02");
        exe.resize(64 + 32, 0);
        let modinfo = "build\tDefaultGODEBUG=containermaxprocs=0,panicnil=1\n";
        for s in ["go1.25.1", modinfo] {
            exe.push(s.len() as u8);
            exe.extend(s.as_bytes());
        }
        std::fs::write(dir.join("exe"), &exe).unwrap();
        std::fs::write(
            dir.join("environ"),
            "HOME=/root\0GOMAXPROCS=8\0GODEBUG=updatemaxprocs=0\0",
        )
        .unwrap();
        let go = go_settings_in(root.path(), 42);
        assert_eq!(go.go_version.as_deref(), Some("go1.25.1"));
        assert_eq!(go.gomaxprocs, Some(8));
        assert_eq!(go.godebug, "containermaxprocs=0,updatemaxprocs=0");
        std::fs::write(
            dir.join("environ"),
            "GOMAXPROCS=x\0GODEBUG=containermaxprocs=1\0",
        )
        .unwrap();
        let go = go_settings_in(root.path(), 42);
        assert_eq!(go.gomaxprocs, None);
        assert_eq!(go.godebug, "containermaxprocs=1");
        assert_eq!(go_settings_in(root.path(), 7), GoSettings::default());
    }

    #[test]
    fn a_missing_process_is_named() {
        let root = tempfile::tempdir().unwrap();
        let error = snapshot_in(root.path(), root.path(), 7).unwrap_err();
        assert_eq!(error.to_string(), "process 7: no such process");
    }

    #[test]
    fn cpu_limits_from_cgroup_v2_and_v1() {
        let root = tempfile::tempdir().unwrap();
        let v2 = root.path().join("v2");
        std::fs::create_dir_all(v2.join("system.slice/app.service")).unwrap();
        std::fs::write(
            v2.join("system.slice/app.service/cpu.max"),
            "150000 100000\n",
        )
        .unwrap();
        // A parent's tighter limit binds; `max` is none.
        std::fs::write(v2.join("system.slice/cpu.max"), "100000 100000\n").unwrap();
        std::fs::write(v2.join("cpu.max"), "max 100000\n").unwrap();
        assert_eq!(cpu_quota(&v2, "0::/system.slice/app.service\n"), Some(1.0));
        assert_eq!(cpu_quota(&v2, "0::/\n"), None);

        let v1 = root.path().join("v1");
        let group = v1.join("cpu,cpuacct/docker/abc");
        std::fs::create_dir_all(&group).unwrap();
        std::fs::write(group.join("cpu.cfs_quota_us"), "250000\n").unwrap();
        std::fs::write(group.join("cpu.cfs_period_us"), "100000\n").unwrap();
        std::fs::write(v1.join("cpu,cpuacct/cpu.cfs_quota_us"), "-1\n").unwrap();
        std::fs::write(v1.join("cpu,cpuacct/cpu.cfs_period_us"), "100000\n").unwrap();
        let cgroups = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n";
        assert_eq!(cpu_quota(&v1, cgroups), Some(2.5));
        assert_eq!(count_cpus("0-3,8,10-11"), Some(7));
        assert_eq!(count_cpus("0"), Some(1));
        assert_eq!(count_cpus("x"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let s = snapshot(std::process::id()).unwrap();
        assert!(s.rss_bytes > 0 && s.threads >= 1);
    }
}
