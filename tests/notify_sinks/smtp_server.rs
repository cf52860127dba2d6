//! A real SMTP server process (tests/fixtures/smtp_server.py on Debian's python3-aiosmtpd,
//! from testkit/scripts/install-deps.sh) writing a Maildir, and reading what arrived.
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::test_ca::ServerCert;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/smtp_server.py");

/// How the server protects its port.
pub enum Security<'a> {
    Plain,
    StartTls(&'a ServerCert),
    Implicit(&'a ServerCert),
}

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl SmtpServer {
    /// Starts on a free loopback port; with `login`, mail needs AUTH as that user.
    pub async fn start(security: Security<'_>, login: Option<(&str, &str)>) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let dir = std::env::temp_dir().join(format!("zkop-smtp-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("server dir");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(SCRIPT)
            .arg(port.to_string())
            .arg(dir.join("mail"))
            .stdout(Stdio::piped());
        let (mode, cert) = match security {
            Security::Plain => ("none", None),
            Security::StartTls(c) => ("starttls", Some(c)),
            Security::Implicit(c) => ("implicit", Some(c)),
        };
        cmd.args(["--tls", mode]);
        if let Some(c) = cert {
            std::fs::write(dir.join("server.crt"), &c.cert_pem).expect("write cert");
            std::fs::write(dir.join("server.key"), &c.key_pem).expect("write key");
            cmd.arg("--cert")
                .arg(dir.join("server.crt"))
                .arg("--key")
                .arg(dir.join("server.key"));
        }
        if let Some((user, password)) = login {
            cmd.args(["--user", user, "--password", password]);
        }
        let mut child = cmd
            .spawn()
            .expect("python3-aiosmtpd is installed (testkit/scripts/install-deps.sh)");
        let stdout = child.stdout.take().expect("stdout");
        let mut server = Self { child, port, dir };
        // The script prints "ready" once it listens; EOF means it died (its stderr says why).
        let ready = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            line
        });
        let line = tokio::time::timeout(Duration::from_secs(20), ready).await;
        if !matches!(&line, Ok(Ok(l)) if l.trim() == "ready") {
            let _ = server.child.kill();
            panic!("the SMTP server did not start on {port}: {line:?}");
        }
        server
    }

    /// The messages delivered so far, quoted-printable undone.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("mail").join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| quoted_printable_decoded(&std::fs::read_to_string(e.path()).expect("message")))
            .collect()
    }
}

/// Undoes quoted-printable (soft line breaks, `=XX`), which lettre picks for long lines.
fn quoted_printable_decoded(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
