//! The served spec is the contract in openapi.yaml.

use crate::helpers::{spawn_app, Backend};

async fn the_served_spec_is_the_committed_openapi_yaml(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/openapi.yaml", None).await;
    assert_eq!(response.status(), 200);
    let served = response.text().await.unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert!(
        served == committed,
        "the served spec differs from openapi.yaml; run `UPDATE_OPENAPI=1 cargo test -p syndic-api --test openapi_contract` and review the diff"
    );
    let docs = app.get("/docs", None).await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().to_lowercase().contains("swagger"));
}

async fn unknown_routes_get_a_json_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/v1/nothing-here", None).await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

crate::on_both_backends!(
    the_served_spec_is_the_committed_openapi_yaml,
    unknown_routes_get_a_json_404,
);
