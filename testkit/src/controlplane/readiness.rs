//! Waiting for components to become usable, while watching that none of them died.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;

use super::process::Managed;

/// Why an attempt to start failed.
pub(crate) enum StartFailure {
    /// A component could not bind its port (another process took it): worth another attempt
    /// with fresh ports.
    PortTaken(anyhow::Error),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartFailure {
    fn from(e: anyhow::Error) -> Self {
        StartFailure::Other(e)
    }
}

/// A start failure as a plain error (for callers that do not retry on a taken port).
pub(crate) fn into_error(failure: StartFailure) -> anyhow::Error {
    match failure {
        StartFailure::PortTaken(e) | StartFailure::Other(e) => e,
    }
}

const POLL: Duration = Duration::from_millis(100);

/// Every component's log tail, for an error message.
pub(crate) fn describe(procs: &mut [Managed]) -> String {
    let mut out = String::new();
    for p in procs.iter_mut() {
        let state = match p.exited() {
            Some(status) => format!("exited: {status}"),
            None => "running".to_owned(),
        };
        out.push_str(&format!(
            "\n--- {} ({state}), last lines of {} ---\n{}\n",
            p.name,
            p.log.display(),
            p.log_tail(25)
        ));
    }
    out
}

/// Fails if any component has exited.
fn check_alive(procs: &mut [Managed]) -> Result<(), StartFailure> {
    let dead = procs
        .iter_mut()
        .find_map(|p| p.exited().map(|s| (p.name, s)));
    let Some((name, status)) = dead else {
        return Ok(());
    };
    let port_taken = procs
        .iter()
        .any(|p| p.log_tail(40).contains("address already in use"));
    let err = anyhow!(
        "{name} exited during start-up ({status}){}",
        describe(procs)
    );
    Err(if port_taken {
        StartFailure::PortTaken(err)
    } else {
        StartFailure::Other(err)
    })
}

fn timed_out(what: &str, procs: &mut [Managed]) -> StartFailure {
    StartFailure::Other(anyhow!(
        "timed out waiting for {what} (set ZKOP_START_TIMEOUT_SECS to wait longer){}",
        describe(procs)
    ))
}

/// Until something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) async fn tcp(
    what: &str,
    port: u16,
    procs: &mut [Managed],
    deadline: Instant,
) -> Result<(), StartFailure> {
    loop {
        check_alive(procs)?;
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(timed_out(what, procs));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Until GET /readyz answers "ok": storage, RBAC bootstrap roles and the other post-start
/// hooks are done, so controllers do not start against a half-initialised server.
pub(crate) async fn apiserver_ready(
    client: &kube::Client,
    procs: &mut [Managed],
    deadline: Instant,
) -> Result<(), StartFailure> {
    loop {
        check_alive(procs)?;
        let req = http::Request::get("/readyz")
            .body(Vec::new())
            .context("cannot build the /readyz request")?;
        let answer = tokio::time::timeout(Duration::from_secs(5), client.request_text(req)).await;
        if let Ok(Ok(body)) = answer
            && body.trim() == "ok"
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(timed_out("kube-apiserver /readyz", procs));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Until the `default` ServiceAccount of namespace `default` exists and has its token Secret:
/// before that the ServiceAccount admission plugin rejects Pods, so a StatefulSet created too
/// early would only get Pods after the controller's back-off.
pub(crate) async fn default_service_account(
    client: &kube::Client,
    procs: &mut [Managed],
    deadline: Instant,
) -> Result<(), StartFailure> {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    loop {
        check_alive(procs)?;
        if let Ok(Ok(Some(sa))) =
            tokio::time::timeout(Duration::from_secs(5), api.get_opt("default")).await
            && sa.secrets.is_some_and(|s| !s.is_empty())
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(timed_out(
                "the default ServiceAccount and its token (kube-controller-manager)",
                procs,
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}
