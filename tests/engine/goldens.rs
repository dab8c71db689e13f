//! `top` against golden outputs of the real `go tool pprof` (fixtures/goldens/, made by
//! fixtures/make-goldens.sh from the manifest fixtures/goldens/cases.txt). Byte for byte.

use std::path::{Path, PathBuf};

use pprof_report::analyze::top::{self, BaseMode, Granularity, NameFilter, TagFilter, TopOptions};
use pprof_report::profile::DecodeOptions;
use pprof_report::render::top_text;
use pprof_report::set::load::read_profile;

struct Case {
    name: String,
    profile: PathBuf,
    options: TopOptions,
    base: Option<(PathBuf, BaseMode)>,
    /// pprof refuses the case (its golden is its empty stdout); `top` must refuse it too.
    fails: bool,
    /// A tag filter `TagFilter::parse` refused, with why.
    bad_filter: Option<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn parse_manifest(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        assert!(
            words.len() >= 2,
            "cases.txt:{}: need NAME PROFILE",
            number + 1
        );
        let mut case = Case {
            name: words[0].to_string(),
            profile: root().join(words[1]),
            options: TopOptions::default(),
            base: None,
            fails: false,
            bad_filter: None,
        };
        for token in &words[2..] {
            let (key, value) = token.split_once('=').unwrap_or((token, ""));
            match key {
                "nodecount" => case.options.node_count = value.parse().unwrap(),
                "cum" => case.options.cum_sort = true,
                "lines" => case.options.granularity = Granularity::Lines,
                "files" => case.options.granularity = Granularity::Files,
                "filefunctions" => case.options.granularity = Granularity::FileFunctions,
                "sample_index" => case.options.sample_index = Some(value.to_string()),
                "base" => case.base = Some((root().join(value), BaseMode::Subtract)),
                "diff_base" => case.base = Some((root().join(value), BaseMode::Diff)),
                "tagfocus" | "tagignore" => match TagFilter::parse(value) {
                    Ok(filter) if key == "tagfocus" => case.options.tag_focus = Some(filter),
                    Ok(filter) => case.options.tag_ignore = Some(filter),
                    Err(e) => case.bad_filter = Some(format!("--{key}={value}: {e}")),
                },
                "focus" | "ignore" | "hide" | "show" => match NameFilter::parse(value) {
                    Ok(filter) => {
                        let slot = match key {
                            "focus" => &mut case.options.focus,
                            "ignore" => &mut case.options.ignore,
                            "hide" => &mut case.options.hide,
                            _ => &mut case.options.show,
                        };
                        *slot = Some(filter);
                    }
                    Err(e) => case.bad_filter = Some(format!("--{key}={value}: {e}")),
                },
                "fails" => case.fails = true,
                other => panic!("cases.txt:{}: unknown option {other}", number + 1),
            }
        }
        cases.push(case);
    }
    cases
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  pprof: {e:?}\n  ours:  {a:?}", i + 1);
        }
    }
    format!(
        "pprof has {} lines, ours {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

/// Our output, or why `top` refused the case.
fn render(case: &Case) -> Result<String, String> {
    if let Some(refusal) = &case.bad_filter {
        return Err(refusal.clone());
    }
    let options = DecodeOptions::default();
    let profile = read_profile(&case.profile, &options).unwrap();
    let base = case
        .base
        .as_ref()
        .map(|(path, mode)| (read_profile(path, &options).unwrap(), *mode));
    let report = top::top(&profile, base.as_ref().map(|(p, m)| (p, *m)), &case.options)
        .map_err(|e| e.to_string())?;
    Ok(top_text::render(&report))
}

#[test]
fn top_matches_go_tool_pprof_goldens() {
    let dir = root().join("fixtures/goldens");
    let manifest = std::fs::read_to_string(dir.join("cases.txt")).unwrap();
    let cases = parse_manifest(&manifest);
    assert!(cases.len() >= 40, "only {} golden cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let golden_path = dir.join(format!("{}.txt", case.name));
        let expected = std::fs::read_to_string(&golden_path)
            .unwrap_or_else(|e| panic!("{}: {e}", golden_path.display()));
        let actual = match (render(case), case.fails) {
            (Ok(actual), false) => actual,
            (Err(_), true) => continue,
            (Ok(_), true) => {
                failures.push(format!("{}: pprof refuses it, ours does not", case.name));
                continue;
            }
            (Err(e), false) => {
                failures.push(format!(
                    "{}: pprof reports it, ours refuses: {e}",
                    case.name
                ));
                continue;
            }
        };
        if actual != expected {
            failures.push(format!(
                "{}: {}",
                relative(&golden_path),
                first_difference(&expected, &actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} goldens differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The report computes several views of one profile in one walk (`top_views`); each must be
/// what `top` gives for that view alone, which the goldens hold to pprof.
#[test]
fn views_at_once_equal_views_one_by_one() {
    let options = DecodeOptions::default();
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("fixtures/profiles")).unwrap() {
        let path = entry.unwrap().path();
        let Ok(profile) = read_profile(&path, &options) else {
            continue;
        };
        for node_count in [0, 10] {
            let views: Vec<top::TopOptions> = (0..profile.sample_types.len())
                .flat_map(|index| {
                    [false, true].map(|cum_sort| top::TopOptions {
                        sample_index: Some(index.to_string()),
                        cum_sort,
                        node_count,
                        ..top::TopOptions::default()
                    })
                })
                .collect();
            let together = top::top_views(&profile, None, &views).unwrap();
            for (view, report) in views.iter().zip(&together) {
                let alone = top::top(&profile, None, view).unwrap();
                assert_eq!(&alone, report, "{} {view:?}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "only {checked} views checked");
}
