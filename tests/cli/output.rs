//! Where outputs go and how they are replaced: a failed `report`, `compare` or `trend` leaves
//! the previous report, its HTML or JSON and its flame graph folder byte for byte; a new
//! report leaves no flame graph of an older one behind; names that would clash or land
//! outside the output folder are refused in one line, before anything is written.

use crate::common;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

const SET_3SVC: &str = "fixtures/profiles/fixture-3svc-20261125-120000";
const SET_6SVC: &str = "fixtures/profiles/fixture-6svc-20261125-121500";

/// A temporary folder where `fixtures` points at the repository's.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(common::root().join("fixtures"), dir.path().join("fixtures"))
        .unwrap();
    dir
}

fn run_ok(args: &[&str], dir: &Path) {
    let (code, _, stderr) = common::run(args, dir);
    assert_eq!(code, 0, "pprof-report {args:?}: {stderr}");
}

/// Runs a command that must fail with exit status 1 and a one-line error containing `what`.
fn run_fails(args: &[&str], dir: &Path, what: &str) {
    let (code, stdout, stderr) = common::run(args, dir);
    assert_eq!(code, 1, "pprof-report {args:?}: {stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(what),
        "{stderr}"
    );
}

/// Every file and folder below a folder, with the files' bytes (`None` for a folder).
type Snapshot = Vec<(PathBuf, Option<Vec<u8>>)>;

/// Every file and folder below `dir`, with the files' bytes, sorted.
fn snapshot(dir: &Path) -> Snapshot {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                out.push((relative, None));
                stack.push(path);
            } else {
                out.push((relative, Some(std::fs::read(&path).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// A template folder whose `name` does not parse.
fn broken_templates(dir: &Path, name: &str) -> String {
    let folder = format!("broken-{name}");
    std::fs::create_dir_all(dir.join(&folder)).unwrap();
    std::fs::write(dir.join(&folder).join(name), "{{ nope }\n").unwrap();
    folder
}

#[test]
fn a_failed_report_leaves_the_previous_one_and_its_flame_graphs_intact() {
    let ws = workspace();
    let dir = ws.path();
    run_ok(&["report", SET_3SVC, "--out", "out/r.md", "--html"], dir);
    run_ok(
        &[
            "report",
            SET_3SVC,
            "--out",
            "out/r.json",
            "--format",
            "json",
        ],
        dir,
    );
    let out = dir.join("out");
    let before = snapshot(&out);
    assert!(before.iter().any(|(p, _)| p == Path::new("r/cpu.svg")));

    // A template error: nothing rendered, nothing written.
    let templates = broken_templates(dir, "cpu.md.j2");
    run_fails(
        &[
            "report",
            SET_6SVC,
            "--templates",
            &templates,
            "--out",
            "out/r.md",
            "--html",
        ],
        dir,
        "cpu.md.j2",
    );
    assert_eq!(snapshot(&out), before, "after a template error");

    // A member that does not decode, for the Markdown and for the JSON.
    let bad = dir.join("bad");
    std::fs::create_dir(&bad).unwrap();
    for entry in std::fs::read_dir(common::root().join("fixtures/profiles")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with("fixture-6svc") {
            std::fs::copy(&path, bad.join(&name)).unwrap();
        }
    }
    std::fs::write(
        bad.join("fixture-6svc-20261125-121500-heap.prof"),
        b"\x0a\xff\xff\xff",
    )
    .unwrap();
    let set = "bad/fixture-6svc-20261125-121500";
    run_fails(
        &["report", set, "--out", "out/r.md", "--html"],
        dir,
        "heap.prof",
    );
    run_fails(
        &["report", set, "--out", "out/r.json", "--format", "json"],
        dir,
        "heap.prof",
    );
    assert_eq!(snapshot(&out), before, "after an unreadable member");

    // A write that fails while the new report is put in place (its HTML page's name is taken
    // by a folder): the new flame graphs were already in place, and are taken back.
    std::fs::remove_file(out.join("r.html")).unwrap();
    std::fs::create_dir(out.join("r.html")).unwrap();
    let before = snapshot(&out);
    run_fails(
        &["report", SET_6SVC, "--out", "out/r.md", "--html"],
        dir,
        "out/r.html: is a directory",
    );
    assert_eq!(snapshot(&out), before, "after a failed rename");
    // Only the files the report writes are ever there: no temporary file is left.
    assert!(
        snapshot(&out)
            .iter()
            .all(|(p, _)| !p.to_string_lossy().contains(".pprof-report-"))
    );

    // A flame graph folder that holds something else is not replaced.
    std::fs::remove_dir(out.join("r.html")).unwrap();
    std::fs::write(out.join("r/notes.txt"), "mine").unwrap();
    let before = snapshot(&out);
    run_fails(
        &["report", SET_6SVC, "--out", "out/r.md", "--html"],
        dir,
        "something else than flame graphs",
    );
    assert_eq!(snapshot(&out), before, "a folder that is not ours");
}

#[test]
fn a_new_report_leaves_no_flame_graph_of_an_older_one() {
    let ws = workspace();
    let dir = ws.path();
    run_ok(
        &[
            "report",
            SET_6SVC,
            "--baseline",
            SET_3SVC,
            "--out",
            "out/r.md",
        ],
        dir,
    );
    assert!(dir.join("out/r/cpu-diff.svg").is_file());
    run_ok(&["report", SET_6SVC, "--out", "out/r.md"], dir);
    // The folder holds exactly the flame graphs the report links to, and its analysis.
    let markdown = std::fs::read_to_string(dir.join("out/r.md")).unwrap();
    let mut linked: Vec<String> = markdown
        .match_indices("](r/")
        .map(|(at, _)| {
            let rest = &markdown[at + 2..];
            rest[..rest.find(')').unwrap()].to_string()
        })
        .collect();
    linked.push("r/analysis.json".to_string());
    linked.sort();
    // A flame graph's image links to its SVG: the same file twice.
    linked.dedup();
    let present: Vec<String> = common::files_below(&dir.join("out/r"))
        .iter()
        .map(|p| format!("r/{}", p.display()))
        .collect();
    assert_eq!(present, linked);
    assert!(!dir.join("out/r/cpu-diff.svg").exists());
}

#[test]
fn failed_comparisons_and_trends_leave_theirs_intact() {
    let ws = workspace();
    let dir = ws.path();
    run_ok(
        &["compare", SET_3SVC, SET_6SVC, "--out", "out/c.md", "--html"],
        dir,
    );
    run_ok(
        &["trend", SET_3SVC, SET_6SVC, "--out", "out/t.md", "--html"],
        dir,
    );
    let out = dir.join("out");
    let before = snapshot(&out);
    assert!(before.iter().any(|(p, _)| p == Path::new("c/cpu-diff.svg")));
    assert!(before.iter().any(|(p, _)| p == Path::new("t/cpu.svg")));
    let templates = broken_templates(dir, "baseline.md.j2");
    run_fails(
        &[
            "compare",
            SET_6SVC,
            SET_3SVC,
            "--templates",
            &templates,
            "--out",
            "out/c.md",
            "--html",
        ],
        dir,
        "baseline.md.j2",
    );
    let templates = broken_templates(dir, "trend.md.j2");
    run_fails(
        &[
            "trend",
            SET_6SVC,
            SET_3SVC,
            "--templates",
            &templates,
            "--out",
            "out/t.md",
            "--html",
        ],
        dir,
        "trend.md.j2",
    );
    assert_eq!(snapshot(&out), before);
}

#[test]
fn outputs_that_would_clash_are_refused_before_anything_is_written() {
    let ws = workspace();
    let dir = ws.path();
    // No extension: the report and its flame graph folder would both be `out/r`.
    run_fails(
        &["report", SET_3SVC, "--out", "out/r"],
        dir,
        "would have the same name",
    );
    // The HTML page would be the report itself.
    run_fails(
        &["report", SET_3SVC, "--out", "out/r.html", "--html"],
        dir,
        "would be the same file",
    );
    // A file where the flame graph folder goes.
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("out/x"), "mine").unwrap();
    run_fails(
        &["report", SET_3SVC, "--out", "out/x.md"],
        dir,
        "out/x: exists and is not a folder",
    );
    assert_eq!(
        snapshot(&dir.join("out")),
        [(PathBuf::from("x"), Some(b"mine".to_vec()))]
    );
}

#[test]
fn report_all_refuses_two_sets_that_would_share_a_report() {
    let ws = workspace();
    let dir = ws.path();
    let sets = dir.join("sets");
    std::fs::create_dir(&sets).unwrap();
    let cpu = common::root().join(format!("{SET_3SVC}-cpu.prof"));
    // `:` and `?` both become `_` in a file name.
    for host in ["a:b", "a?b"] {
        std::fs::copy(
            &cpu,
            sets.join(format!("{host}-1svc-20250101-000000-cpu.prof")),
        )
        .unwrap();
    }
    run_fails(
        &["report", "sets", "--all", "--out-dir", "all"],
        dir,
        "would both be reported here",
    );
    assert!(!dir.join("all").exists());
}

#[test]
fn collect_refuses_a_host_that_is_not_a_plain_name() {
    let ws = tempfile::tempdir().unwrap();
    for host in [
        "../x", "/abs", "a/b", "a\\b", "x\ny", "a:b", "a*b", ".hidden", "-x",
    ] {
        // Refused before any connection: the port is never asked.
        let (code, _, stderr) = common::run(
            &[
                "collect",
                "--url",
                "http://127.0.0.1:9",
                &format!("--host={host}"),
                "--services",
                "1",
                "--out",
                "p",
            ],
            ws.path(),
        );
        // A bad flag value is a usage error (exit status 2).
        assert_eq!(code, 2, "{host:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: --host "), "{stderr}");
        assert!(!ws.path().join("p").exists());
    }
    assert_eq!(std::fs::read_dir(ws.path()).unwrap().count(), 0);
}

const BIN: &str = env!("CARGO_BIN_EXE_pprof-report");

/// The entries a report's publication may leave behind: staging folders, temporaries.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.to_string_lossy().contains(".pprof-report"))
        .collect()
}

/// The report, HTML page and flame graphs of one set, written alone into `out/r.md`.
fn whole_report(set: &str) -> Snapshot {
    let ws = workspace();
    run_ok(&["report", set, "--html", "--out", "out/r.md"], ws.path());
    snapshot(&ws.path().join("out"))
}

#[test]
fn a_symlinked_out_is_written_through_and_kept() {
    let ws = workspace();
    let dir = ws.path();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::create_dir_all(dir.join("archive")).unwrap();
    std::fs::write(dir.join("archive/2026.md"), "earlier").unwrap();
    std::os::unix::fs::symlink("../archive/2026.md", dir.join("out/latest.md")).unwrap();
    run_ok(&["report", SET_3SVC, "--out", "out/latest.md"], dir);
    let link = std::fs::symlink_metadata(dir.join("out/latest.md")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    let markdown = std::fs::read_to_string(dir.join("archive/2026.md")).unwrap();
    assert!(markdown.contains("fixture-3svc"), "{markdown}");
    // Its flame graphs beside the file written, as its relative links expect.
    assert!(markdown.contains("](2026/cpu.svg)"));
    assert!(dir.join("archive/2026/cpu.svg").is_file());
    assert_eq!(leftovers(dir), Vec::<PathBuf>::new());
    // A dangling link: the file it names is made, as a shell redirection would.
    std::os::unix::fs::symlink("../archive/new.md", dir.join("out/next.md")).unwrap();
    run_ok(&["report", SET_3SVC, "--out", "out/next.md"], dir);
    assert!(dir.join("archive/new.md").is_file());
    assert!(
        std::fs::symlink_metadata(dir.join("out/next.md"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn out_dash_writes_the_markdown_to_stdout_and_its_assets_to_the_assets_folder() {
    let ws = workspace();
    let dir = ws.path();
    let (code, stdout, stderr) = common::run(
        &[
            "report", SET_3SVC, "--out", "-", "--assets", "graphs/x", "--html",
        ],
        dir,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("# "), "{stdout}");
    assert!(!dir.join("-").exists());
    // What was written is listed on stderr, not mixed into the report.
    assert!(stderr.contains("wrote graphs/x/cpu.svg"), "{stderr}");
    assert!(stderr.contains("wrote graphs/x.html"), "{stderr}");
    assert!(!stdout.lines().any(|l| l.starts_with("wrote ")));
    // Every link into the assets resolves from the current folder.
    let links: Vec<&str> = stdout
        .match_indices("](graphs/x/")
        .map(|(at, _)| {
            let rest = &stdout[at + 2..];
            &rest[..rest.find(')').unwrap()]
        })
        .collect();
    assert!(!links.is_empty(), "{stdout}");
    for link in links {
        assert!(dir.join(link).is_file(), "{link}");
    }
    assert!(dir.join("graphs/x/analysis.json").is_file());
    assert!(
        stdout.contains("--out - --assets graphs/x"),
        "the command repeats both"
    );

    // Without --assets: a folder named after the set, in the current folder; an absolute
    // --assets below it is linked relative to it.
    let (code, stdout, stderr) = common::run(&["report", SET_3SVC, "--out", "-"], dir);
    assert_eq!(code, 0, "{stderr}");
    let name = "fixture-3svc-20261125-120000";
    assert!(stdout.contains(&format!("]({name}/cpu.svg)")), "{stdout}");
    assert!(dir.join(name).join("cpu.svg").is_file());
    let absolute = dir.join("abs");
    let (code, stdout, stderr) = common::run(
        &[
            "report",
            SET_3SVC,
            "--out",
            "-",
            "--assets",
            absolute.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("](abs/cpu.svg)"), "{stdout}");
    assert!(absolute.join("cpu.svg").is_file());

    // JSON, comparisons and trends too.
    for args in [
        &[
            "report", SET_3SVC, "--format", "json", "--out", "-", "--assets", "j",
        ][..],
        &["compare", SET_3SVC, SET_6SVC, "--out", "-", "--assets", "c"][..],
        &["trend", SET_3SVC, SET_6SVC, "--out", "-", "--assets", "t"][..],
    ] {
        let (code, stdout, stderr) = common::run(args, dir);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(
            stdout.starts_with('{') || stdout.starts_with("# "),
            "{stdout}"
        );
    }
    assert!(dir.join("j/analysis.json").is_file());
    assert!(dir.join("c/cpu-diff.svg").is_file());
    assert!(
        common::files_below(&dir.join("t"))
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "svg"))
    );
    assert_eq!(leftovers(dir), Vec::<PathBuf>::new());

    // --assets belongs to a stream; --attach to a file.
    let (code, _, stderr) = common::run(
        &["report", SET_3SVC, "--out", "out/r.md", "--assets", "a"],
        dir,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: --assets is for a report written to a stream"),
        "{stderr}"
    );
    let (code, _, stderr) = common::run(&["report", SET_3SVC, "--out", "-", "--attach", "1"], dir);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("give --out a file"), "{stderr}");
}

#[test]
fn out_dev_stdout_and_a_fifo_are_written_as_streams() {
    let ws = workspace();
    let dir = ws.path();
    // Through a pipe: /dev/stdout is this process's descriptor, never a file to replace.
    let output = std::process::Command::new(BIN)
        .args(["report", SET_3SVC, "--out", "/dev/stdout", "--assets", "a"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.starts_with(b"# "));
    assert!(
        std::fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .is_symlink()
    );
    assert!(dir.join("a/cpu.svg").is_file());
    // Into a file by the shell's redirection: the file gets the report.
    let file = std::fs::File::create(dir.join("redirected.md")).unwrap();
    let status = std::process::Command::new(BIN)
        .args(["report", SET_3SVC, "--out", "/dev/fd/1", "--assets", "a"])
        .current_dir(dir)
        .stdout(file)
        .status()
        .unwrap();
    assert!(status.success());
    let markdown = std::fs::read_to_string(dir.join("redirected.md")).unwrap();
    assert!(markdown.starts_with("# ") && markdown.contains("](a/cpu.svg)"));

    // A symbolic link to a FIFO: written through the link, as a stream.
    let fifo = dir.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink(&fifo, dir.join("link.md")).unwrap();
    let reader = std::thread::spawn(move || std::fs::read(fifo).unwrap());
    run_ok(
        &["report", SET_3SVC, "--out", "link.md", "--assets", "f"],
        dir,
    );
    let read = reader.join().unwrap();
    assert!(read.starts_with(b"# "));
    assert!(
        std::fs::symlink_metadata(dir.join("link.md"))
            .unwrap()
            .is_symlink()
    );
    assert!(
        std::fs::symlink_metadata(dir.join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(dir.join("f/cpu.svg").is_file());
    // /dev/null, a character device, is written (and stays a device).
    run_ok(
        &["report", SET_3SVC, "--out", "/dev/null", "--assets", "n"],
        dir,
    );
    assert!(
        std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // Reading the FIFO to look for leftovers would wait for a writer.
    std::fs::remove_file(dir.join("fifo")).unwrap();
    std::fs::remove_file(dir.join("link.md")).unwrap();
    assert_eq!(leftovers(dir), Vec::<PathBuf>::new());
}

/// Runs a command that must fail with exit status 1 and one line naming `file` and `what`;
/// returns the line.
fn fails_in_one_line(command: &mut std::process::Command, file: &str, what: &str) -> String {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(file) && stderr.contains(what),
        "{stderr}"
    );
    stderr
}

#[test]
fn a_file_size_limit_gives_one_line_and_leaves_the_previous_report() {
    let ws = workspace();
    let dir = ws.path();
    run_ok(&["report", SET_3SVC, "--out", "out/r.md", "--html"], dir);
    let before = snapshot(&dir.join("out"));
    // 64 KiB: the HTML page with its flame graphs inline is larger.
    let line = fails_in_one_line(
        std::process::Command::new("bash")
            .args(["-c", "ulimit -f 64; exec \"$0\" \"$@\"", BIN])
            .args(["report", SET_6SVC, "--out", "out/r.md", "--html"])
            .current_dir(dir),
        "out/",
        "file too large",
    );
    assert!(line.contains("ulimit -f"), "{line}");
    assert_eq!(snapshot(&dir.join("out")), before);
    assert_eq!(leftovers(dir), Vec::<PathBuf>::new());
}

/// A tmpfs mounted on a new folder, unmounted when dropped; `None` where mounting is not
/// allowed (not root, or a container without the capability).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Tmpfs { dir })
    }

    fn remount(&self, options: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

fn is_root() -> bool {
    let output = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

#[test]
fn a_read_only_folder_gives_one_line_and_leaves_the_previous_report() {
    let ws = workspace();
    let dir = ws.path();
    let check = |out: &Path, what: &str| {
        let before = snapshot(out);
        let target = out.join("r.md");
        fails_in_one_line(
            std::process::Command::new(BIN)
                .args(["report", SET_6SVC, "--html", "--out"])
                .arg(&target)
                .current_dir(dir),
            out.to_str().unwrap(),
            what,
        );
        assert_eq!(snapshot(out), before);
        assert_eq!(leftovers(out), Vec::<PathBuf>::new());
    };
    if !is_root() {
        let out = dir.join("out");
        run_ok(&["report", SET_3SVC, "--out", "out/r.md", "--html"], dir);
        std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o555))
            .unwrap();
        check(&out, "permission denied");
        std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        return;
    }
    // As root, permissions do not stop a write: a read-only file system does.
    let Some(tmpfs) = Tmpfs::mount("16m") else {
        eprintln!("note: root without mount: the read-only folder is not tested here");
        return;
    };
    let out = tmpfs.dir.path().join("out");
    let target = out.join("r.md");
    let status = std::process::Command::new(BIN)
        .args(["report", SET_3SVC, "--html", "--out"])
        .arg(&target)
        .current_dir(dir)
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    tmpfs.remount("ro");
    check(&out, "read-only file system");
}

#[test]
fn a_full_disk_gives_one_line_and_leaves_the_previous_report() {
    let measure = workspace();
    run_ok(
        &["report", SET_3SVC, "--out", "out/r.md", "--html"],
        measure.path(),
    );
    let size: u64 = snapshot(&measure.path().join("out"))
        .iter()
        .filter_map(|(_, bytes)| bytes.as_ref().map(|b| b.len() as u64))
        .sum();
    // Room for the report once and a half: the second run's staging cannot fit.
    let Some(tmpfs) = Tmpfs::mount(&format!("{}k", size * 3 / 2 / 1024)) else {
        eprintln!("note: no tmpfs can be mounted (not root?): the full disk is not tested here");
        return;
    };
    let ws = workspace();
    let out = tmpfs.dir.path().join("out");
    let report = |set: &str| {
        let mut command = std::process::Command::new(BIN);
        command
            .args(["report", set, "--html", "--out"])
            .arg(out.join("r.md"))
            .current_dir(ws.path());
        command
    };
    assert!(report(SET_3SVC).output().unwrap().status.success());
    let before = snapshot(&out);
    fails_in_one_line(
        &mut report(SET_6SVC),
        out.to_str().unwrap(),
        "no space left on the device",
    );
    assert_eq!(snapshot(&out), before);
    assert_eq!(leftovers(&out), Vec::<PathBuf>::new());
}

/// Which whole report `out` holds, by content: the index in `whole` of the one it equals
/// (the stages of runs that died left aside), `None` for a mixed or partial one.
fn which_report(out: &Path, whole: &[Snapshot]) -> Option<usize> {
    let published: Vec<_> = if out.exists() {
        snapshot(out)
            .into_iter()
            .filter(|(p, _)| !p.to_string_lossy().starts_with(".pprof-report-stage-"))
            .collect()
    } else {
        Vec::new()
    };
    whole.iter().position(|w| *w == published)
}

/// Whether a run's staging folder in `out` holds its journal: it is renaming.
fn journal_in(out: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(out) else {
        return false;
    };
    entries.flatten().any(|entry| {
        entry
            .file_name()
            .to_string_lossy()
            .starts_with(".pprof-report-stage-")
            && entry.path().join("journal.json").exists()
    })
}

/// What a kill sweep saw.
#[derive(Debug, Default)]
struct Sweep {
    kills: usize,
    /// Kills that left a publication half done, with its journal, for the next run.
    mid_commit: usize,
    pairs: usize,
}

/// kill -9 at delays spread over a run's duration (more of them near its end, where it
/// publishes), each followed by a run that settles and fails; then concurrent pairs. Every
/// state is checked by content against the reports of the two sets written alone: nothing,
/// the one or the other, each Markdown, HTML page and flame graph from one run.
fn kill_sweep(kills: usize, pairs: usize, budget: std::time::Duration) -> Sweep {
    let started = std::time::Instant::now();
    let sets = [SET_3SVC, SET_6SVC];
    let whole = [Vec::new(), whole_report(SET_3SVC), whole_report(SET_6SVC)];
    let ws = workspace();
    let dir = ws.path();
    let out = dir.join("out");
    let spawn = |set: &str| {
        std::process::Command::new(BIN)
            .args(["report", set, "--html", "--out", "out/r.md"])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let timed = std::time::Instant::now();
    assert!(spawn(SET_6SVC).wait().unwrap().success());
    let run_time = timed.elapsed();
    assert_eq!(which_report(&out, &whole), Some(2));
    let mut sweep = Sweep::default();
    // A fixed linear congruential sequence: the same delays on every run of the test.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    for i in 0..kills {
        if started.elapsed() > budget / 2 {
            break;
        }
        let before = which_report(&out, &whole).unwrap();
        let set = i % 2;
        // A third over the whole run, a third over its last quarter, a third the moment
        // its journal appears: in the middle of its renames, if the kill is fast enough.
        let fraction = match i % 3 {
            0 => next() * 1.1,
            1 => 0.75 + next() * 0.35,
            _ => f64::NAN,
        };
        let mut child = spawn(sets[set]);
        if fraction.is_nan() {
            let deadline = std::time::Instant::now() + run_time * 4;
            while std::time::Instant::now() < deadline && !journal_in(&out) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
            }
        } else {
            std::thread::sleep(run_time.mul_f64(fraction));
        }
        let _ = child.kill();
        child.wait().unwrap();
        sweep.kills += 1;
        let journaled = journal_in(&out);
        let now = which_report(&out, &whole);
        if journaled {
            sweep.mid_commit += 1;
        } else {
            assert!(
                now == Some(before) || now == Some(set + 1),
                "kill {i} at {fraction:.2} of a run: not one whole report, and no journal"
            );
        }
        // The next run settles first, whatever becomes of it (here: a missing context).
        let (code, _, stderr) = common::run(
            &[
                "report",
                sets[1 - set],
                "--out",
                "out/r.md",
                "--context",
                "missing.yaml",
            ],
            dir,
        );
        assert_eq!(code, 1, "{stderr}");
        let settled = which_report(&out, &whole);
        assert!(
            settled == Some(before) || settled == Some(set + 1),
            "kill {i} at {fraction:.2} of a run, settled: not one whole report"
        );
        if journaled {
            assert_eq!(
                settled,
                Some(set + 1),
                "a journaled run is finished forward"
            );
        }
        assert_eq!(
            leftovers(&out),
            Vec::<PathBuf>::new(),
            "kill {i}: after settling"
        );
    }
    for i in 0..pairs {
        if started.elapsed() > budget {
            break;
        }
        let first = spawn(sets[i % 2]);
        std::thread::sleep(run_time.mul_f64(next() * 0.2));
        let second = spawn(sets[1 - i % 2]);
        for mut child in [first, second] {
            assert!(child.wait().unwrap().success(), "pair {i}");
        }
        sweep.pairs += 1;
        let now = which_report(&out, &whole);
        assert!(
            now == Some(1) || now == Some(2),
            "pair {i}: not one whole report"
        );
        assert_eq!(leftovers(&out), Vec::<PathBuf>::new(), "pair {i}");
    }
    // A clean run: its report, and nothing else.
    assert!(spawn(SET_3SVC).wait().unwrap().success());
    assert_eq!(which_report(&out, &whole), Some(1));
    assert_eq!(leftovers(dir), Vec::<PathBuf>::new());
    sweep
}

#[test]
fn killed_and_concurrent_reports_leave_one_whole_report() {
    let sweep = kill_sweep(6, 3, std::time::Duration::from_secs(30));
    assert!(sweep.kills >= 2 && sweep.pairs >= 1, "{sweep:?}");
}

/// The sweep `.ci/run` runs: about a minute of kills and pairs.
#[test]
#[ignore = "about a minute; run by .ci/run"]
fn kill_sweep_for_a_minute() {
    let seconds = std::env::var("PPROF_REPORT_SWEEP_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let sweep = kill_sweep(
        usize::MAX,
        usize::MAX,
        std::time::Duration::from_secs(seconds),
    );
    eprintln!(
        "kill sweep: {} kills ({} in the middle of publishing, finished by the next run), {} concurrent pairs, each one whole report",
        sweep.kills, sweep.mid_commit, sweep.pairs
    );
    assert!(sweep.kills >= 10 && sweep.pairs >= 10, "{sweep:?}");
}
