//! The `lakewatch-exporter` binary: flags, logging, start-up, reload triggers (SIGHUP,
//! the file watcher) and graceful shutdown.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{CommandFactory, Parser, ValueEnum};
use lakewatch_exporter::config::duration::{format_duration, parse_duration};
use lakewatch_exporter::config::{Config, DEFAULT_CONFIG};
use lakewatch_exporter::discovery::{self, Discovery};
use lakewatch_exporter::reload::{self, Reloader};
use lakewatch_exporter::server::{Frontend, Lifecycle, Limits};
use lakewatch_exporter::web::WebConfig;
use lakewatch_exporter::{build_info, jobs, scheduler, server};

/// Prometheus exporter for data platforms: disks, containers, Postgres, S3, Trino.
///
/// Collects in the background on each collector's interval and serves the last result
/// on /metrics, so scrapes are instant and never wait on a slow target. Without
/// --config it runs the embedded default (see --print-default-config).
#[derive(Debug, Parser)]
#[command(name = "lakewatch-exporter", version = build_info::VERSION_LINE, max_term_width = 100)]
struct Args {
    /// YAML configuration file. Without it the embedded default runs. SIGHUP re-reads
    /// it (and --web.config.file); an invalid file is logged and changes nothing.
    #[arg(long, value_name = "FILE", env = "LAKEWATCH_CONFIG")]
    config: Option<PathBuf>,

    /// Reload when --config or --web.config.file changes (checked every second,
    /// applied once the file stays the same for a second; follows symlink swaps such
    /// as Kubernetes ConfigMap updates).
    #[arg(long = "config.watch", env = "LAKEWATCH_CONFIG_WATCH")]
    config_watch: bool,

    /// Address to listen on: host:port, or :port for all interfaces.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = "0.0.0.0:9717",
        env = "LAKEWATCH_WEB_LISTEN_ADDRESS"
    )]
    listen_address: String,

    /// TLS and basic auth, in the Prometheus exporter-toolkit web config format
    /// (tls_server_config, basic_auth_users). See the README.
    #[arg(
        long = "web.config.file",
        value_name = "FILE",
        env = "LAKEWATCH_WEB_CONFIG_FILE"
    )]
    web_config_file: Option<PathBuf>,

    /// Serve POST /-/reload (reload the configuration, like SIGHUP; 400 with the
    /// error when the new file is invalid). Behind the same TLS and basic auth.
    #[arg(long = "web.enable-lifecycle", env = "LAKEWATCH_WEB_ENABLE_LIFECYCLE")]
    enable_lifecycle: bool,

    /// Connections served at once. At the limit idle keep-alive connections are closed
    /// and new connections wait in the listen backlog for a free slot. Keep it below
    /// the open-files limit (ulimit -n).
    #[arg(
        long = "web.max-connections",
        value_name = "N",
        default_value_t = Limits::DEFAULT.max_connections as u32,
        value_parser = clap::value_parser!(u32).range(1..),
        env = "LAKEWATCH_WEB_MAX_CONNECTIONS"
    )]
    max_connections: u32,

    /// Time a client has to send a request's headers (and finish the TLS handshake),
    /// counted from connecting or, on a kept-alive connection, from the request's first
    /// byte. Slow clients beyond it are disconnected (slowloris guard).
    #[arg(
        long = "web.header-read-timeout",
        value_name = "DURATION",
        default_value_t = FlagDuration(Limits::DEFAULT.header_read_timeout),
        env = "LAKEWATCH_WEB_HEADER_READ_TIMEOUT"
    )]
    header_read_timeout: FlagDuration,

    /// How long a kept-alive connection may wait for its next request. Above the
    /// scrape interval, Prometheus reuses one connection (and TLS session).
    #[arg(
        long = "web.idle-timeout",
        value_name = "DURATION",
        default_value_t = FlagDuration(Limits::DEFAULT.idle_timeout),
        env = "LAKEWATCH_WEB_IDLE_TIMEOUT"
    )]
    idle_timeout: FlagDuration,

    /// Time to answer a request, from its headers to the response's last byte written.
    /// A client that stops reading is disconnected after it. Keep it above scrape_timeout.
    #[arg(
        long = "web.write-timeout",
        value_name = "DURATION",
        default_value_t = FlagDuration(Limits::DEFAULT.write_timeout),
        env = "LAKEWATCH_WEB_WRITE_TIMEOUT"
    )]
    write_timeout: FlagDuration,

    /// Largest request line plus headers, in bytes; a larger request gets 431.
    #[arg(
        long = "web.max-header-bytes",
        value_name = "BYTES",
        default_value_t = Limits::DEFAULT.max_header_bytes as u32,
        value_parser = clap::value_parser!(u32).range(1024..=262_144),
        env = "LAKEWATCH_WEB_MAX_HEADER_BYTES"
    )]
    max_header_bytes: u32,

    /// Log line format.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Text, env = "LAKEWATCH_LOG_FORMAT")]
    log_format: LogFormat,

    /// Minimum level logged: error, warn, info, debug or trace.
    #[arg(
        long = "log.level",
        value_name = "LEVEL",
        default_value = "info",
        env = "LAKEWATCH_LOG_LEVEL"
    )]
    log_level: tracing::Level,

    /// Validate the configuration, print a summary and exit (0 valid, 1 invalid).
    #[arg(long = "check-config")]
    check_config: bool,

    /// Print the embedded default configuration (all keys, commented) and exit.
    #[arg(long = "print-default-config")]
    print_default_config: bool,

    /// Print this command's man page (roff) and exit; for packagers.
    #[arg(long = "help-man", hide = true)]
    help_man: bool,

    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) and exit.
    #[arg(long = "completion-script", value_name = "SHELL", hide = true)]
    completion_script: Option<clap_complete::Shell>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// A flag's duration, written like the config file's (`500ms`, `10s`, `2m`).
#[derive(Debug, Clone, Copy)]
struct FlagDuration(Duration);

impl FromStr for FlagDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match parse_duration(s) {
            Ok(d) if d.is_zero() => Err("must be longer than 0s".into()),
            Ok(d) => Ok(FlagDuration(d)),
            Err(e) => Err(format!("{e}: expected a duration such as 500ms, 10s or 2m")),
        }
    }
}

impl fmt::Display for FlagDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Args {
    fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections as usize,
            header_read_timeout: self.header_read_timeout.0,
            idle_timeout: self.idle_timeout.0,
            write_timeout: self.write_timeout.0,
            max_header_bytes: self.max_header_bytes as usize,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_default_config {
        print!("{DEFAULT_CONFIG}");
        return ExitCode::SUCCESS;
    }
    if args.help_man {
        return match clap_mangen::Man::new(Args::command()).render(&mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lakewatch-exporter: writing the man page: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(shell) = args.completion_script {
        let mut cmd = Args::command();
        clap_complete::generate(
            shell,
            &mut cmd,
            "lakewatch-exporter",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lakewatch-exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    Ok(match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::embedded_default(),
    })
}

fn parse_listen_address(addr: &str) -> anyhow::Result<SocketAddr> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    full.parse()
        .with_context(|| format!("invalid --web.listen-address {addr:?}: expected host:port such as 0.0.0.0:9717 or [::]:9717"))
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    let listen = parse_listen_address(&args.listen_address)?;
    let limits = args.limits();
    let web = args
        .web_config_file
        .as_deref()
        .map(WebConfig::load)
        .transpose()?;
    // Logging starts before the jobs are built: `enabled: auto` collectors log there
    // whether their source answered.
    let filter = tracing_subscriber::filter::LevelFilter::from_level(args.log_level);
    let builder = tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    // The targets files are read before the first jobs are built: a discovered
    // target is there from the first cycle, as a static one is.
    let mut discovered = discovery::State::load(config);
    let (config, report) = discovered.merged();
    let jobs = jobs(&config);
    if args.check_config {
        let source = args
            .config
            .as_ref()
            .map_or("embedded default".to_string(), |p| p.display().to_string());
        println!("{source}: OK, {} collector target(s) enabled", jobs.len());
        if let (Some(file), Some(web)) = (&args.web_config_file, &web) {
            println!(
                "  web config {}: TLS {}, basic auth {}",
                file.display(),
                if web.tls.is_some() { "on" } else { "off" },
                if web.auth.is_some() { "on" } else { "off" }
            );
        }
        for job in &jobs {
            println!(
                "  {} {} every {:?} (timeout {:?})",
                job.collector.name(),
                job.collector.target(),
                job.schedule.interval,
                job.schedule.timeout
            );
        }
        // A targets file is checked as the config is: a broken one fails the check.
        let problems: Vec<String> = report
            .sources
            .iter()
            .flat_map(|((collector, source), s)| {
                s.problems
                    .iter()
                    .map(move |p| format!("{collector} {source} discovery: {p}"))
            })
            .collect();
        if !problems.is_empty() {
            anyhow::bail!("{}", problems.join("\n"));
        }
        return Ok(());
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Connections are served on a runtime of their own that holds no timer (their
    // watchdogs and the collectors' intervals run on `runtime`): see
    // `server::serve_with_timers`.
    let serving = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lakewatch-http")
        .build()
        .context("starting the async runtime")?;
    let serving_on = serving.handle().clone();
    let result = runtime.block_on(async move {
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("cannot listen on {listen}"))?;
        listener
            .set_nonblocking(true)
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr().context("reading the bound address")?;
        let (hub, scheduler, mut tasks) = scheduler::start(jobs, config.series_per_target);
        let (security, cert) = reload::security(web);
        let scheme = if security.tls.is_some() { "https" } else { "http" };
        let security = Arc::new(server::SharedSecurity::new(security));
        let discovery = Arc::new(Discovery::new(discovered, report, scheduler, hub.clone()));
        tasks.spawn(discovery.clone().watch());
        tasks.spawn(discovery.clone().watch_docker());
        let reloader = Arc::new(Reloader::new(
            args.config.clone(),
            args.web_config_file.clone(),
            discovery,
            hub.clone(),
            security.clone(),
            cert,
        ));
        // Installed before "listening" is logged: from then on SIGHUP reloads instead
        // of killing the process (its default action).
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("installing the SIGHUP handler")?;
        let on_hangup = reloader.clone();
        tasks.spawn(async move {
            while hangup.recv().await.is_some() {
                // Logged and counted by the reload itself.
                let _ = on_hangup.reload("SIGHUP").await;
            }
        });
        if args.config_watch {
            tasks.spawn(reloader.clone().watch());
        }
        let frontend = Frontend {
            security,
            lifecycle: args
                .enable_lifecycle
                .then(|| reloader.clone() as Arc<dyn Lifecycle>),
        };
        tracing::info!(
            address = %local,
            scheme,
            version = build_info::VERSION,
            revision = build_info::REVISION,
            config = %args.config.as_ref().map_or("embedded default".into(), |p| p.display().to_string()),
            "listening"
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let timers = tokio::runtime::Handle::current();
        let mut served = serving_on.spawn(async move {
            // Registered with the serving runtime's reactor: its connections too.
            let listener = tokio::net::TcpListener::from_std(listener)
                .context("registering the listening socket")?;
            server::serve_with_timers(listener, hub, frontend, limits, timers, async {
                let _ = stopped.await;
            })
            .await;
            anyhow::Ok(())
        });
        let outcome = tokio::select! {
            () = shutdown_signal() => {
                let _ = stop.send(());
                (&mut served).await
            }
            // Only ends early on an error.
            outcome = &mut served => outcome,
        };
        outcome.context("the HTTP server panicked")??;
        tasks.abort_all();
        tracing::info!("shut down");
        Ok(())
    });
    // A statfs stuck on a dead NFS server never returns; do not wait for it on exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    serving.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot install SIGTERM handler: {e}");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, shutting down"),
    }
}
