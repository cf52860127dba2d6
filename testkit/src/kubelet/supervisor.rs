//! Runs one container for the life of its pod: resolve image and env, spawn, watch probes,
//! and restart per restartPolicy with crash-loop back-off; stop gracefully on request.

use super::backoff::Backoff;
use super::downward::PodFacts;
use super::env::{EnvContext, container_env};
use super::expand::expand;
use super::image::{self, Image};
use super::pod_ctx::PodCtx;
use super::pod_state::CState;
use super::probe_runner::{self, ProbeTarget};
use super::process::{self, SpawnSpec, exit_code, signal};
use super::registry::{ContainerCtl, RunningProc};
use super::state_handle::StateHandle;
use super::{mounts, termination, wrapper};
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::jiff::Timestamp;
use std::net::IpAddr;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How a supervised container ended for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exited and the restart policy says done (exit code recorded in the state).
    Exited { success: bool },
    /// The pod was asked to stop.
    Stopped,
}

/// Why the wait on a running container ended.
enum Wake {
    Exited(std::io::Result<ExitStatus>),
    Stop(Duration),
    Kill(String),
}

pub async fn supervise(
    pod: Arc<PodCtx>,
    c: Container,
    state: StateHandle,
    ctl: ContainerCtl,
) -> Outcome {
    let opts = &pod.shared.opts;
    let mut backoff = Backoff::new(opts.initial_backoff, opts.max_backoff);
    let mut runs = 0u32;
    loop {
        if pod.stop_requested() {
            return Outcome::Stopped;
        }
        let prepared = match prepare(&pod, &c).await {
            Ok(p) => p,
            Err((reason, message)) => {
                state.update(|r| r.state = CState::waiting(reason, Some(message.clone())));
                let delay = backoff
                    .delay_after(Duration::ZERO)
                    .max(Duration::from_secs(1));
                if reason == "ErrImagePull" {
                    // Like the kubelet: one ErrImagePull, then ImagePullBackOff while waiting.
                    if !pod.sleep_unless_stopped(Duration::from_secs(1)).await {
                        return Outcome::Stopped;
                    }
                    state.update(|r| r.state = CState::waiting("ImagePullBackOff", Some(message)));
                }
                if !pod.sleep_unless_stopped(delay).await {
                    return Outcome::Stopped;
                }
                continue;
            }
        };
        let log = pod.log_dir.join(format!("{}.log", c.name));
        // The log holds every run; the fallback termination message is this run's tail.
        let log_start = std::fs::metadata(&log).map_or(0, |m| m.len());
        let spec = SpawnSpec {
            netns: &pod.net.netns,
            wrapper: &prepared.wrapper,
            argv: &prepared.argv,
            env: &prepared.env,
            log: &log,
        };
        let started = match process::spawn_container(&spec).await {
            Ok(s) => s,
            Err(e) => {
                state.update(|r| {
                    r.state = CState::waiting("RunContainerError", Some(format!("{e:#}")))
                });
                if !pod
                    .sleep_unless_stopped(backoff.delay_after(Duration::ZERO))
                    .await
                {
                    return Outcome::Stopped;
                }
                continue;
            }
        };
        runs += 1;
        let began = Instant::now();
        let outer = started.outer_pid;
        let init_pid = started.init_pid;
        ctl.set(Some(RunningProc {
            outer_pid: outer,
            init_pid,
            env: prepared.env.clone(),
        }));
        state.update(|r| {
            r.archive_termination();
            if runs > 1 {
                r.restart_count += 1;
            }
            r.container_id = Some(format!(
                "process://{}/{}",
                pod.shared.node_name,
                init_pid.unwrap_or(outer)
            ));
            r.state = CState::Running {
                started_at: Timestamp::now(),
            };
            r.ready = false;
            r.started = false;
        });
        let (kill_tx, mut kill_rx) = mpsc::channel(1);
        let probes = AbortOnDrop(tokio::spawn(probe_runner::run(
            ProbeTarget {
                container: c.clone(),
                ctl: ctl.clone(),
                pod_ip: IpAddr::V4(pod.net.ip),
                state: state.clone(),
                kill: kill_tx,
            },
            began,
        )));
        let mut child = started.child;
        let wake = tokio::select! {
            r = child.wait() => Wake::Exited(r),
            g = pod.stopped() => Wake::Stop(g),
            Some(why) = kill_rx.recv() => Wake::Kill(why),
        };
        drop(probes);
        let grace = termination_grace(&pod);
        let (status, stopping) = match wake {
            Wake::Exited(r) => (r, false),
            Wake::Stop(g) => (
                terminate(&c, &prepared.env, &mut child, init_pid, outer, g).await,
                true,
            ),
            Wake::Kill(why) => {
                tracing::info!(pod = %pod.name(), container = %c.name, %why, "killing container");
                (
                    terminate(&c, &prepared.env, &mut child, init_pid, outer, grace).await,
                    false,
                )
            }
        };
        ctl.set(None);
        tracing::debug!(
            pod = %pod.name(), container = %c.name, ?status, ran = ?began.elapsed(), "container exited"
        );
        let (code, sig) = match &status {
            Ok(s) => (exit_code(s), s.signal()),
            Err(_) => (-1, None),
        };
        let message = termination::message(&c, &prepared.message_file, code, &log, log_start);
        state.update(|r| r.terminated(code, sig, message, Timestamp::now()));
        if stopping || pod.stop_requested() {
            return Outcome::Stopped;
        }
        let restart = match (state.init, pod.restart_policy().as_str()) {
            (true, _) if code == 0 => false,
            (_, "Never") => false,
            (_, "OnFailure") => code != 0,
            (false, _) => true,
            (true, _) => true,
        };
        if !restart {
            return Outcome::Exited { success: code == 0 };
        }
        let delay = backoff.delay_after(began.elapsed());
        if !delay.is_zero() {
            let msg = format!(
                "back-off {}s restarting failed container={} pod={}",
                delay.as_secs(),
                c.name,
                pod.name()
            );
            state.update(|r| {
                r.archive_termination();
                r.state = CState::waiting("CrashLoopBackOff", Some(msg));
            });
            if !pod.sleep_unless_stopped(delay).await {
                return Outcome::Stopped;
            }
        }
    }
}

/// Aborts the probe task when the run ends, also when this supervisor itself is aborted
/// (pod worker dropped): probes must never outlive their container run.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Prepared {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    wrapper: std::path::PathBuf,
    /// Host side of the container's terminationMessagePath.
    message_file: std::path::PathBuf,
}

/// Image, env, mounts and wrapper script; `Err((reason, message))` for the waiting state.
async fn prepare(pod: &PodCtx, c: &Container) -> Result<Prepared, (&'static str, String)> {
    let shared = &pod.shared;
    let image_name = c.image.clone().unwrap_or_default();
    let img = image::classify(&image_name, shared.opts.operator_binary.as_deref())
        .map_err(|m| ("ErrImagePull", m))?;
    if let Image::Operator(bin) = &img
        && !bin.exists()
    {
        return Err((
            "ErrImagePull",
            format!("operator binary {} does not exist", bin.display()),
        ));
    }
    let facts: &PodFacts = &pod.facts;
    let ctx = EnvContext {
        pod: &pod.pod,
        facts,
        image_env: image::image_env(&img),
        shim_bin: shared.shim_bin.display().to_string(),
        api_host: shared.api_host.clone(),
        api_port: shared.api_port,
    };
    let env = container_env(&shared.client, &ctx, c)
        .await
        .map_err(|m| ("CreateContainerConfigError", m))?;
    let lookup = |n: &str| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let command: Vec<String> = c
        .command
        .iter()
        .flatten()
        .map(|s| expand(s, lookup))
        .collect();
    let args: Vec<String> = c.args.iter().flatten().map(|s| expand(s, lookup)).collect();
    let argv = image::argv(&img, &shared.shim_bin, &command, &args);
    let mut all_mounts = c.volume_mounts.clone().unwrap_or_default();
    all_mounts.extend(pod.extra_mount.clone());
    let mut plans = mounts::plan(&all_mounts, &pod.volume_dirs, &env)
        .map_err(|m| ("CreateContainerConfigError", m))?;
    let message_file = termination::prepare(&pod.pod_dir, c).map_err(|e| {
        (
            "RunContainerError",
            format!("termination message file: {e}"),
        )
    })?;
    plans.push(message_file.mount);
    let script = wrapper::render(&plans, &pod.hostname, c.working_dir.as_deref());
    let wrapper_path = pod.pod_dir.join(format!("run-{}.sh", c.name));
    std::fs::write(&wrapper_path, script)
        .map_err(|e| ("RunContainerError", format!("writing wrapper: {e}")))?;
    Ok(Prepared {
        argv,
        env,
        wrapper: wrapper_path,
        message_file: message_file.host,
    })
}

fn termination_grace(pod: &PodCtx) -> Duration {
    let secs = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    Duration::from_secs(secs.max(0) as u64)
}

/// preStop exec hook, SIGTERM to the container's init, SIGKILL after `grace`.
async fn terminate(
    c: &Container,
    env: &[(String, String)],
    child: &mut Child,
    init_pid: Option<u32>,
    outer: u32,
    grace: Duration,
) -> std::io::Result<ExitStatus> {
    let deadline = Instant::now() + grace;
    let pre_stop = c
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
        .and_then(|h| h.exec.as_ref());
    if let (Some(init), Some(exec)) = (init_pid, pre_stop) {
        let argv = exec.command.clone().unwrap_or_default();
        let _ = process::exec_in(init, &argv, env, grace).await;
    }
    tracing::debug!(container = %c.name, ?init_pid, outer, ?grace, "terminating container");
    if !grace.is_zero() {
        signal(init_pid.unwrap_or(outer) as i32, libc::SIGTERM);
        if let Ok(r) = tokio::time::timeout_at(deadline, child.wait()).await {
            return r;
        }
    }
    // Killing the PID namespace's init takes the whole container down with it.
    if let Some(init) = init_pid {
        signal(init as i32, libc::SIGKILL);
    }
    signal(outer as i32, libc::SIGKILL);
    child.wait().await
}
