//! Conformance against a server nobody here wrote: Stoplight Prism serving
//! Clerk's spec (`tests/clerk-openapi`), statically (the spec's examples)
//! and dynamically (random data, totals and page sizes). Every table and
//! every pushdown the README lists runs against it through a proxy that
//! checks each request against the spec; each query must end in rows or a
//! clear clerk_fdw ERROR within a bounded number of requests. So must
//! every write of the README's table, each request within the spec. The figures go
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

    /// The tables the writes use: the columns they set and name rows by
    /// (Prism's example times are out of any timestamp's range).
    const WRITE_TABLES: &str = "
        create foreign table RW.users (id text, email text, phone_number text, first_name text, last_name text,
          username text, external_id text, public_metadata jsonb, private_metadata jsonb, unsafe_metadata jsonb,
          banned boolean, locked boolean, attrs jsonb) server RW options (object 'users');
        create foreign table RW.organizations (id text, name text, slug text, max_allowed_memberships integer,
          admin_delete_enabled boolean, public_metadata jsonb, private_metadata jsonb) server RW options (object 'organizations');
        create foreign table RW.organization_memberships (id text, organization_id text, user_id text, role text,
          public_metadata jsonb) server RW options (object 'organization_memberships');
        create foreign table RW.invitations (id text, email_address text, status text, public_metadata jsonb)
          server RW options (object 'invitations');
        create foreign table RW.organization_invitations (id text, organization_id text, email_address text, role text,
          status text, inviter_id text) server RW options (object 'organization_invitations');
        create foreign table RW.allowlist_identifiers (id text, identifier text) server RW options (object 'allowlist_identifiers');
        create foreign table RW.blocklist_identifiers (id text, identifier text) server RW options (object 'blocklist_identifiers');
        create foreign table RW.waitlist_entries (id text, email_address text, status text) server RW options (object 'waitlist_entries');";

    /// Every write of the README's "Writing to Clerk" table.
    const WRITES: &[&str] = &[
        "insert into P.users (email, first_name, last_name, username, public_metadata) values ('ann@example.com', 'Ann', 'Lee', 'ann', '{\"plan\": \"pro\"}') returning id",
        "insert into P.users (email, phone_number, external_id, banned, attrs) values ('bo@example.com', '+15555550100', 'ext_9', false, '{\"skip_password_requirement\": true}')",
        "update P.users set first_name = 'Ann', last_name = 'Lee', username = 'ann2', external_id = 'e1' where id = 'user_1' returning id",
        "update P.users set public_metadata = '{\"plan\": \"team\"}', private_metadata = '{}', unsafe_metadata = '{\"x\": 1}' where id = 'user_1'",
        "update P.users set banned = not banned, locked = not locked where id = 'user_1'",
        "update P.users set banned = not banned, locked = not locked where id = 'user_1'",
        "delete from P.users where id = 'user_1' returning id",
        "insert into P.organizations (name, slug, max_allowed_memberships, public_metadata) values ('Acme', 'acme', 5, '{}') returning id",
        "update P.organizations set name = 'Acme 2', slug = 'acme-2', max_allowed_memberships = 9, admin_delete_enabled = false where id = 'org_1'",
        "update P.organizations set public_metadata = '{\"tier\": 1}', private_metadata = '{\"crm\": 2}' where id = 'org_1'",
        "delete from P.organizations where id = 'org_1'",
        "insert into P.organization_memberships (organization_id, user_id, role, public_metadata) values ('org_1', 'user_1', 'org:admin', '{}') returning id",
        "update P.organization_memberships set role = role || '_x' where organization_id = 'org_1'",
        "update P.organization_memberships set public_metadata = '{\"team\": \"ops\"}' where organization_id = 'org_1'",
        "delete from P.organization_memberships where organization_id = 'org_1'",
        "insert into P.invitations (email_address, public_metadata) select 'inv' || g || '@example.com', '{}' from generate_series(1, 12) g",
        "insert into P.invitations (email_address) values ('one@example.com') returning id, status",
        "update P.invitations set status = 'revoked' where status = 'pending'",
        "insert into P.organization_invitations (organization_id, email_address, role) select 'org_1', 'oi' || g || '@example.com', 'org:member' from generate_series(1, 3) g",
        "insert into P.organization_invitations (organization_id, email_address, role, inviter_id) values ('org_1', 'oj@example.com', 'org:admin', 'user_1') returning id",
        "update P.organization_invitations set status = 'revoked' where organization_id = 'org_1' and status = 'pending'",
        "insert into P.allowlist_identifiers (identifier) values ('allowed@example.com') returning id",
        "delete from P.allowlist_identifiers where identifier is not null",
        "insert into P.blocklist_identifiers (identifier) values ('blocked@example.com') returning id",
        "delete from P.blocklist_identifiers where identifier is not null",
        "insert into P.waitlist_entries (email_address) select 'w' || g || '@example.com' from generate_series(1, 3) g",
        "insert into P.waitlist_entries (email_address) values ('w9@example.com') returning id",
        "update P.waitlist_entries set status = 'invited' where status = 'pending'",
        "update P.waitlist_entries set status = 'rejected' where status = 'pending'",
        "delete from P.waitlist_entries where email_address is not null",
    ];

    /// What running every statement against one Prism gave.
    #[derive(Default)]
    struct Outcome {
        rows: usize,
        errors: Vec<String>,
        requests: usize,
        most_requests: usize,
        writes: usize,
        /// Write statements that sent at least one write.
        writing: usize,
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
        // The writes on a server of their own key: a 429 Prism answered a
        // read must not pause them (the pause is per Clerk instance).
        c.batch_execute(&format!(
            "create server {mode}_rw foreign data wrapper {mode}_w
               options (api_url '{url}', max_retries '1', request_timeout_ms '20000', max_retry_wait_ms '2000', writable 'true');
             create user mapping for public server {mode}_rw options (api_key 'sk_test_prism_writes');
             create schema {mode}_rw;
             {}",
            WRITE_TABLES.replace("RW", &format!("{mode}_rw"))
        ))
        .expect("writable schema on Prism");
        let mut outcome = Outcome::default();
        let reads = STATEMENTS
            .iter()
            .map(|s| s.replace("P.", &format!("{mode}.")));
        let writes = WRITES
            .iter()
            .map(|s| s.replace("P.", &format!("{mode}_rw.")));
        for sql in reads.chain(writes) {
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
                    "{mode}: {sql}: Prism rejected {} {} ({})",
                    r.method,
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
            let writes = log.iter().filter(|r| r.method != "GET").count();
            outcome.writes += writes;
            outcome.writing += usize::from(writes > 0);
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
                "{mode}: {} of {} write statements reached Prism",
                o.writing,
                WRITES.len()
            );
            let _ = writeln!(
                report,
                "{mode}: {} statements, {} requests (at most {} per statement, {} writes), all in Clerk's spec; \
                 {} rows, {} clear errors, {:.1} s",
                STATEMENTS.len() + WRITES.len(),
                o.requests,
                o.most_requests,
                o.writes,
                o.rows,
                o.errors.len(),
                started.elapsed().as_secs_f64()
            );
            for e in &o.errors {
                let _ = writeln!(report, "  {e}");
            }
        }
        let major = Spi::get_one::<String>("select current_setting('server_version_num')")
            .unwrap()
            .unwrap_or_default();
        let major = major.get(..2).unwrap_or("").to_string();
        let _ = std::fs::write(format!("/tmp/clerk_fdw-prism-pg{major}.txt"), &report);
        // Statically, 15 of the writes get past Prism's example rows (its
        // totals and times are out of range for the others' scans); each
        // request that reached it was in the spec and accepted.
        assert!(report.contains("prism_static: 15 of"), "{report}");
    }
}
