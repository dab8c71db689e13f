//! The recommendation rule format, and the built-in rule files embedded in the binary.
//! A rule matches measured quantities and yields a finding with its evidence, a severity,
//! actions and an impact computed from the data. Advice lives in these YAML files, not in
//! Rust: a user adds or replaces rules with `--rules FILE` (same `id` replaces).
//! docs/rules.md documents every field.

use serde::{Deserialize, Serialize};

/// The built-in rule files (every `src/rules/*.yaml`, by name): the name, the YAML text
/// (the source, which docs/rules.md documents) and the same rules as JSON, converted by
/// build.rs so that reading them costs a report little.
pub const BUILTIN: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// A rule file: a YAML mapping whose one key is `rules:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules, in the file's order.
    pub rules: Vec<Rule>,
}

/// One recommendation rule: an entry of a rule file's `rules:` list (docs/rules.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique; a user rule with the same id replaces the built-in one.
    pub id: String,
    /// The recommendation's title, one line.
    pub title: String,
    /// How much it matters; recommendations are ranked by it first.
    pub severity: Severity,
    /// A higher severity when a condition's measurement reaches a magnitude (a lock
    /// waited on for more than a second per second), so that the ranking follows how much
    /// a problem weighs on this set, not only its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<Escalation>,
    /// The runtime the rule is written for (`go`, `java`, `python`, `nodejs`, `ruby`,
    /// `dotnet`, `rust`, `native`): it is evaluated only on profile sets of that language.
    /// Absent: every set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<crate::profile::Language>,
    /// All must hold for the rule to fire.
    pub when: Vec<Condition>,
    /// How the saving is computed; absent: no number (`kind: none`).
    #[serde(default)]
    pub impact: Impact,
    /// The finding, one or two sentences. `{value}` is the first condition's measured value,
    /// `{value2}` the second's; `{subject}` what it matched; `{top}` and `{caller}` the
    /// function it found most and the code that calls it; `{memstats}` the GC picture and
    /// the arithmetic of GOGC from runtime.MemStats (docs/rules.md). Actions and `verify`
    /// take the same placeholders.
    pub finding: String,
    /// What to do, in the order shown; may be empty (`actions: []`).
    pub actions: Vec<Action>,
    /// How to check in the next profile set that the change worked.
    pub verify: String,
}

/// How much a finding matters, written in lowercase; the order (`high` first) ranks the
/// recommendations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `high`: ranked first.
    High,
    /// `medium`: ranked after `high`.
    Medium,
    /// `low`: ranked after `medium`.
    Low,
    /// `info`: ranked last; the built-in rules use it for facts and missing evidence rather
    /// than problems.
    Info,
}

/// One measured quantity and its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// What is measured (`metric: cpu_package`).
    pub metric: Metric,
    /// A regular expression, for metrics that select functions, packages, modules or groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// A category name (`garbage collection`, `syscalls`, `scheduler`,
    /// `memory allocation`, `application`) or a profile (`mutex`, `block`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Holds when the value is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// Holds when the value is below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// For `module_version_below`: the first version that is fine (`v1.80.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `pattern`, compiled once when the rule file is read (every report evaluates it).
    #[serde(skip)]
    pub compiled: Option<CompiledPattern>,
}

/// A rule's compiled pattern: only ever asked whether a name matches. A built-in rule's
/// pattern is a DFA that build.rs compiled and the binary carries; any other is compiled when
/// its rule file is read.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Deserialized from the binary: nothing to compile (boxed: the DFA's own tables take
    /// 720 bytes).
    Built(Box<regex_automata::dfa::sparse::DFA<&'static [u8]>>),
    /// Compiled from its text.
    Compiled(regex_automata::meta::Regex),
}

impl Pattern {
    /// Whether `name` holds a match (anywhere, as `Regex::is_match`).
    pub fn is_match(&self, name: &str) -> bool {
        match self {
            Pattern::Built(dfa) => {
                use regex_automata::dfa::Automaton as _;
                // A DFA built without quit bytes or Unicode word boundaries has no reason to
                // stop a search early: the error case does not arise.
                let input = regex_automata::Input::new(name).earliest(true);
                matches!(dfa.try_search_fwd(&input), Ok(Some(_)))
            }
            Pattern::Compiled(regex) => regex.is_match(name),
        }
    }
}

/// The built-in rules' patterns as build.rs compiled them: (pattern, serialized sparse DFA).
const BUILT_PATTERNS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/pattern_dfas.rs"));

/// The DFA build.rs made of `pattern`, when it made one and it reads back (it was written
/// little-endian: a big-endian target compiles every pattern).
fn built_pattern(pattern: &str) -> Option<Pattern> {
    let index = BUILT_PATTERNS
        .binary_search_by(|(built, _)| (*built).cmp(pattern))
        .ok()?;
    let (dfa, _) = regex_automata::dfa::sparse::DFA::from_bytes(BUILT_PATTERNS[index].1).ok()?;
    Some(Pattern::Built(Box::new(dfa)))
}

/// Compiles a rule's pattern for matching only. A built-in rule's pattern comes compiled with
/// the binary. Any other is built without capture groups, prefilter, one-pass or backtracking
/// engine (the lazy DFA and the PikeVM answer `is_match`), which makes compiling about a third
/// cheaper.
pub fn compile(pattern: &str) -> Result<Pattern, String> {
    if let Some(built) = built_pattern(pattern) {
        return Ok(built);
    }
    compile_text(pattern)
}

/// Compiles `pattern` from its text, whether or not the binary carries it built.
fn compile_text(pattern: &str) -> Result<Pattern, String> {
    use regex_automata::nfa::thompson::WhichCaptures;
    regex_automata::meta::Regex::builder()
        .configure(
            regex_automata::meta::Config::new()
                .which_captures(WhichCaptures::None)
                .auto_prefilter(false)
                .onepass(false)
                .backtrack(false),
        )
        .build(pattern)
        .map(Pattern::Compiled)
        .map_err(|e| crate::text::describe_regex(&e))
}

/// A compiled `pattern`; equal when the patterns are.
#[derive(Debug, Clone)]
pub struct CompiledPattern(Pattern, String);

impl PartialEq for CompiledPattern {
    fn eq(&self, other: &Self) -> bool {
        self.1 == other.1
    }
}

impl Condition {
    /// The pattern as a regex: the one compiled on reading, else compiled now (a condition
    /// built in code); `None` without a pattern or when it does not compile.
    pub fn regex(&self) -> Option<std::borrow::Cow<'_, Pattern>> {
        match (&self.compiled, &self.pattern) {
            (Some(CompiledPattern(regex, _)), _) => Some(std::borrow::Cow::Borrowed(regex)),
            (None, Some(pattern)) => compile(pattern).ok().map(std::borrow::Cow::Owned),
            (None, None) => None,
        }
    }
}

/// What a condition measures. Shares are percentages (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Share of CPU in samples with a function matching `pattern` on the stack.
    CpuFunction,
    /// Share of CPU in samples with a package matching `pattern` on the stack.
    CpuPackage,
    /// Share of CPU in the category `name`.
    CpuCategory,
    /// Share of in-use heap bytes allocated under a function matching `pattern`.
    InuseFunction,
    /// Share of allocated bytes (since start) under a package matching `pattern`.
    AllocPackage,
    /// Goroutines per inferred instance.
    GoroutinesPerInstance,
    /// Goroutines with a function matching `pattern` on the stack.
    GoroutinesFunction,
    /// Goroutines the runtime proved leaked (Go 1.26+'s goroutine leak profile): a proof,
    /// so no evidence floor applies.
    LeakedGoroutines,
    /// Largest per-instance factor of goroutine groups whose label matches `pattern`.
    GoroutineGroupFactor,
    /// 1 when the inferred instance count differs from the declared service count.
    InstancesDiffer,
    /// 1 when the profile `name` (mutex, block) was collected but has no samples.
    ProfileEmpty,
    /// Seconds of mutex delay per second of profile-set time (or in total without one).
    MutexDelay,
    /// 1 when a module matching `pattern` appears with a version below `version`.
    ModuleVersionBelow,
    /// Share of CPU in samples whose leaf (flat) function matches `pattern`: the cost of a
    /// primitive itself (a lock's fast path, `runtime.asyncPreempt`), not of its callees.
    CpuFlatFunction,
    /// Share of CPU in the categories whose names match `pattern` (garbage collection and
    /// memory allocation together).
    CpuCategories,
    /// Share of allocated bytes in samples with a function matching `pattern` on the stack.
    AllocFunction,
    /// Share of allocated objects in samples with a function matching `pattern` on the stack.
    AllocObjectsFunction,
    /// Share of allocated bytes at allocation sites (leaf functions) whose objects average
    /// at least [`LARGE_OBJECT_BYTES`]: a buffer allocated per call.
    LargeAllocations,
    /// Share of in-use heap bytes allocated at the one site (leaf function) that holds most.
    InuseTopSite,
    /// 1 when the profile `name` (mutex, block) was collected and has samples, else 0 (not
    /// collected, or empty): `below: 1` asks for "no such evidence".
    ProfileRecorded,
    /// Share of the mutex delay charged to the one code site that held the lock most (the
    /// first frame above `Unlock` outside `sync`, `runtime` and the internal packages).
    MutexHolder,
    /// Goroutines queued to acquire a lock (sync.Mutex, RWMutex, a file's write lock) behind
    /// the one taker with most, of the takers whose package matches `pattern` (any without).
    LockQueue,
    /// The same queue as a share of all goroutines.
    LockQueueShare,
    /// Share of the block profile's contention delay (idle waiting apart) in blocked channel
    /// sends.
    BlockedSendShare,
    /// Seconds of blocked channel sends per second of the window (else of uptime).
    BlockedSendDelay,
    /// GOMAXPROCS beyond the CPU quota rounded up, in Ps (0 when within it), from the
    /// context's Go version, environment and quota; absent without a quota.
    GomaxprocsAboveQuota,
    /// Share of CPU in writes to stream sockets with no buffer (bufio, a flush, writev,
    /// io.Copy) above them: one system call per application write.
    CpuUnbufferedSocketWrites,
    /// Share of CPU of the entry point (HTTP handler, gRPC method, pprof label, goroutine)
    /// holding most, when another holds at least 1% (else 0).
    CpuEntryPoint,
    /// Milliseconds of CPU per unit of the context's throughput; absent without one.
    CpuPerUnit,
}

/// The average object size from which an allocation site's objects count as large buffers
/// (`large_allocations`): 16 KiB, half of `io.Copy`'s 32 KiB buffer, and past the runtime's
/// largest small-object size class for most Go releases, so each is a span of its own.
pub const LARGE_OBJECT_BYTES: f64 = 16.0 * 1024.0;

/// The `escalate:` mapping: the severity a rule takes when one of its conditions measures
/// at least `above`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Which condition's measurement (0: the first).
    #[serde(default)]
    pub condition: usize,
    /// From this value on, the rule has `severity`.
    pub above: f64,
    /// The severity it then has.
    pub severity: Severity,
}

/// How a rule's saving is estimated: the `impact:` mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Impact {
    /// The arithmetic (`kind: cpu`).
    pub kind: ImpactKind,
    /// Which condition's measurement is the saving (0: the first).
    #[serde(default)]
    pub condition: usize,
    /// The part of it the actions are expected to save (1: all of it).
    #[serde(default = "one")]
    pub fraction: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for Impact {
    fn default() -> Self {
        Impact {
            kind: ImpactKind::None,
            condition: 0,
            fraction: 1.0,
        }
    }
}

/// How a saving is computed from the measured value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImpactKind {
    /// CPU share × the process's CPU → cores saved.
    Cpu,
    /// In-use heap share × the heap in use → bytes saved.
    Memory,
    /// Goroutines × their minimum stack (8 KiB) → bytes saved.
    Goroutines,
    /// Allocation share × the CPU spent in garbage collection → cores of GC work avoided.
    Gc,
    /// No number: the finding asks for more evidence or states a fact.
    None,
}

/// One thing to do about a finding: an entry of `actions:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// What sort of change it is, shown in italics before the text.
    pub kind: ActionKind,
    /// The advice, one or two sentences (Markdown-escaped when rendered).
    pub text: String,
}

/// What sort of change an action asks for, written in lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// `config`: a setting, flag or environment variable (`GOGC=200`).
    Config,
    /// `code`: a change to the program.
    Code,
    /// `architecture`: how the work is laid out across processes and instances.
    Architecture,
    /// `profiling`: turn on or collect the profiles that would show more.
    Profiling,
}

/// Why a rule file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The YAML does not read as a rule file: a syntax error, an unknown field, a wrong type
    /// or a missing field.
    #[error("{file}: {reason}")]
    Parse {
        /// The rule file, as given (a built-in one by its name).
        file: String,
        /// The YAML error on one line, `line L column C: …` when it has a place.
        reason: String,
    },
    /// A rule reads but cannot be evaluated: no conditions, `impact.condition` past them, a
    /// pattern that does not compile, or a metric without the pattern, name or version it
    /// needs.
    #[error("{file}: rule {id}: {reason}")]
    Invalid {
        /// The rule file, as given (a built-in one by its name).
        file: String,
        /// The rule's id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Parses one rule file and checks what serde cannot (regexes, indices, required fields).
pub fn parse(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let parsed: RuleFile = yaml_serde::from_str(text).map_err(|e| RuleError::Parse {
        file: file.to_string(),
        // One line: the message may quote a value that spans lines.
        reason: crate::text::one_line(&match e.location() {
            Some(at) => format!(
                "line {} column {}: {}",
                at.line(),
                at.column(),
                e.to_string().replace(
                    &format!(" at line {} column {}", at.line(), at.column()),
                    ""
                )
            ),
            None => e.to_string(),
        }),
    })?;
    check(file, parsed.rules, &mut Compiled::new())
}

/// Patterns compiled so far, by their text: rule files share patterns (a library's CPU and
/// allocation rules, the logging libraries in two files), and compiling is most of what
/// reading the rules costs.
type Compiled = std::collections::HashMap<String, Pattern>;

/// Parses a built-in rule file from the JSON that build.rs made of its YAML.
fn parse_builtin(file: &str, json: &str, compiled: &mut Compiled) -> Result<Vec<Rule>, RuleError> {
    let parsed: RuleFile = serde_json::from_str(json).map_err(|e| RuleError::Parse {
        file: file.to_string(),
        reason: e.to_string(),
    })?;
    check(file, parsed.rules, compiled)
}

/// Compiles the rules' patterns and checks what serde cannot (regexes, indices, required
/// fields).
fn check(
    file: &str,
    mut rules: Vec<Rule>,
    compiled: &mut Compiled,
) -> Result<Vec<Rule>, RuleError> {
    for rule in &mut rules {
        let id = rule.id.clone();
        let invalid = |reason: String| RuleError::Invalid {
            file: file.to_string(),
            id: id.clone(),
            reason,
        };
        if rule.when.is_empty() {
            return Err(invalid("`when` needs at least one condition".to_string()));
        }
        if let Some(escalation) = &rule.escalate
            && escalation.condition >= rule.when.len()
        {
            return Err(invalid(format!(
                "escalate.condition {} but there are {} conditions",
                escalation.condition,
                rule.when.len()
            )));
        }
        if rule.impact.condition >= rule.when.len() {
            return Err(invalid(format!(
                "impact.condition {} but there are {} conditions",
                rule.impact.condition,
                rule.when.len()
            )));
        }
        for condition in &mut rule.when {
            if let Some(pattern) = &condition.pattern {
                // Compiled once for every file that uses it.
                let regex = match compiled.get(pattern) {
                    Some(regex) => regex.clone(),
                    None => {
                        let regex = compile(pattern)
                            .map_err(|e| invalid(format!("pattern {pattern:?}: {e}")))?;
                        compiled.insert(pattern.clone(), regex.clone());
                        regex
                    }
                };
                condition.compiled = Some(CompiledPattern(regex, pattern.clone()));
            }
            let needs_pattern = matches!(
                condition.metric,
                Metric::CpuFunction
                    | Metric::CpuPackage
                    | Metric::InuseFunction
                    | Metric::AllocPackage
                    | Metric::GoroutinesFunction
                    | Metric::GoroutineGroupFactor
                    | Metric::ModuleVersionBelow
                    | Metric::CpuFlatFunction
                    | Metric::CpuCategories
                    | Metric::AllocFunction
                    | Metric::AllocObjectsFunction
            );
            if needs_pattern && condition.pattern.is_none() {
                return Err(invalid(format!("{:?} needs a pattern", condition.metric)));
            }
            let needs_name = matches!(
                condition.metric,
                Metric::CpuCategory | Metric::ProfileEmpty | Metric::ProfileRecorded
            );
            if needs_name && condition.name.is_none() {
                return Err(invalid(format!("{:?} needs a name", condition.metric)));
            }
            if condition.metric == Metric::ModuleVersionBelow && condition.version.is_none() {
                return Err(invalid("module_version_below needs a version".to_string()));
            }
        }
    }
    Ok(rules)
}

/// The built-in rules, then the user's (`--rules`), a user rule replacing the built-in rule
/// with the same id.
pub fn load(user: &[(String, String)]) -> Result<Vec<Rule>, RuleError> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut compiled = Compiled::new();
    let builtin = BUILTIN.iter().map(|(file, _, json)| (*file, *json, true));
    let users = user
        .iter()
        .map(|(file, text)| (file.as_str(), text.as_str(), false));
    for (file, text, is_builtin) in builtin.chain(users) {
        let parsed = if is_builtin {
            parse_builtin(file, text, &mut compiled)
        } else {
            parse(file, text)
        };
        for rule in parsed? {
            match rules.iter_mut().find(|r| r.id == rule.id) {
                Some(existing) => *existing = rule,
                None => rules.push(rule),
            }
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse_and_ids_are_unique() {
        let rules = load(&[]).unwrap();
        assert!(rules.len() >= 12);
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rules.len());
    }

    #[test]
    fn the_built_in_json_reads_as_its_yaml() {
        for (file, yaml, json) in BUILTIN {
            assert_eq!(
                parse(file, yaml).unwrap(),
                parse_builtin(file, json, &mut Compiled::new()).unwrap(),
                "{file}"
            );
        }
        assert!(
            BUILTIN
                .iter()
                .any(|(file, _, _)| *file == "go-runtime.yaml")
        );
    }

    /// Names the built-in patterns are about, one or more for each, and near misses.
    const PATTERN_NAMES: &[&str] = &[
        "compress/flate",
        "github.com/klauspost/compress/zstd",
        "github.com/klauspost/compress/internal/snapref",
        "xcompress/flate",
        "compress/flate2",
        "crypto/sha256",
        "crypto/internal/fips140/v1.0.0/sha256",
        "github.com/cespare/xxhash/v2",
        "github.com/zeebo/blake3/internal/alg",
        "crypto/sha256x",
        "encoding/json",
        "encoding/json/v2",
        "github.com/goccy/go-json/internal/encoder",
        "tailscale.com/net/netmon",
        "tailscale.com/portlist",
        "golang.zx2c4.com/wireguard/device.(*Device).PopulatePools",
        "golang.zx2c4.com/wireguard/device.(*Device).RoutineEncryption",
        "golang.zx2c4.com/wireguard/device.(*Device).RoutineEncryptionX",
        "garbage collection",
        "memory allocation",
        "go.uber.org/zap/zapcore",
        "github.com/sirupsen/logrus",
        "gopkg.in/natefinch/lumberjack.v2",
        "github.com/go-kit/kit/log/level",
        "k8s.io/klog/v2",
        "runtime.runTimer",
        "time.(*Timer).Reset",
        "runtime.growslice",
        "bytes.(*Buffer).grow",
        "sync.(*RWMutex).RLock",
        "runtime.lock2",
        "fmt.Sprintf",
        "myfmt.Sprintf",
        "net/http.(*persistConn).readLoop",
        "regexp.MustCompile",
        "regexp.(*Regexp).FindStringSubmatch",
        "runtime.asyncPreempt",
        "runtime.asyncPreempt2",
        "runtime.gcAssistAlloc",
        "sync.(*Pool).Get",
        "sync.(*Pool).GetX",
        "gvisor.dev/gvisor/pkg/tcpip/transport/tcp.(*processor).start",
        "tailscale.com/wgengine/netstack.(*processor).start",
        "",
        "é/compress/flate",
        "compress/flate\n",
    ];

    #[test]
    fn every_built_in_pattern_comes_built_and_matches_as_compiled() {
        // The functions and packages of the corpus services' CPU profiles, and the names above.
        let mut names: Vec<String> = PATTERN_NAMES.iter().map(|n| n.to_string()).collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/services");
        for service in [
            "influxdb-1svc-20261202-132000",
            "traefik-1svc-20261202-130000",
        ] {
            let data = std::fs::read(dir.join(format!("{service}-cpu.prof"))).unwrap();
            let profile = crate::profile::decode(&data, &Default::default()).unwrap();
            for function in &profile.functions {
                // Its package: what precedes the first `.` after the last `/`.
                let name = function.name.as_str();
                let after_slash = name.rfind('/').map_or(0, |i| i + 1);
                let end = name[after_slash..]
                    .find('.')
                    .map_or(name.len(), |i| after_slash + i);
                names.push(name[..end].to_string());
                names.push(function.name.clone());
            }
        }
        let rules = load(&[]).unwrap();
        let patterns: Vec<&String> = rules
            .iter()
            .flat_map(|r| &r.when)
            .filter_map(|c| c.pattern.as_ref())
            .collect();
        assert!(patterns.len() >= 20);
        for pattern in patterns {
            let Some(built @ Pattern::Built(_)) = compile(pattern).ok() else {
                panic!("{pattern:?} is not built into the binary");
            };
            let compiled = compile_text(pattern).unwrap();
            assert!(matches!(compiled, Pattern::Compiled(_)));
            let mut matched = 0;
            for name in &names {
                let is = compiled.is_match(name);
                assert_eq!(built.is_match(name), is, "{pattern:?} on {name:?}");
                matched += usize::from(is);
            }
            assert!(matched > 0, "no name matches {pattern:?}");
            assert!(matched < names.len(), "every name matches {pattern:?}");
        }
    }

    #[test]
    fn a_pattern_not_built_in_is_compiled_from_its_text() {
        let pattern = compile("^mine\\.(Handler|Serve)$").unwrap();
        assert!(matches!(pattern, Pattern::Compiled(_)));
        assert!(pattern.is_match("mine.Handler"));
        assert!(!pattern.is_match("mine.Handlers"));
        assert!(compile("(unclosed").is_err());
    }

    #[test]
    fn a_user_rule_replaces_one_with_the_same_id() {
        let user = "rules:\n  - id: gc-pressure\n    title: Mine\n    severity: low\n    when:\n      - metric: cpu_category\n        name: garbage collection\n        above: 1\n    finding: x\n    actions: []\n    verify: y\n";
        let rules = load(&[("mine.yaml".to_string(), user.to_string())]).unwrap();
        let gc = rules.iter().find(|r| r.id == "gc-pressure").unwrap();
        assert_eq!(gc.title, "Mine");
    }

    #[test]
    fn bad_rules_are_refused_with_the_file_and_line() {
        let typo = "rules:\n  - id: a\n    titel: x\n";
        let error = parse("mine.yaml", typo).unwrap_err().to_string();
        assert!(error.starts_with("mine.yaml: line 3 column 5: "), "{error}");
        let bad_regex = "rules:\n  - id: a\n    title: t\n    severity: low\n    when:\n      - metric: cpu_function\n        pattern: '('\n        above: 1\n    finding: f\n    actions: []\n    verify: v\n";
        let error = parse("mine.yaml", bad_regex).unwrap_err().to_string();
        assert!(
            error.starts_with("mine.yaml: rule a: pattern \"(\": "),
            "{error}"
        );
        let no_pattern = bad_regex.replace("        pattern: '('\n", "");
        let error = parse("mine.yaml", &no_pattern).unwrap_err().to_string();
        assert_eq!(error, "mine.yaml: rule a: CpuFunction needs a pattern");
    }
}
