//! The contract: the spec the server serves must equal the reviewed `openapi.yaml` at the repository root.

use std::path::PathBuf;

fn contract_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")
}

#[test]
fn served_spec_matches_openapi_yaml() {
    let path = contract_path();
    let served = syndic_api::spec_yaml();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|value| value == "1") {
        std::fs::write(&path, &served).unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        return;
    }
    let reviewed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        served == reviewed,
        "the served OpenAPI spec differs from {}.\n\
         If the API change is intended, run `UPDATE_OPENAPI=1 cargo test -p syndic-api --test openapi_contract` \
         to rewrite the file, then review and commit the diff.",
        path.display()
    );
}

#[test]
fn spec_generation_is_deterministic() {
    assert_eq!(syndic_api::spec_yaml(), syndic_api::spec_yaml());
}
