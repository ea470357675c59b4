//! The awc clients of one worker (or of one background task): one pool per outbound TLS profile,
//! connect and handshake timeouts, no redirects, idle pools released.

use crate::tls::ClientTls;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a pooled connection may stay idle before it is closed.
pub const POOL_IDLE: Duration = Duration::from_secs(30);

/// A worker's outbound clients, keyed by TLS profile ([`ClientTls::id`]): every https peer with
/// the same trust and client certificate shares a pool, so TLS sessions are resumed on it.
///
/// awc closes an idle pooled connection only when the pool is next used, so after a burst the
/// pool's sockets would stay open, in CLOSE_WAIT once the peer times them out, for as long as no
/// request comes. [`Outbound::sweep`] drops a pool unused for [`POOL_IDLE`]: it closes its
/// connections as soon as the last request holding it finishes.
///
/// The timeouts follow the config: [`Outbound::retime`] drops every pool when they change, so
/// the next exchange builds its client with the new ones (a reload applies them live).
pub struct Outbound {
    connect: Cell<Duration>,
    total: Cell<Duration>,
    pools: RefCell<HashMap<u64, Pool>>,
}

struct Pool {
    client: awc::Client,
    last_used: Instant,
}

impl Outbound {
    /// `connect` bounds the TCP connect and the TLS handshake each; `total` is the default for a
    /// whole exchange (callers set their own per request).
    pub fn new(connect: Duration, total: Duration) -> Outbound {
        Outbound {
            connect: Cell::new(connect),
            total: Cell::new(total),
            pools: RefCell::new(HashMap::new()),
        }
    }

    /// Puts new timeouts in force: when they differ, every pool is dropped (its idle connections
    /// close; exchanges in flight keep their client) and the next one is built with them. Cheap
    /// when nothing changed, so the mediation calls it with the snapshot's values per request.
    pub fn retime(&self, connect: Duration, total: Duration) -> bool {
        if self.connect.get() == connect && self.total.get() == total {
            return false;
        }
        self.connect.set(connect);
        self.total.set(total);
        self.pools.borrow_mut().clear();
        true
    }

    /// The client for one exchange under `tls` (a cheap handle on the pool).
    pub fn get(&self, tls: &ClientTls) -> awc::Client {
        let mut pools = self.pools.borrow_mut();
        let pool = pools.entry(tls.id()).or_insert_with(|| Pool {
            client: build(tls, self.connect.get(), self.total.get()),
            last_used: Instant::now(),
        });
        pool.last_used = Instant::now();
        pool.client.clone()
    }

    /// The bound of each TCP connect and each TLS handshake.
    pub fn connect_timeout(&self) -> Duration {
        self.connect.get()
    }

    /// The client for peers under the system trust store.
    pub fn system(&self) -> awc::Client {
        self.get(&ClientTls::system())
    }

    /// Drops every pool not used for `idle`; true when one was dropped.
    pub fn sweep(&self, idle: Duration) -> bool {
        let mut pools = self.pools.borrow_mut();
        let before = pools.len();
        pools.retain(|_, p| p.last_used.elapsed() < idle);
        pools.len() < before
    }

    /// Runs [`Outbound::sweep`] on the current thread every `POOL_IDLE / 2` until the owner (the
    /// last strong reference) goes away.
    pub fn spawn_sweeper(this: &std::sync::Arc<Outbound>) {
        let weak = std::sync::Arc::downgrade(this);
        actix_rt::spawn(async move {
            let mut tick = actix_rt::time::interval(POOL_IDLE / 2);
            tick.tick().await;
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(c) => {
                        c.sweep(POOL_IDLE);
                    }
                    None => break,
                }
            }
        });
    }
}

fn build(tls: &ClientTls, connect: Duration, total: Duration) -> awc::Client {
    let connector = awc::Connector::new()
        .rustls_0_23(tls.config())
        .timeout(connect)
        .handshake_timeout(connect)
        .conn_keep_alive(POOL_IDLE)
        .conn_lifetime(Duration::from_secs(300));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .no_default_headers()
        .timeout(total)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn sweep_closes_the_idle_pool_and_only_once() {
        let (url, closed) = crate::backend::one_connection_server("{}");
        let clients = Outbound::new(Duration::from_secs(2), Duration::from_secs(5));
        let mut res = clients.system().get(&url).send().await.expect("send");
        assert_eq!(res.body().await.expect("body").as_ref(), b"{}");
        drop(res);
        // Used just now: not swept, and the pooled connection stays open.
        assert!(!clients.sweep(Duration::from_secs(60)));
        assert!(closed.recv_timeout(Duration::from_millis(300)).is_err());
        assert!(clients.sweep(Duration::ZERO));
        closed
            .recv_timeout(Duration::from_secs(5))
            .expect("the swept pool closes its connection");
        // No pool is left to drop until one is used again.
        assert!(!clients.sweep(Duration::ZERO));
    }

    #[actix_rt::test]
    async fn c7_retime_rebuilds_the_pools_only_when_a_timeout_changes() {
        let (url, closed) = crate::backend::one_connection_server("{}");
        let clients = Outbound::new(Duration::from_secs(2), Duration::from_secs(5));
        let mut res = clients.system().get(&url).send().await.expect("send");
        assert_eq!(res.body().await.expect("body").as_ref(), b"{}");
        drop(res);
        assert!(!clients.retime(Duration::from_secs(2), Duration::from_secs(5)));
        assert!(closed.recv_timeout(Duration::from_millis(300)).is_err());
        assert!(clients.retime(Duration::from_millis(300), Duration::from_secs(5)));
        assert_eq!(clients.connect_timeout(), Duration::from_millis(300));
        closed
            .recv_timeout(Duration::from_secs(5))
            .expect("the old pool is dropped and closes its connection");
        assert!(clients.pools.borrow().is_empty());
        assert!(clients.retime(Duration::from_millis(300), Duration::from_secs(1)));
        assert!(!clients.retime(Duration::from_millis(300), Duration::from_secs(1)));
    }
}
