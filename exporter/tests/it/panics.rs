//! A collector that panics, through the library API (`scheduler` + `server` on a
//! loopback port): it panics in every way a collector can — while its future is
//! polled, while `collect()` builds the future, and while the future is dropped after
//! finishing or after a timeout (which kills its task). /metrics keeps answering,
//! another collector keeps updating, each panic is counted and logged, the dead task
//! is restarted, and the collector is up again once it stops panicking.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use lakewatch_catalog as cat;
use lakewatch_exporter::collector::{BoxFuture, CollectError, Collector, Fragment, Job, Settings};
use lakewatch_exporter::config::schedule::Schedule;
use lakewatch_exporter::scheduler;
use lakewatch_exporter::server::{self, Limits, Security};

use crate::support::{eventually, http, value};

/// A future that panics when it is dropped.
struct DropBomb<F>(F, &'static str);

impl<F: Future + Unpin> Future for DropBomb<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<F> Drop for DropBomb<F> {
    fn drop(&mut self) {
        panic!("{}", self.1);
    }
}

/// One sample whose value is the cycle number.
fn fragment(target: &str, cycle: u32) -> Fragment {
    let mut f = Fragment::default();
    f.push(
        &cat::FILESYSTEM_FILES,
        [target, "test", "/"],
        f64::from(cycle),
    );
    f
}

/// Panics in cycles 2 to 5, each time a different way; fine before and after.
struct Flaky {
    cycles: u32,
}

impl Collector for Flaky {
    fn name(&self) -> &'static str {
        "test"
    }
    fn target(&self) -> &str {
        "flaky"
    }
    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
        self.cycles += 1;
        let cycle = self.cycles;
        match cycle {
            2 => Box::pin(async { panic!("boom while polled") }),
            3 => panic!("boom while starting a cycle"),
            4 => Box::pin(DropBomb(
                Box::pin(async move { Ok(fragment("flaky", cycle)) }),
                "boom while dropping a finished cycle",
            )),
            5 => Box::pin(DropBomb(
                Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    unreachable!("cut by the timeout")
                }),
                "boom while dropping a timed-out cycle",
            )),
            _ => Box::pin(async move { Ok(fragment("flaky", cycle)) }),
        }
    }
}

/// Never panics; shares its cycle count with the test.
struct Steady {
    cycles: Arc<AtomicU32>,
}

impl Collector for Steady {
    fn name(&self) -> &'static str {
        "test"
    }
    fn target(&self) -> &str {
        "steady"
    }
    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
        let cycle = self.cycles.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move { Ok(fragment("steady", cycle)) })
    }
}

/// Log lines, captured in memory.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panicking_collector_is_restarted_and_reported() {
    let log = Log::default();
    let sink = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let _context = runtime.enter();
    let schedule = Schedule {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(50),
    };
    let steady_cycles = Arc::new(AtomicU32::new(0));
    let (hub, _scheduler, tasks) = scheduler::start(
        vec![
            Job {
                schedule,
                collector: Box::new(Flaky { cycles: 0 }),
                settings: Settings::opaque(),
            },
            Job {
                schedule,
                collector: Box::new(Steady {
                    cycles: steady_cycles.clone(),
                }),
                settings: Settings::opaque(),
            },
        ],
        1000,
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binding a loopback port");
    let addr = listener.local_addr().unwrap();
    runtime.spawn(server::serve(
        listener,
        hub,
        Security::default().into(),
        Limits::default(),
        std::future::pending(),
    ));

    let flaky = [("device", "flaky")];
    let steady = [("device", "steady")];
    let panics = [("target", "flaky"), ("kind", "panic")];
    let mut steady_seen = Vec::new();
    let text = eventually(
        Duration::from_secs(60),
        "the flaky collector to be up again after four panics",
        || {
            // Every scrape is answered, panics or not.
            let r = http(addr, "GET", "/metrics", &[]);
            assert_eq!(r.status, 200);
            let text = r.text();
            if let Some(v) = value(&text, "node_filesystem_files", &steady) {
                steady_seen.push(v);
            }
            let recovered = value(&text, "lakewatch_collector_errors_total", &panics) == Some(4.0)
                && value(&text, "lakewatch_collector_up", &[("target", "flaky")]) == Some(1.0)
                && value(&text, "node_filesystem_files", &flaky).is_some_and(|c| c >= 6.0);
            recovered.then_some(text)
        },
    );
    assert_eq!(
        value(
            &text,
            "lakewatch_collector_errors_total",
            &[("target", "flaky"), ("kind", "timeout")]
        ),
        None,
        "the timed-out cycle whose drop panicked counts as a panic, once:\n{text}"
    );
    assert_eq!(
        value(
            &text,
            "lakewatch_collector_errors_total",
            &[("target", "steady")]
        ),
        None,
        "{text}"
    );
    assert_eq!(
        value(&text, "lakewatch_collector_up", &[("target", "steady")]),
        Some(1.0)
    );
    assert!(
        steady_seen.windows(2).all(|w| w[0] <= w[1]) && steady_seen.last() > steady_seen.first(),
        "the steady collector kept updating: {steady_seen:?}"
    );
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    for message in [
        "boom while polled",
        "boom while starting a cycle",
        "boom while dropping a finished cycle",
        "boom while dropping a timed-out cycle",
    ] {
        assert!(
            log.lines().any(|l| l.contains("ERROR")
                && l.contains("collector panicked")
                && l.contains(message)),
            "no error log line for {message:?}:\n{log}"
        );
    }
    assert_eq!(
        log.matches("collector task died").count(),
        2,
        "the two panics while dropping killed the task, which was restarted:\n{log}"
    );
    assert!(log.contains("collector recovered"), "{log}");
    drop(tasks);
    runtime.shutdown_background();
}
