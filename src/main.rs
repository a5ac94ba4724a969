//! The `rivulet` command line: run scripts, run conformance tests, benchmark.
//!
//! Every subcommand goes through `Engine::execute`; this file only parses arguments, sets up
//! logging and renders results.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rivulet::engine::{Engine, EngineConfig, StatementResult};

mod bench;
mod datagen_cmd;
mod loadtest;
mod render;
mod repl;

#[derive(Parser)]
#[command(name = "rivulet", version, about = "A streaming SQL engine in the spirit of ksqlDB")]
struct Cli {
    /// Where the embedded log keeps its data.
    #[arg(long, global = true, default_value = "./rivulet-data")]
    data_dir: PathBuf,
    /// The REPL runs its statements on this server (`http://host:port` or `https://...`)
    /// instead of an embedded engine.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// With --server: PEM certificates to trust (a server with a self-signed certificate).
    #[arg(long, value_name = "FILE", requires = "server")]
    ca_cert: Option<PathBuf>,
    /// With --server: the user for HTTP basic authentication; the password comes from
    /// RIVULET_PASSWORD or is asked for.
    #[arg(long, value_name = "NAME", requires = "server")]
    user: Option<String>,
    /// Without a subcommand: the interactive REPL.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a script of statements against the embedded engine; push queries print their rows.
    Run {
        /// The script.
        file: PathBuf,
        /// After the script, keep running its persistent queries (and those of earlier runs
        /// on this data directory) until they have consumed every record, then exit.
        #[arg(long)]
        until_idle: bool,
    },
    /// Runs ksqlDB query-validation-test (QTT) files or directories.
    Test {
        /// Files or directories of QTT JSON files.
        paths: Vec<PathBuf>,
        /// Only cases whose display name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// A file of case names that must pass (the conformance ratchet).
        #[arg(long)]
        ratchet: Option<PathBuf>,
        /// Adds the cases that passed to this ratchet file.
        #[arg(long)]
        update_ratchet: Option<PathBuf>,
        /// Prints pass/fail/skip counts per file.
        #[arg(long)]
        summary_by_file: bool,
        /// Prints passing cases too.
        #[arg(long)]
        verbose: bool,
        /// Seconds a case may take.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Loads JSON-lines input, runs statements until the input is consumed, reports throughput.
    Bench(bench::BenchArgs),
    /// Writes generated records (quickstart data sets or Nexmark) to topics.
    Datagen(datagen_cmd::DatagenArgs),
    /// Load-tests a server: push-query clients and paced pull queries over loopback.
    Loadtest(loadtest::LoadArgs),
    /// Serves ksqlDB's REST API (POST /ksql, /query, /query-stream, /inserts-stream, ...).
    Server(ServerArgs),
    /// Prints a `user:hash` line for `rivulet server --auth-file` (reads the password from
    /// stdin).
    Passwd {
        /// The user name.
        user: String,
    },
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Address to listen on. Loopback by default: listening on other interfaces without
    /// --auth-file lets anyone on the network run statements.
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: std::net::SocketAddr,
    /// A file of `user:hash` lines (see `rivulet passwd`): require HTTP basic authentication.
    #[arg(long)]
    auth_file: Option<PathBuf>,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    max_request_bytes: usize,
    /// Seconds a push-query client may leave its buffer full before it is disconnected.
    #[arg(long, default_value_t = 10)]
    slow_client_timeout: u64,
    /// Threads answering requests [default: half the cores, at least one].
    #[arg(long)]
    http_threads: Option<usize>,
    /// Threads writing push queries' rows to their clients, at a lower priority than the
    /// request threads [default: a quarter of the cores, at least one].
    #[arg(long)]
    push_threads: Option<usize>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        None => match cli.server {
            Some(url) => repl::run_remote(&repl::Target { url, ca_cert: cli.ca_cert, user: cli.user }),
            None => repl::run(&cli.data_dir),
        },
        Some(Command::Run { file, until_idle }) => run_script(&cli.data_dir, &file, until_idle),
        Some(Command::Test { paths, filter, ratchet, update_ratchet, summary_by_file, verbose, timeout }) => {
            let options = rivulet::testing::RunOptions {
                filter,
                ratchet,
                update_ratchet,
                summary_by_file,
                verbose,
                timeout_secs: timeout,
            };
            match rivulet::testing::run_cli(&paths, &options) {
                Ok(summary) if summary.success() => Ok(()),
                Ok(_) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            }
        }
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Datagen(args)) => datagen_cmd::run(&args, &cli.data_dir),
        Some(Command::Server(args)) => serve(&cli.data_dir, args),
        Some(Command::Loadtest(args)) => loadtest::run(&args),
        Some(Command::Passwd { user }) => passwd(&user),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            render::error(&e);
            ExitCode::FAILURE
        }
    }
}

fn run_script(data_dir: &std::path::Path, file: &std::path::Path, until_idle: bool) -> rivulet::Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| rivulet::Error::user(format!("cannot read {}: {e}", file.display())))?;
    let mut properties = std::collections::BTreeMap::new();
    // A script reads what its own INSERTs wrote before its queries started.
    properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
    // --until-idle steps the queries on this thread (committing as they go) instead of on
    // their own threads, so that "consumed everything" is simply "no query made progress".
    let engine = Engine::open(EngineConfig {
        data_dir: Some(data_dir.to_path_buf()),
        properties,
        background: !until_idle,
        ..Default::default()
    })?;
    for statement in rivulet::sql::parse(&text)? {
        let result = engine.execute_statement(&statement).map_err(|e| e.context(format!("in `{}`", statement.text)))?;
        match result {
            StatementResult::Push(push) => render::push(&push),
            other => render::result(&other),
        }
    }
    if until_idle {
        engine.run_to_completion(8192)?;
    }
    engine.shutdown();
    Ok(())
}

fn serve(data_dir: &std::path::Path, args: ServerArgs) -> rivulet::Result<()> {
    if !args.listen.ip().is_loopback() && args.auth_file.is_none() {
        tracing::warn!(listen = %args.listen, "listening beyond loopback without --auth-file: anyone who can reach it can run statements");
    }
    let engine = Engine::open(EngineConfig {
        data_dir: Some(data_dir.to_path_buf()),
        properties: Default::default(),
        background: true,
        ..Default::default()
    })?;
    let defaults = rivulet::server::ServerConfig::default();
    let config = rivulet::server::ServerConfig {
        listen: args.listen,
        max_request_bytes: args.max_request_bytes,
        slow_client_timeout: std::time::Duration::from_secs(args.slow_client_timeout),
        auth_file: args.auth_file,
        tls: args.tls_cert.zip(args.tls_key),
        http_threads: args.http_threads.unwrap_or(defaults.http_threads),
        push_threads: args.push_threads.unwrap_or(defaults.push_threads),
        ..defaults
    };
    rivulet::server::run(engine, config)
}

fn passwd(user: &str) -> rivulet::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .map_err(|e| rivulet::Error::external(format!("cannot read the password from stdin: {e}")))?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(rivulet::Error::user("empty password (pass it on stdin: `echo secret | rivulet passwd ada`)"));
    }
    render::line(&rivulet::server::auth::hash_line(user, password)?);
    Ok(())
}
