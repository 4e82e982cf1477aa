//! Conformance against a server nobody here wrote: Stoplight Prism serving
//! Clerk's spec (`tests/clerk-openapi`), statically (the spec's examples)
//! and dynamically (random data, totals and page sizes). Every table and
//! every pushdown the README lists runs against it through a proxy that
//! checks each request against the spec; each query must end in rows or a
//! clear clerk_fdw ERROR within a bounded number of requests. The figures go
//! to `/tmp/clerk_fdw-prism-pg<major>.txt`.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::Proxy;
    use pgrx::prelude::*;
    use std::fmt::Write;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// Where scripts/setup.sh installs Prism.
    const PRISM: &str = "/opt/clerk_fdw-prism/node_modules/.bin/prism";
    /// Most requests one statement may send (a page of each series, a few
    /// lookups of a join, the planner's estimates).
    const MAX_REQUESTS: usize = 40;

    /// A Prism process, stopped when dropped.
    struct Prism {
        child: Child,
        addr: SocketAddr,
    }

    impl Drop for Prism {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn prism(dynamic: bool) -> Prism {
        assert!(
            std::path::Path::new(PRISM).exists(),
            "Stoplight Prism is not installed at {PRISM}: run scripts/setup.sh"
        );
        let spec = std::env::temp_dir().join(format!("clerk_fdw-bapi-{}.yml", std::process::id()));
        std::fs::write(&spec, clerk_mock::spec::SPEC_YAML).expect("spec file");
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(PRISM);
        command
            .args(["mock", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(dynamic.then_some("--dynamic"))
            .arg(&spec)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().expect("Prism starts");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let started = Instant::now();
        // Reading the spec takes Prism several seconds.
        while TcpStream::connect(addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "Prism did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Prism { child, addr }
    }

    /// Every table, and every pushdown of the README, with `KEY` values the
    /// spec's examples use.
    const STATEMENTS: &[&str] = &[
        "select id, email, created_at from P.users",
        "select * from P.users",
        "select count(*) from P.users",
        "select id from P.users where id = 'user_1'",
        "select id from P.users where id in ('user_1', 'user_2', '-user_3')",
        "select id from P.users where email = 'ann@example.com'",
        "select id from P.users where email in ('a@example.com', 'b@example.com')",
        "select id from P.users where username = 'ann'",
        "select id from P.users where external_id = 'ext_1'",
        "select id from P.users where phone_number = '+15555550100'",
        "select id from P.users where banned",
        "select id from P.users where not banned",
        "select id from P.users where created_at > now() - interval '30 days'",
        "select id from P.users where created_at >= '2026-01-01' and created_at < '2026-02-01'",
        "select id from P.users where last_sign_in_at < now() - interval '90 days'",
        "select id from P.users where last_active_at >= now() - interval '1 day'",
        "select count(*) from P.users where created_at > now() - interval '30 days'",
        "select id from P.users order by created_at desc limit 5",
        "select id from P.users order by created_at limit 5",
        "select * from P.organizations",
        "select id, name, members_count from P.organizations",
        "select count(*) from P.organizations",
        "select id from P.organizations where id = 'org_1'",
        "select id from P.organizations where id in ('org_1', 'org_2')",
        "select id from P.organizations where slug = 'acme'",
        "select name, members_count from P.organizations order by members_count desc limit 3",
        "select id from P.organizations order by created_at desc limit 3",
        "select * from P.organization_memberships",
        "select count(*) from P.organization_memberships",
        "select * from P.organization_memberships where organization_id = 'org_1'",
        "select user_id from P.organization_memberships where organization_id = 'org_1' and role = 'org:admin'",
        "select user_id from P.organization_memberships where organization_id = 'org_1' and user_id in ('user_1', 'user_2')",
        "select count(*) from P.organization_memberships where organization_id = 'org_1'",
        "select organization_id from P.organization_memberships where user_id = 'user_1'",
        "select * from P.invitations",
        "select id from P.invitations where status = 'pending'",
        "select id from P.invitations where status in ('accepted', 'revoked')",
        "select id from P.invitations where status = 'Pending'",
        "select id from P.invitations order by created_at desc limit 3",
        "select * from P.organization_invitations",
        "select count(*) from P.organization_invitations where status = 'accepted'",
        "select * from P.allowlist_identifiers",
        "select * from P.blocklist_identifiers",
        "select * from P.domains",
        "select * from P.saml_connections",
        "select id from P.saml_connections where organization_id = 'org_1'",
        "select count(*) from P.saml_connections",
        "select * from P.jwt_templates",
        "select * from P.oauth_applications",
        "select count(*) from P.oauth_applications",
        "select * from P.redirect_urls",
        "select * from P.sessions where user_id = 'user_1'",
        "select id from P.sessions where client_id = 'client_1'",
        "select id from P.sessions where user_id = 'user_1' and status = 'active'",
        "select u.id, s.id from (select id from P.users limit 3) u join P.sessions s on s.user_id = u.id",
        "select u.id, m.organization_id from P.users u join P.organization_memberships m on m.user_id = u.id where u.id = 'user_1'",
        "select * from P.billing_plans",
        "select id from P.billing_plans where for_payer_type = 'org'",
        "select * from P.billing_prices",
        "select id, amount from P.billing_prices where plan_id = 'cplan_1'",
        "select * from P.billing_subscription_items",
        "select id from P.billing_subscription_items where status = 'past_due' and payer_type = 'user'",
        "select count(*) from P.billing_subscription_items where plan_id = 'cplan_1'",
        "select * from P.billing_statements",
        "select id from P.billing_statements where id = 'stmt_1'",
        "select * from P.billing_payment_attempts where statement_id = 'stmt_1'",
        "select * from P.billing_subscriptions where user_id = 'user_1'",
        "select * from P.billing_subscriptions where organization_id = 'org_1'",
        "select * from P.waitlist_entries",
        "select id from P.waitlist_entries where status = 'invited' order by created_at desc limit 3",
        "select * from P.organization_roles",
        "select * from P.organization_permissions",
        "select * from P.role_sets",
        "select * from P.enterprise_connections",
        "select id from P.enterprise_connections where active and organization_id = 'org_1'",
        "select * from P.organization_domains",
        "select id from P.organization_domains where organization_id = 'org_1' and enrollment_mode in ('manual_invitation', 'enterprise_sso')",
        "select * from P.user_organization_invitations where user_id = 'user_1' and status = 'pending'",
        "select * from P.machines",
        "select * from P.api_keys where subject = 'mch_2bpU6YPvNfkLHS0T6NnuRDx6ufS'",
        "select * from P.m2m_tokens where subject = 'mch_2bpU6YPvNfkLHS0T6NnuRDx6ufS'",
        "select * from P.instance",
        "select * from P.instance_organization_settings",
    ];

    /// What running every statement against one Prism gave.
    #[derive(Default)]
    struct Outcome {
        rows: usize,
        errors: Vec<String>,
        requests: usize,
        most_requests: usize,
    }

    fn run_all(mode: &str, dynamic: bool) -> Outcome {
        let upstream = prism(dynamic);
        let proxy = Proxy::start(upstream.addr).expect("proxy");
        let url = proxy.url();
        let mut c = session();
        c.batch_execute(&format!(
            "create foreign data wrapper {mode}_w handler clerk_fdw_handler validator clerk_fdw_validator;
             create server {mode} foreign data wrapper {mode}_w
               options (api_url '{url}', max_retries '1', request_timeout_ms '20000', max_retry_wait_ms '2000');
             create user mapping for public server {mode} options (api_key 'sk_test_prism');
             create schema {mode};
             import foreign schema clerk from server {mode} into {mode};"
        ))
        .expect("schema on Prism");
        let mut outcome = Outcome::default();
        for statement in STATEMENTS {
            let sql = statement.replace("P.", &format!("{mode}."));
            proxy.clear_log();
            c.batch_execute("begin; savepoint s").unwrap();
            match c.simple_query(&sql) {
                Ok(messages) => {
                    outcome.rows += messages
                        .iter()
                        .filter(|m| matches!(m, postgres::SimpleQueryMessage::Row(_)))
                        .count();
                    c.batch_execute("commit").unwrap();
                }
                Err(e) => {
                    let message = error_message(e);
                    assert!(
                        message.starts_with("clerk_fdw: "),
                        "{mode}: {sql}: not clerk_fdw's error: {message}"
                    );
                    outcome.errors.push(format!("{sql}: {message}"));
                    c.batch_execute("rollback to savepoint s; commit").unwrap();
                }
            }
            let log = proxy.requests();
            for r in &log {
                assert!(r.violation.is_none(), "{mode}: {sql}: {:?}", r.violation);
                assert!(
                    !matches!(r.status, 400 | 422),
                    "{mode}: {sql}: Prism rejected GET {} ({})",
                    r.target,
                    r.status
                );
            }
            assert!(
                log.len() <= MAX_REQUESTS,
                "{mode}: {sql}: {} requests",
                log.len()
            );
            outcome.requests += log.len();
            outcome.most_requests = outcome.most_requests.max(log.len());
        }
        // The session still works after every error.
        assert_eq!(rows(&mut c, "select 1").unwrap(), ["1"]);
        outcome
    }

    #[pg_test]
    fn every_table_and_pushdown_against_prism() {
        let mut report = String::new();
        for (mode, dynamic) in [("prism_static", false), ("prism_dynamic", true)] {
            let started = Instant::now();
            let o = run_all(mode, dynamic);
            assert!(o.requests > 0, "{mode}: no request reached Prism");
            let _ = writeln!(
                report,
                "{mode}: {} statements, {} requests (at most {} per statement), all in Clerk's spec; \
                 {} rows, {} clear errors, {:.1} s",
                STATEMENTS.len(),
                o.requests,
                o.most_requests,
                o.rows,
                o.errors.len(),
                started.elapsed().as_secs_f64()
            );
            for e in o.errors.iter().take(8) {
                let _ = writeln!(report, "  {e}");
            }
        }
        let major = Spi::get_one::<String>("select current_setting('server_version_num')")
            .unwrap()
            .unwrap_or_default();
        let major = major.get(..2).unwrap_or("").to_string();
        let _ = std::fs::write(format!("/tmp/clerk_fdw-prism-pg{major}.txt"), &report);
    }
}
