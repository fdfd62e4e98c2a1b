//! A database (and roles) of a test's own on the real PostgreSQL at 127.0.0.1:5432 (trust auth,
//! user postgres), dropped by a guard even when the test fails, so tests run in parallel.
//!
//! ```ignore
//! use crate::common::pgdb;
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

use tokio_postgres::{Client, NoTls};
use watchdeck::config::PostgresConfig;

pub const ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// `prefix_<pid>_<n>`: unique across this run's tests and concurrent runs.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn client(dsn: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(dsn, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect {dsn}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

pub struct TestDb {
    pub name: String,
    roles: Vec<String>,
}

impl TestDb {
    /// A new empty database named `<prefix>_<pid>_<n>`.
    pub async fn new(prefix: &str) -> TestDb {
        let name = unique(prefix);
        client(ADMIN)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        TestDb {
            name,
            roles: Vec::new(),
        }
    }

    pub fn dsn_as(&self, user: &str) -> String {
        format!("postgres://{user}@127.0.0.1:5432/{}", self.name)
    }

    pub fn dsn(&self) -> String {
        self.dsn_as("postgres")
    }

    /// The database as a `[target.postgres]` would name it.
    pub fn config(&self) -> PostgresConfig {
        PostgresConfig::from_dsn(&self.dsn()).expect("dsn")
    }

    /// A superuser session in the test database.
    pub async fn admin(&self) -> Client {
        client(&format!(
            "host=127.0.0.1 port=5432 user=postgres dbname={}",
            self.name
        ))
        .await
    }

    /// A login role without any grant; dropped with the database.
    pub async fn role(&mut self) -> String {
        let role = unique("wd_role");
        client(ADMIN)
            .await
            .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
            .await
            .expect("create role");
        self.roles.push(role.clone());
        role
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let roles = std::mem::take(&mut self.roles);
        // Drop runs inside the test's runtime; a thread of its own can block on another one.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let admin = client(ADMIN).await;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .expect("drop database");
                for role in roles {
                    admin
                        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
                        .await
                        .expect("drop role");
                }
            });
        })
        .join();
        assert!(
            done.is_ok() || std::thread::panicking(),
            "could not drop the test database"
        );
    }
}
