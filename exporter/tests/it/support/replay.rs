//! The Trino replay coordinator: a tokio + hyper server in the test process that answers
//! Trino's endpoints with scripted bodies built from `tests/fixtures/trino/` (shapes follow
//! Trino's source; see the README there). Each path serves its scripted replies in order,
//! one per request, repeating the last one, so polls of the real exporter binary walk
//! through a scenario. Used by the Trino tests and the lab.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::eventually_with;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trino");

pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture exists")
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    Body(u16, String),
    /// Never answers (until the server stops).
    Hang,
    /// The web UI login: 303 with the session cookie.
    Login(&'static str),
    /// 200 with the body only when the request carries the cookie, else 401.
    NeedsCookie(&'static str, String),
}

pub(crate) fn ok(body: impl Into<String>) -> Reply {
    Reply::Body(200, body.into())
}

#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
}

#[derive(Default)]
struct Script {
    routes: HashMap<String, (Vec<Reply>, usize)>,
    log: Vec<Seen>,
}

/// The replay server; stops when dropped.
pub(crate) struct Replay {
    pub addr: SocketAddr,
    https: bool,
    script: Arc<Mutex<Script>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Replay {
    pub(crate) fn start() -> Replay {
        Replay::serve(None, "127.0.0.1:0")
    }

    /// Listening on every interface, so containers reach it through their bridge's
    /// gateway; [`Replay::url`] still names the loopback address.
    pub(crate) fn start_everywhere() -> Replay {
        Replay::serve(None, "0.0.0.0:0")
    }

    /// The same over TLS, with the `server1` certificate of the test PKI in `pki`.
    pub(crate) fn start_tls(pki: &std::path::Path) -> Replay {
        let config = crate::support::tls_server_config(pki, "server1", false);
        Replay::serve(Some(tokio_rustls::TlsAcceptor::from(config)), "127.0.0.1:0")
    }

    fn serve(tls: Option<tokio_rustls::TlsAcceptor>, bind: &str) -> Replay {
        let https = tls.is_some();
        let script = Arc::new(Mutex::new(Script::default()));
        let std_listener = std::net::TcpListener::bind(bind).expect("binding the replay server");
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = script.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the replay server");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let script = shared.clone();
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                let service = hyper::service::service_fn(move |req| {
                                    answer(script.clone(), req)
                                });
                                let http = hyper::server::conn::http1::Builder::new();
                                match tls {
                                    None => {
                                        let _ = http
                                            .serve_connection(TokioIo::new(stream), service)
                                            .await;
                                    }
                                    // A client that rejects our certificate ends here.
                                    Some(tls) => {
                                        if let Ok(stream) = tls.accept(stream).await {
                                            let _ = http
                                                .serve_connection(TokioIo::new(stream), service)
                                                .await;
                                        }
                                    }
                                }
                            });
                        }
                    }
                }
            });
            // Dropping the runtime cancels hanging replies.
        });
        Replay {
            addr,
            https,
            script,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub(crate) fn url(&self, prefix: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{prefix}", self.addr)
    }

    /// Scripts `path`: one reply per request, the last one repeating.
    pub(crate) fn route(&self, path: &str, replies: Vec<Reply>) {
        self.script
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), (replies, 0));
    }

    pub(crate) fn served(&self, path: &str) -> usize {
        self.script
            .lock()
            .unwrap()
            .routes
            .get(path)
            .map_or(0, |r| r.1)
    }

    pub(crate) fn requests(&self, path: &str) -> Vec<Seen> {
        let s = self.script.lock().unwrap();
        s.log.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits until `path` was requested at least `n` times.
    pub(crate) fn wait_served(&self, path: &str, n: usize, within: Duration) {
        eventually_with(
            within,
            &format!("{path} to be served {n} times"),
            || format!("served {} times", self.served(path)),
            || (self.served(path) >= n).then_some(()),
        );
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn answer(
    script: Arc<Mutex<Script>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let reply = {
        let mut s = script.lock().unwrap();
        s.log.push(Seen {
            method: req.method().to_string(),
            path: path.clone(),
            headers: headers.clone(),
        });
        s.routes.get_mut(&path).map(|(replies, served)| {
            let r = replies[(*served).min(replies.len() - 1)].clone();
            *served += 1;
            r
        })
    };
    let respond = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    Ok(match reply {
        None => respond(404, String::new()),
        Some(Reply::Body(status, body)) => respond(status, body),
        Some(Reply::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            respond(500, String::new())
        }
        Some(Reply::Login(cookie)) => Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header("location", "/ui/")
            .header(
                "set-cookie",
                format!("Trino-UI-Token={cookie}; Path=/ui; HttpOnly"),
            )
            .body(Full::new(Bytes::new()))
            .unwrap(),
        Some(Reply::NeedsCookie(cookie, body)) => {
            let has = headers
                .get("cookie")
                .is_some_and(|c| c.contains(&format!("Trino-UI-Token={cookie}")));
            if has {
                respond(200, body)
            } else {
                respond(401, String::new())
            }
        }
    })
}

/// A `/v1/query` entry built from the fixture, as `BasicQueryInfo` would write it.
pub(crate) struct Q {
    pub id: &'static str,
    pub state: &'static str,
    pub execution: &'static str,
    pub queued: &'static str,
    pub cpu: &'static str,
    pub input: &'static str,
    pub error_type: Option<&'static str>,
    pub blocked: bool,
}

pub(crate) fn q(id: &'static str, state: &'static str) -> Q {
    Q {
        id,
        state,
        execution: "2.30s",
        queued: "1.20ms",
        cpu: "1.85s",
        input: "8650480B",
        error_type: None,
        blocked: false,
    }
}

pub(crate) fn entry(q: &Q, id: &str) -> Value {
    let mut v: Value = serde_json::from_str(&fixture("query.json")).expect("query.json is JSON");
    v["queryId"] = json!(id);
    v["session"]["queryId"] = json!(id);
    v["state"] = json!(q.state);
    let stats = &mut v["queryStats"];
    stats["executionTime"] = json!(q.execution);
    stats["queuedTime"] = json!(q.queued);
    stats["totalCpuTime"] = json!(q.cpu);
    stats["rawInputDataSize"] = json!(q.input);
    stats["fullyBlocked"] = json!(q.blocked);
    if !matches!(q.state, "FINISHED" | "FAILED")
        && let Some(s) = stats.as_object_mut()
    {
        // Optional fields of queries still running are omitted, not null.
        s.remove("endTime");
        s.remove("progressPercentage");
        s.insert("userMemoryReservation".into(), json!("1.50kB"));
    }
    if let Some(kind) = q.error_type {
        v["errorType"] = json!(kind);
        v["errorCode"] =
            json!({"code": 1, "name": "GENERIC_ERROR", "type": kind, "retriable": false});
    }
    v
}

pub(crate) fn list(queries: &[Q]) -> Reply {
    ok(Value::Array(queries.iter().map(|q| entry(q, q.id)).collect()).to_string())
}
