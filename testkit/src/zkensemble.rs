//! A real N-member ZooKeeper ensemble on loopback, for tests and benchmarks.
//!
//! Every member is a `QuorumPeerMain` JVM from Debian's `zookeeper` package, listening on
//! 127.0.0.1 with its own client, quorum and election ports, `4lw.commands.whitelist=*`.
//! Members can be killed (SIGKILL), frozen (SIGSTOP) and thawed, stopped and restarted
//! with their data. Children get PR_SET_PDEATHSIG so they die with the thread that
//! started them, and are killed when the ensemble is dropped. Installs nothing: when
//! ZooKeeper is missing it panics and says to run `testkit/scripts/install-deps.sh`.
//!
//! With [`EnsembleOptions::reconfigurable`] the members run with dynamic reconfiguration
//! (`reconfigEnabled`, `dynamicConfigFile`, a super-user digest); `zkensemble_reconfig`
//! adds members that join a running ensemble.
//!
//! PR_SET_PDEATHSIG fires when the *thread* that spawned a member exits: start and
//! restart members from a thread that outlives them (a test's own thread, a runtime's
//! `block_on` thread), not from short-lived `spawn_blocking` threads.
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
const ZOOKEEPER_CONF_DIR: &str = "/etc/zookeeper/conf";
const MAIN_CLASS: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

// libc is not a dependency of this crate; these two are all we need from it.
unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
    fn prctl(option: i32, ...) -> i32;
}
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const SIGCONT: i32 = 18;
const SIGSTOP: i32 = 19;
const PR_SET_PDEATHSIG: i32 = 1;

/// How to run the ensemble.
#[derive(Debug, Clone)]
pub struct EnsembleOptions {
    pub members: usize,
    /// ZooKeeper's tick; short ticks make elections and failure detection fast.
    pub tick_time_ms: u64,
    pub init_limit: u32,
    pub sync_limit: u32,
    pub heap_mb: u32,
    /// Extra `zoo.cfg` lines.
    pub extra_config: Vec<String>,
    /// Members keep their `server.N` lines in a `dynamicConfigFile` and run with
    /// `reconfigEnabled=true`, so membership can change with `reconfig`.
    pub dynamic_reconfig: bool,
    /// Extra JVM flags, e.g. `-Dzookeeper.DigestAuthenticationProvider.superDigest=...`.
    pub jvm_flags: Vec<String>,
}

impl EnsembleOptions {
    /// `members` members with dynamic reconfiguration, whose super user has the digest
    /// `super_digest` (`super:<base64 sha1>`), as the operator would run them.
    pub fn reconfigurable(members: usize, super_digest: &str) -> Self {
        Self {
            members,
            dynamic_reconfig: true,
            jvm_flags: vec![format!(
                "-Dzookeeper.DigestAuthenticationProvider.superDigest={super_digest}"
            )],
            ..Self::default()
        }
    }
}

impl Default for EnsembleOptions {
    fn default() -> Self {
        Self {
            members: 3,
            tick_time_ms: 500,
            init_limit: 20,
            sync_limit: 6,
            heap_mb: 96,
            extra_config: Vec::new(),
            dynamic_reconfig: false,
            jvm_flags: Vec::new(),
        }
    }
}

/// What a member process is doing, as the test harness left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Running,
    Frozen,
    Stopped,
}

#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) id: u64,
    pub(crate) client: SocketAddr,
    pub(crate) dir: PathBuf,
    /// This member's `server.N=...` line.
    pub(crate) server_line: String,
    pub(crate) child: Option<Child>,
    pub(crate) state: MemberState,
}

/// A running ensemble. Dropping it kills every member and removes its files.
#[derive(Debug)]
pub struct ZkEnsemble {
    pub(crate) root: PathBuf,
    pub(crate) opts: EnsembleOptions,
    pub(crate) members: Vec<Member>,
}

/// Panics with the fix when Debian's ZooKeeper or Java is missing.
pub fn require_zookeeper() {
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !Path::new(ZOOKEEPER_JAR).exists() || !java.is_ok_and(|s| s.success()) {
        panic!(
            "ZooKeeper (Debian package `zookeeper`, {ZOOKEEPER_JAR}) or java is not installed: \
             run testkit/scripts/install-deps.sh (as root) first"
        );
    }
}

impl ZkEnsemble {
    /// Starts `members` members with default options; does not wait for a leader.
    pub fn start(members: usize) -> Self {
        Self::start_with(EnsembleOptions {
            members,
            ..EnsembleOptions::default()
        })
    }

    pub fn start_with(opts: EnsembleOptions) -> Self {
        require_zookeeper();
        assert!(opts.members >= 1, "an ensemble needs at least one member");
        let root = unique_dir();
        fs::create_dir_all(&root).expect("create ensemble dir");
        let ports = free_ports(opts.members * 3);
        let servers: Vec<String> = (0..opts.members)
            .map(|i| server_line(i as u64 + 1, &ports[3 * i..3 * i + 3]))
            .collect();
        let mut members = Vec::with_capacity(opts.members);
        for i in 0..opts.members {
            let id = i as u64 + 1;
            let dir = root.join(format!("member-{id}"));
            write_member_files(&opts, &dir, id, ports[3 * i], &servers);
            members.push(Member {
                id,
                client: SocketAddr::from(([127, 0, 0, 1], ports[3 * i])),
                dir,
                server_line: servers[i].clone(),
                child: None,
                state: MemberState::Stopped,
            });
        }
        let mut ensemble = Self {
            root,
            opts,
            members,
        };
        for id in ensemble.ids() {
            ensemble.start_member(id);
        }
        ensemble
    }

    pub fn ids(&self) -> Vec<u64> {
        self.members.iter().map(|m| m.id).collect()
    }

    /// `(myid, client address)` of every member.
    pub fn endpoints(&self) -> Vec<(u64, SocketAddr)> {
        self.members.iter().map(|m| (m.id, m.client)).collect()
    }

    pub fn client_addr(&self, id: u64) -> SocketAddr {
        self.member(id).client
    }

    /// `127.0.0.1:p1,127.0.0.1:p2,...` for ZooKeeper clients.
    pub fn connect_string(&self) -> String {
        let addrs: Vec<String> = self.members.iter().map(|m| m.client.to_string()).collect();
        addrs.join(",")
    }

    pub fn state(&self, id: u64) -> MemberState {
        self.member(id).state
    }

    pub fn pid(&self, id: u64) -> Option<u32> {
        self.member(id).child.as_ref().map(Child::id)
    }

    /// The member's directory: `zoo.cfg`, its dynamic config files, `data/`, the log.
    pub fn dir(&self, id: u64) -> &Path {
        &self.member(id).dir
    }

    /// The member's stdout/stderr, for failure messages.
    pub fn log(&self, id: u64) -> String {
        fs::read_to_string(self.member(id).dir.join("zookeeper.out")).unwrap_or_default()
    }

    /// Starts a stopped member again, with its data.
    pub fn start_member(&mut self, id: u64) {
        let heap = self.opts.heap_mb;
        let jvm_flags = self.opts.jvm_flags.clone();
        let m = self.member_mut(id);
        assert!(m.child.is_none(), "member {id} is already running");
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.dir.join("zookeeper.out"))
            .expect("open member log");
        let err = out.try_clone().expect("clone log handle");
        let mut cmd = Command::new("java");
        cmd.arg(format!("-Xmx{heap}m"))
            .args([
                "-Xss512k",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.net.preferIPv4Stack=true",
            ])
            .args(&jvm_flags)
            .arg("-cp")
            .arg(format!("{ZOOKEEPER_CONF_DIR}:{ZOOKEEPER_JAR}"))
            .arg(MAIN_CLASS)
            .arg(m.dir.join("zoo.cfg"))
            .current_dir(&m.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if prctl(PR_SET_PDEATHSIG, SIGKILL as std::ffi::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        m.child = Some(cmd.spawn().expect("spawn java for a ZooKeeper member"));
        m.state = MemberState::Running;
    }

    /// SIGKILL: the process is gone at once, like a crash or an OOM kill.
    pub fn kill(&mut self, id: u64) {
        let m = self.member_mut(id);
        if let Some(mut child) = m.child.take() {
            signal(&child, SIGKILL);
            let _ = child.wait();
        }
        m.state = MemberState::Stopped;
    }

    /// SIGTERM, then SIGKILL if it has not exited after 5 s.
    pub fn stop(&mut self, id: u64) {
        let m = self.member_mut(id);
        if let Some(mut child) = m.child.take() {
            if m.state == MemberState::Frozen {
                signal(&child, SIGCONT);
            }
            signal(&child, SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            signal(&child, SIGKILL);
            let _ = child.wait();
        }
        m.state = MemberState::Stopped;
    }

    /// SIGSTOP: the process holds its sockets but answers nothing, like a long GC pause
    /// or a partition. The kernel still accepts new TCP connections into the backlog.
    pub fn freeze(&mut self, id: u64) {
        let m = self.member_mut(id);
        if let Some(child) = &m.child {
            signal(child, SIGSTOP);
            m.state = MemberState::Frozen;
        }
    }

    pub fn thaw(&mut self, id: u64) {
        let m = self.member_mut(id);
        if let Some(child) = &m.child {
            signal(child, SIGCONT);
            m.state = MemberState::Running;
        }
    }

    /// Kills (if running) and starts the member again with its data.
    pub fn restart(&mut self, id: u64) {
        self.kill(id);
        self.start_member(id);
    }

    /// `srvr`'s `Mode:` of a member, or `None` if it does not answer with one.
    pub fn mode(&self, id: u64) -> Option<String> {
        let reply = four_letter(self.client_addr(id), "srvr", Duration::from_millis(500)).ok()?;
        reply
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(|m| m.trim().to_string())
    }

    /// The current leader, if exactly one running member says it leads.
    pub fn leader(&self) -> Option<u64> {
        let leaders: Vec<u64> = self
            .running()
            .filter(|&id| self.mode(id).as_deref() == Some("leader"))
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// Waits until every running member serves and one of them leads; returns the leader.
    pub fn wait_until_serving(&self, timeout: Duration) -> Option<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let modes: Vec<Option<String>> = self.running().map(|id| self.mode(id)).collect();
            let all_serving = modes.iter().all(|m| {
                matches!(
                    m.as_deref(),
                    Some("leader" | "follower" | "observer" | "standalone")
                )
            });
            if all_serving && let Some(leader) = self.leader() {
                return Some(leader);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until a majority of members serves with one leader (others may be down).
    pub fn wait_for_leader(&self, timeout: Duration) -> Option<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(leader) = self.leader() {
                return Some(leader);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn running(&self) -> impl Iterator<Item = u64> + '_ {
        self.members
            .iter()
            .filter(|m| m.state == MemberState::Running)
            .map(|m| m.id)
    }

    /// This member's `server.N=host:quorum:election:participant;host:client` line.
    pub fn server_line(&self, id: u64) -> String {
        self.member(id).server_line.clone()
    }

    fn member(&self, id: u64) -> &Member {
        self.members
            .iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("no member {id}"))
    }

    pub(crate) fn member_mut(&mut self, id: u64) -> &mut Member {
        self.members
            .iter_mut()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("no member {id}"))
    }
}

impl Drop for ZkEnsemble {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                signal(&child, SIGKILL);
                let _ = child.wait();
            }
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// `server.N=127.0.0.1:quorum:election:participant;127.0.0.1:client` from `[client,
/// quorum, election]` ports.
pub(crate) fn server_line(id: u64, ports: &[u16]) -> String {
    let (c, q, e) = (ports[0], ports[1], ports[2]);
    format!("server.{id}=127.0.0.1:{q}:{e}:participant;127.0.0.1:{c}")
}

/// Writes `myid` and `zoo.cfg` (plus `zoo.cfg.dynamic` in dynamic mode) for one member
/// whose view of the membership is `servers`.
pub(crate) fn write_member_files(
    opts: &EnsembleOptions,
    dir: &Path,
    id: u64,
    client_port: u16,
    servers: &[String],
) {
    let data = dir.join("data");
    fs::create_dir_all(&data).expect("create data dir");
    fs::write(data.join("myid"), format!("{id}\n")).expect("write myid");
    let mut cfg = vec![
        format!("tickTime={}", opts.tick_time_ms),
        format!("initLimit={}", opts.init_limit),
        format!("syncLimit={}", opts.sync_limit),
        format!("dataDir={}", data.display()),
        "4lw.commands.whitelist=*".into(),
        "admin.enableServer=false".into(),
        "standaloneEnabled=false".into(),
        "maxClientCnxns=0".into(),
    ];
    if opts.dynamic_reconfig {
        // The client address is in each server line; ZooKeeper rewrites this file and
        // moves to zoo.cfg.dynamic.<version> as the membership changes.
        let dynamic = dir.join("zoo.cfg.dynamic");
        fs::write(&dynamic, servers.join("\n") + "\n").expect("write zoo.cfg.dynamic");
        cfg.push("reconfigEnabled=true".into());
        cfg.push(format!("dynamicConfigFile={}", dynamic.display()));
    } else {
        cfg.push(format!("clientPort={client_port}"));
        cfg.push("clientPortAddress=127.0.0.1".into());
        cfg.extend(servers.iter().cloned());
    }
    cfg.extend(opts.extra_config.iter().cloned());
    fs::write(dir.join("zoo.cfg"), cfg.join("\n") + "\n").expect("write zoo.cfg");
}

/// Sends a four-letter word with plain std sockets and returns the reply.
pub fn four_letter(addr: SocketAddr, word: &str, timeout: Duration) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(word.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn signal(child: &Child, sig: i32) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    // SAFETY: plain syscall on our own child's pid; it cannot be reused before we wait().
    unsafe {
        kill(pid, sig);
    }
}

/// Ports the kernel considers free right now; all are held until all are picked, so
/// they are distinct. Another process could still take one before ZooKeeper binds it.
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

fn unique_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "zkensemble-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}
