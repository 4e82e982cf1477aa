//! A throwaway PostgreSQL cluster with clerk_fdw, the test server and the
//! receiver, for the end-to-end tests. Needs `PG_CONFIG` (scripts/test.sh
//! sets it, after `cargo pgrx test` installed clerk_fdw into that
//! PostgreSQL).

#![allow(dead_code)] // each test file uses a part

use clerk_mock::{DataConfig, MockServer};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const SECRET_KEY: &str = "sk_test_e2e";
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn pg_config(arg: &str) -> String {
    let pg_config = std::env::var("PG_CONFIG")
        .expect("PG_CONFIG names the pg_config of a PostgreSQL with clerk_fdw installed (run scripts/test.sh)");
    let out = Command::new(&pg_config)
        .arg(arg)
        .output()
        .expect("pg_config runs");
    String::from_utf8(out.stdout)
        .expect("text")
        .trim()
        .to_string()
}

/// Runs a server program as `postgres` when we are root (initdb refuses root).
fn as_owner(program: &str) -> Command {
    let root = std::fs::metadata("/proc/self").map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if root.unwrap_or(false) {
        let mut c = Command::new("sudo");
        c.args(["-u", "postgres", program]);
        c
    } else {
        Command::new(program)
    }
}

pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    pub cron: bool,
}

impl Cluster {
    /// A new cluster in /tmp/clerk_fdw-e2e-<name>, on a Unix socket in /tmp
    /// only, with pg_cron preloaded where it is installed.
    pub fn start(name: &str, port: u16) -> Cluster {
        let bin = PathBuf::from(pg_config("--bindir"));
        let dir = PathBuf::from(format!("/tmp/clerk_fdw-e2e-{name}"));
        if dir.join("postmaster.pid").exists() {
            let _ = as_owner(bin.join("pg_ctl").to_str().unwrap())
                .args(["stop", "-m", "immediate", "-D"])
                .arg(&dir)
                .status();
        }
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new("install")
            .args(["-d", "-m", "700"])
            .arg(&dir)
            .status()
            .expect("install runs");
        assert!(status.success());
        let _ = Command::new("chown").args(["postgres"]).arg(&dir).status();
        let status = as_owner(bin.join("initdb").to_str().unwrap())
            .args(["-U", "postgres", "--auth=trust", "-D"])
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed");
        let cron = PathBuf::from(pg_config("--pkglibdir"))
            .join("pg_cron.so")
            .exists();
        let mut conf = format!(
            "port = {port}\nlisten_addresses = ''\nunix_socket_directories = '/tmp'\nmax_connections = 60\nrestart_after_crash = off\n"
        );
        if cron {
            conf.push_str("shared_preload_libraries = 'pg_cron'\ncron.database_name = 'postgres'\ncron.host = '/tmp'\n");
        }
        let conf_path = dir.join("postgresql.auto.conf");
        let existing = std::fs::read_to_string(&conf_path).unwrap_or_default();
        // Written through the owner: the directory is postgres's.
        let mut tee = as_owner("tee")
            .arg(&conf_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("tee runs");
        use std::io::Write;
        tee.stdin
            .take()
            .unwrap()
            .write_all(format!("{existing}{conf}").as_bytes())
            .unwrap();
        assert!(tee.wait().unwrap().success());
        let cluster = Cluster {
            dir,
            port,
            bin,
            cron,
        };
        cluster.up();
        cluster
    }

    pub fn up(&self) {
        let status = as_owner(self.bin.join("pg_ctl").to_str().unwrap())
            .args(["start", "-w", "-l"])
            .arg(self.dir.join("server.log"))
            .arg("-D")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(
            status.success(),
            "the cluster did not start: see {}/server.log",
            self.dir.display()
        );
    }

    pub fn down(&self) {
        let status = as_owner(self.bin.join("pg_ctl").to_str().unwrap())
            .args(["stop", "-w", "-m", "fast", "-D"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(status.success());
    }

    pub fn conninfo(&self) -> String {
        format!("host=/tmp port={} user=postgres dbname=postgres", self.port)
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.conninfo(), postgres::NoTls)
            .expect("connects to the e2e cluster")
    }

    /// The server log must not show a crashed backend.
    pub fn assert_no_crash(&self) {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        assert!(
            !log.contains("terminated by signal"),
            "a backend crashed: see {}/server.log",
            self.dir.display()
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_owner(self.bin.join("pg_ctl").to_str().unwrap())
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The test server: `users` users, a few organizations and memberships.
pub fn mock(users: usize) -> MockServer {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let data = DataConfig {
        users,
        organizations: 12,
        big_org_members: 40,
        members_per_org: 4,
        newest_ms: now_ms - 60_000,
        ..DataConfig::default()
    };
    let server = MockServer::start(&data, SECRET_KEY, 0).expect("the test server starts");
    server.set_webhook_secret(WEBHOOK_SECRET);
    server
}

/// clerk_fdw connected to `mock`, and a mirror `clerk_local` of its users,
/// organizations and memberships, synced once.
pub fn set_up_mirror(db: &mut postgres::Client, mock: &MockServer) {
    let port = mock.port();
    db.batch_execute(&format!(
        "create extension clerk_fdw;
         create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator
           options (allowed_hosts '127.0.0.1:{port}');
         create server clerk foreign data wrapper clerk_wrapper options (api_url '{}');
         create user mapping for public server clerk options (api_key '{SECRET_KEY}', webhook_secret '{WEBHOOK_SECRET}');
         select count(*) from clerk_fdw.create_mirror('clerk', 'clerk_local',
           array['users', 'organizations', 'organization_memberships']);
         select count(*) from clerk_fdw.sync_mirror('clerk_local');",
        mock.url()
    ))
    .expect("the mirror is set up");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The receiver binary, listening on a free port; killed when dropped.
pub struct ReceiverProcess {
    pub child: Child,
    pub port: u16,
}

impl ReceiverProcess {
    pub fn start(cluster: &Cluster, extra: &[&str]) -> ReceiverProcess {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_clerk-fdw-webhook"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database", &cluster.conninfo(), "--mirror", "clerk_local"])
            .args(extra)
            .stderr(Stdio::from(
                std::fs::File::create(format!("/tmp/clerk-fdw-webhook-{port}.log")).unwrap(),
            ))
            .spawn()
            .expect("the receiver starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the receiver did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ReceiverProcess { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/clerk/webhooks", self.port)
    }

    /// The receiver's peak resident memory (VmHWM), in kB.
    pub fn peak_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `done` holds, or fails after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
