//! The health check against real, and really unreachable, dependencies.

use serde_json::Value;
use sqlx::{Connection, Executor};

use crate::helpers::{spawn_app, Backend};

async fn healthcheck_reports_ok_when_database_and_cache_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/healthcheck", None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["cache"], "ok");
}

#[tokio::test]
async fn healthcheck_is_503_when_the_database_refuses_connections() {
    let app = spawn_app(Backend::Postgres).await;
    let name = app.database.name.clone();
    // A real outage of this test's database only: refuse new connections and cut the open ones.
    let mut admin = sqlx::PgConnection::connect(&crate::helpers::admin_database_url())
        .await
        .unwrap();
    admin
        .execute(format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS false"#).as_str())
        .await
        .unwrap();
    admin
        .execute(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'").as_str())
        .await
        .unwrap();
    let response = app.get("/healthcheck", None).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    admin
        .execute(format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS true"#).as_str())
        .await
        .unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_ne!(body["database"], "ok");
    // And it recovers once the database is back.
    let again: Value = app.get("/healthcheck", None).await.json().await.unwrap();
    assert_eq!(again["status"], "ok");
}

#[tokio::test]
async fn healthcheck_is_degraded_when_redis_is_unreachable() {
    let mut app = spawn_app(Backend::Postgres).await;
    app.stop().await;
    app.config.redis_url = Some("redis://127.0.0.1:1".into());
    app.restart().await;
    let response = app.get("/healthcheck", None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "ok");
    assert_ne!(body["cache"], "ok");
}

crate::on_both_backends!(healthcheck_reports_ok_when_database_and_cache_answer,);
