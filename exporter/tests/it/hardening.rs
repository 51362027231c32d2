//! HTTP hardening of the real binary (`--web.*` limits): header size and header time,
//! idle keep-alive connections, the connection cap, and a slowloris attack while a
//! normal client scrapes. Durations here only bound how long a test waits for something
//! that must happen; none is a performance assertion.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::{Exporter, TempDir, config_file, eventually};

/// An exporter with no collectors, so its open file descriptors are its listener, its
/// runtime and its connections: counting them tells which connections it holds.
fn quiet(args: &[&str]) -> (Exporter, TempDir) {
    let dir = TempDir::new("hardening");
    let cfg = config_file(
        &dir,
        "collectors:\n  disk:\n    enabled: false\n  container:\n    enabled: false\n",
    );
    let mut all = vec!["--config", cfg.as_str()];
    all.extend_from_slice(args);
    (Exporter::start(&all), dir)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connecting to the exporter");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends one keep-alive GET on `s` and reads its response: status and body.
fn get(s: &mut TcpStream, path: &str) -> (u16, Vec<u8>) {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: lakewatch\r\n\r\n").as_bytes())
        .expect("sending a request");
    read_response(s)
}

/// Reads one response with a `Content-Length` body (all of ours have one).
fn read_response(s: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_string();
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .expect("a status line");
            let length: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse().expect("a numeric Content-Length"))
                .expect("a Content-Length header");
            while raw.len() < end + 4 + length {
                let n = s.read(&mut chunk).expect("reading the body");
                assert!(n > 0, "connection closed mid-body");
                raw.extend_from_slice(&chunk[..n]);
            }
            return (status, raw[end + 4..end + 4 + length].to_vec());
        }
        let n = s.read(&mut chunk).expect("reading a response");
        assert!(n > 0, "connection closed before a response");
        raw.extend_from_slice(&chunk[..n]);
    }
}

/// True when the server closes `s` within `within` (without sending anything).
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    match s.read(&mut [0u8; 64]) {
        Ok(0) => true,
        Ok(n) => panic!("expected the connection to close, got {n} bytes"),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true, // reset
    }
}

/// The raw answer to a request whose one header is `pad_bytes` long: what the server
/// sent before closing (a reset counts as an empty answer).
fn with_header_of(addr: SocketAddr, pad_bytes: usize) -> String {
    let mut s = connect(addr);
    let req = format!(
        "GET /healthz HTTP/1.1\r\nHost: lakewatch\r\nConnection: close\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(pad_bytes)
    );
    // The server may close before it has taken the whole request.
    let _ = s.write_all(req.as_bytes());
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("no answer and no close within 10 s")
        }
        Err(_) => {} // reset after a refusal
    }
    String::from_utf8_lossy(&raw).to_string()
}

#[test]
fn oversize_headers_are_refused() {
    let (exp, _dir) = quiet(&["--web.max-header-bytes", "4096"]);
    assert!(with_header_of(exp.addr, 2000).starts_with("HTTP/1.1 200 "));
    let refused = with_header_of(exp.addr, 8000);
    assert!(
        refused.is_empty() || refused.starts_with("HTTP/1.1 431 "),
        "{refused}"
    );

    // The default, 16 KiB, takes the same request and refuses a larger one.
    let (default, _dir) = quiet(&[]);
    assert!(with_header_of(default.addr, 8000).starts_with("HTTP/1.1 200 "));
    let refused = with_header_of(default.addr, 20_000);
    assert!(
        refused.is_empty() || refused.starts_with("HTTP/1.1 431 "),
        "{refused}"
    );
}

#[test]
fn idle_keep_alive_connection_is_closed() {
    let (exp, _dir) = quiet(&["--web.idle-timeout", "1s"]);
    let mut s = connect(exp.addr);
    assert_eq!(get(&mut s, "/metrics").0, 200);
    assert_eq!(
        get(&mut s, "/healthz").0,
        200,
        "the connection is kept alive"
    );
    assert!(
        closed_by_server(&mut s, Duration::from_secs(30)),
        "an idle connection was still open after 30 s with --web.idle-timeout 1s"
    );
}

/// The header timer runs from the connection's opening and from a request's first
/// byte, not while a kept-alive connection waits for its next request.
#[test]
fn slow_headers_are_cut_but_idle_connections_are_not() {
    let (exp, _dir) = quiet(&[
        "--web.header-read-timeout",
        "1s",
        "--web.idle-timeout",
        "1m",
    ]);
    let mut silent = connect(exp.addr);
    let mut slow = connect(exp.addr);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: lakewatch\r\n")
        .unwrap();
    let mut kept = connect(exp.addr);
    assert_eq!(get(&mut kept, "/healthz").0, 200);

    for (what, s) in [("silent", &mut silent), ("slow", &mut slow)] {
        assert!(
            closed_by_server(s, Duration::from_secs(30)),
            "a {what} client was still connected after 30 s with --web.header-read-timeout 1s"
        );
    }
    // Idle for twice the header timeout, the kept-alive connection is still served.
    // Its next request's first byte starts a fresh header timer.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(get(&mut kept, "/healthz").0, 200);
    kept.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    assert!(closed_by_server(&mut kept, Duration::from_secs(30)));
}

#[test]
fn connection_cap_queues_new_connections() {
    let (exp, _dir) = quiet(&[
        "--web.max-connections",
        "3",
        "--web.header-read-timeout",
        "1m",
    ]);
    let base = exp.open_fds();
    // Three connections in the middle of their headers hold every slot.
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = connect(exp.addr);
            s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    eventually(
        Duration::from_secs(20),
        "the exporter to accept the three held connections",
        || (exp.open_fds() >= base + 3).then_some(()),
    );

    // The kernel completes the fourth connection into the listen backlog, but the
    // exporter does not take it while the three are held.
    let mut fourth = connect(exp.addr);
    fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: lakewatch\r\n\r\n")
        .unwrap();
    fourth
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    match fourth.read(&mut [0u8; 64]) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the fourth connection was answered while three were held: {other:?}"),
    }

    // A slot frees up: the queued connection is served.
    drop(held.pop());
    fourth
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(read_response(&mut fourth).0, 200);
    assert!(
        exp.log_text().contains("connection limit reached"),
        "{}",
        exp.log_text()
    );
}

/// Idle keep-alive connections give their slots up at the cap, so a client that has
/// a request to make is not kept waiting by connections that have none.
#[test]
fn idle_connections_make_room_at_the_cap() {
    let (exp, _dir) = quiet(&["--web.max-connections", "2"]);
    let mut idle: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(exp.addr);
            assert_eq!(get(&mut s, "/healthz").0, 200);
            s
        })
        .collect();
    // Without eviction both slots stay taken for the 2 m idle timeout and this read
    // times out after 10 s.
    let mut third = connect(exp.addr);
    assert_eq!(get(&mut third, "/healthz").0, 200);
    // Its slot came from an idle connection, closed before it was served. (Which one
    // depends on timing: one still flushing its response is not idle yet.)
    let closed = idle
        .iter_mut()
        .map(|s| closed_by_server(s, Duration::from_secs(5)))
        .filter(|closed| *closed)
        .count();
    assert!(closed >= 1, "log:\n{}", exp.log_text());
}

/// 500 clients that each send a request one byte per second, while another client
/// scrapes: every scrape is answered, and the server disconnects the slow clients
/// after the (default, 10 s) header timeout, giving their file descriptors back.
#[test]
fn slowloris_does_not_stop_scrapes() {
    const ATTACKERS: usize = 500;
    let exp = Exporter::start(&[]);
    exp.wait_ready(Duration::from_secs(20));
    let base = exp.open_fds();
    let addr = exp.addr;

    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let attack = std::thread::spawn(move || {
        let mut socks: Vec<Option<TcpStream>> = (0..ATTACKERS)
            .map(|_| Some(TcpStream::connect(addr).expect("an attacker connects")))
            .collect();
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: lakewatch\r\nUser-Agent: slowloris\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(100)
        );
        let mut cut = 0;
        // One byte per second per connection; a write fails once the server has
        // closed the connection. Bounded: at most 60 rounds.
        for i in 0..60 {
            if cut == ATTACKERS || stop.load(Ordering::Relaxed) {
                break;
            }
            let byte = &request.as_bytes()[i..=i];
            for slot in &mut socks {
                if let Some(s) = slot
                    && s.write_all(byte).is_err()
                {
                    *slot = None;
                    cut += 1;
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        cut
    });
    // Stop the attack even if an assertion below fails.
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _stop = StopOnDrop(done);

    eventually(
        Duration::from_secs(30),
        "the exporter to hold the attackers' connections",
        || (exp.open_fds() >= base + ATTACKERS * 9 / 10).then_some(()),
    );
    for i in 0..10 {
        let mut s = connect(exp.addr);
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (status, body) = get(&mut s, "/metrics");
        assert_eq!(status, 200, "scrape {i}");
        assert!(
            String::from_utf8_lossy(&body).contains("lakewatch_build_info"),
            "scrape {i}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        exp.open_fds() >= base + ATTACKERS / 2,
        "the scrapes ran while the attackers were connected"
    );

    // The attackers are still sending; the server cuts them and frees their fds.
    eventually(
        Duration::from_secs(60),
        "the exporter's open fds to fall back",
        || (exp.open_fds() <= base + 10).then_some(()),
    );
    let cut = attack.join().expect("the attack thread");
    assert_eq!(
        cut, ATTACKERS,
        "every slow client was disconnected by the server"
    );
    let mut s = connect(exp.addr);
    assert_eq!(get(&mut s, "/metrics").0, 200);
}
