//! One stand-in ZooKeeper member: a TCP server on `IP:2181` answering four-letter words
//! and health sessions from its [`Ensemble`]'s state, with crash and freeze injection.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::ensemble::{Fault, MemberView, Role};
use super::replies::{self, Counters};
use super::session;
use super::shared::Ensemble;

/// What every connection of a member shares.
pub(crate) struct MemberCtx {
    pub(crate) myid: u64,
    ensemble: Arc<Ensemble>,
    fault: watch::Receiver<Fault>,
    port: u16,
    started: Instant,
    received: AtomicU64,
    sent: AtomicU64,
    connections: AtomicU64,
}

impl MemberCtx {
    pub(crate) fn view(&self) -> MemberView {
        self.ensemble.view(self.myid)
    }

    pub(crate) fn serving(&self) -> bool {
        self.view().role != Role::NotServing
    }

    pub(crate) fn count_received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    fn counters(&self) -> Counters {
        Counters {
            received: self.received.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            uptime_ms: self.started.elapsed().as_millis(),
        }
    }

    /// Waits while the member is frozen (a stopped process answers nothing); an error once
    /// it has crashed.
    pub(crate) async fn gate(&self) -> io::Result<()> {
        let mut fault = self.fault.clone();
        loop {
            let now = *fault.borrow_and_update();
            match now {
                Fault::None => return Ok(()),
                Fault::Crashed => return Err(io::ErrorKind::ConnectionAborted.into()),
                Fault::Frozen => {
                    if fault.changed().await.is_err() {
                        return Err(io::ErrorKind::ConnectionAborted.into());
                    }
                }
            }
        }
    }
}

/// A running stand-in member. Dropping it is a crash that never restarts, and the member
/// leaves its ensemble.
pub struct StandinMember {
    ctx: Arc<MemberCtx>,
    fault: watch::Sender<Fault>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl StandinMember {
    /// Binds `addr` (so a taken address fails here; port 0 picks one) and joins the ensemble as `myid`;
    /// `host` is its name in `conf`.
    pub async fn start(
        addr: SocketAddr,
        myid: u64,
        host: String,
        ensemble: Arc<Ensemble>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        // Port 0 (tests) becomes the real port, which a restart must bind again.
        let addr = listener.local_addr()?;
        let (fault, fault_rx) = watch::channel(Fault::None);
        let ctx = Arc::new(MemberCtx {
            myid,
            ensemble: ensemble.clone(),
            fault: fault_rx,
            port: addr.port(),
            started: Instant::now(),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        ensemble.update(|e| e.join(myid, host));
        let task = tokio::spawn(accept_loop(addr, listener, ctx.clone()));
        Ok(Self {
            ctx,
            fault,
            addr,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn myid(&self) -> u64 {
        self.ctx.myid
    }

    pub fn fault(&self) -> Fault {
        *self.fault.borrow()
    }

    /// Role as the member would report it now.
    pub fn role(&self) -> Role {
        self.ctx.view().role
    }

    /// The process dies: the listener closes (connects are refused) and so does every
    /// connection (the client sees FIN at once).
    pub fn crash(&self) {
        self.set(Fault::Crashed);
    }

    /// The process stops (SIGSTOP): connections stay open and nothing is answered.
    pub fn freeze(&self) {
        self.set(Fault::Frozen);
    }

    /// Restart after a crash, thaw after a freeze.
    pub fn restore(&self) {
        self.set(Fault::None);
    }

    fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
        let id = self.ctx.myid;
        self.ctx.ensemble.update(|e| e.set_fault(id, fault));
    }
}

impl Drop for StandinMember {
    fn drop(&mut self) {
        self.fault.send_replace(Fault::Crashed);
        self.task.abort();
        let id = self.ctx.myid;
        self.ctx.ensemble.update(|e| e.leave(id));
    }
}

async fn accept_loop(addr: SocketAddr, listener: TcpListener, ctx: Arc<MemberCtx>) {
    let mut listener = Some(listener);
    let mut fault = ctx.fault.clone();
    loop {
        let now = *fault.borrow_and_update();
        match (now, &listener) {
            (Fault::Crashed, Some(_)) => listener = None,
            (Fault::None | Fault::Frozen, None) => match TcpListener::bind(addr).await {
                Ok(l) => listener = Some(l),
                // The old socket may linger a moment; a restart retries like a supervisor.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            (Fault::None, Some(l)) => {
                tokio::select! {
                    accepted = l.accept() => {
                        if let Ok((stream, _)) = accepted {
                            tokio::spawn(connection(stream, ctx.clone()));
                        }
                    }
                    changed = fault.changed() => if changed.is_err() { return },
                }
            }
            // Crashed without a listener, or frozen (the kernel still completes
            // handshakes into the backlog, as for a stopped process): wait.
            _ => {
                if fault.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn connection(stream: TcpStream, ctx: Arc<MemberCtx>) {
    ctx.connections.fetch_add(1, Ordering::Relaxed);
    let _ = stream.set_nodelay(true);
    let mut term = ctx.ensemble.subscribe_term();
    term.borrow_and_update();
    let mut fault = ctx.fault.clone();
    let crashed = async {
        while *fault.borrow_and_update() != Fault::Crashed {
            if fault.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = handle(stream, &ctx) => {}
        _ = crashed => {}
        // Leadership changed: ZooKeeper drops every client connection.
        _ = term.changed() => {}
    }
    ctx.connections.fetch_sub(1, Ordering::Relaxed);
}

async fn handle(mut s: TcpStream, ctx: &MemberCtx) -> io::Result<()> {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    if !replies::is_word(&head) {
        return session::serve(s, i32::from_be_bytes(head), ctx).await;
    }
    ctx.count_received();
    ctx.gate().await?;
    let word = String::from_utf8_lossy(&head).into_owned();
    let reply = replies::render(&word, &ctx.view(), ctx.counters(), ctx.port);
    s.write_all(reply.as_bytes()).await?;
    ctx.count_sent();
    s.shutdown().await
}
