//! syndic's HTTP layer: builds the poem app (API, spec, docs) around an engine handle.

pub mod account;
pub mod admin;
pub mod admin_actors;
pub mod api_keys;
mod article_filter;
pub mod articles;
pub mod auth;
pub mod body_limit;
pub mod bulk_mark;
pub mod connection_deadlines;
pub mod connection_limits;
pub mod cors;
pub mod dashboard;
pub mod discovery;
pub mod error;
pub mod error_responses;
mod event_filter;
mod event_stream_connection;
pub mod events;
mod examples;
pub mod failure_counts;
pub mod feeds;
pub mod friends;
pub mod health;
pub mod icons;
mod id_pages;
pub mod jobs;
pub mod login_throttle;
pub mod no_delay;
pub mod nullable;
pub mod opml;
pub mod organise;
pub mod parse_errors;
pub mod passwords;
mod prefixed_io;
pub mod request_log;
pub mod saved_filters;
pub mod server;
pub mod sessions;
pub mod share_bodies;
pub mod shares;
mod sse_messages;
pub mod strict_json;
pub mod timer_bodies;
pub mod timers;
pub mod token_throttle;
pub mod users;
pub mod validation;
pub mod webhook_bodies;
pub mod webhook_payloads;
pub mod webhooks;

use poem::endpoint::make_sync;
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Route};
use poem_openapi::{OpenApiService, Tags};
use syndic_actors::engine::Engine;

use crate::account::AccountApi;
use crate::admin::AdminApi;
use crate::admin_actors::AdminActorsApi;
use crate::api_keys::ApiKeysApi;
use crate::articles::ArticlesApi;
use crate::bulk_mark::BulkMarkApi;
use crate::discovery::DiscoveryApi;
use crate::events::EventsApi;
use crate::feeds::FeedsApi;
use crate::friends::FriendsApi;
use crate::health::HealthApi;
use crate::icons::IconsApi;
use crate::jobs::JobsApi;
use crate::login_throttle::{LoginThrottle, ThrottleRules};
use crate::opml::OpmlApi;
use crate::organise::OrganiseApi;
use crate::passwords::{HashingSettings, Passwords};
use crate::saved_filters::SavedFiltersApi;
use crate::sessions::SessionsApi;
use crate::shares::SharesApi;
use crate::timers::TimersApi;
use crate::token_throttle::{TokenThrottle, TokenThrottleRules};
use crate::users::UsersApi;
use crate::webhooks::WebhooksApi;

/// What the HTTP layer needs from the binary's configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub jwt_secret: String,
    /// How long an access token is valid.
    pub token_ttl: std::time::Duration,
    /// How long a session lasts without a refresh.
    pub session_ttl: std::time::Duration,
    /// Whether anyone may register, or only holders of an invite.
    pub registration: Registration,
    pub login_throttle: ThrottleRules,
    /// When bad refresh tokens and API keys from one address are refused for a while.
    pub token_throttle: TokenThrottleRules,
    pub hashing: HashingSettings,
    /// Take the client's address from the last `X-Forwarded-For` entry (behind a reverse proxy that sets it)
    /// instead of the connection's peer.
    pub trust_forwarded_for: bool,
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Anyone.
    Open,
    /// Only with an invite from `syndic admin invite`.
    Closed,
}

/// In reading order, as `/docs` lists them: sign in, subscribe, read; then checks and operator routes.
#[derive(Tags)]
#[oai(rename_all = "lowercase")]
pub enum ApiTags {
    /// Accounts and access tokens.
    Auth,
    /// Feed subscriptions.
    Feeds,
    /// The article timeline and per-article state.
    Articles,
    /// The user's events, live and replayed.
    Events,
    /// Liveness and dependency checks.
    Health,
    /// Operator routes: feeds by status, stale feeds, feed actors.
    Admin,
    /// Long operations (OPML import and export, refresh all) and their progress.
    Jobs,
    /// Signed HTTP deliveries of the user's events, and their delivery log.
    Webhooks,
    /// Timers that fire at an exact time, delivering through a webhook.
    Timers,
    /// Profiles, friends, the user search, and the links friends share.
    Social,
}

/// The tags as `/docs` shows them. poem-openapi lists them by name; Swagger UI shows groups in the listed order.
const TAG_ORDER: [ApiTags; 10] = [
    ApiTags::Auth,
    ApiTags::Feeds,
    ApiTags::Articles,
    ApiTags::Events,
    ApiTags::Health,
    ApiTags::Admin,
    ApiTags::Jobs,
    ApiTags::Webhooks,
    ApiTags::Timers,
    ApiTags::Social,
];

/// In the tags' order: the spec lists paths in the order the APIs are given.
/// poem-openapi implements `OpenApi` for tuples of up to 16: the account routes are one nested tuple.
type Apis = (
    (UsersApi, SessionsApi, AccountApi, ApiKeysApi),
    FeedsApi,
    IconsApi,
    DiscoveryApi,
    (OrganiseApi, SavedFiltersApi),
    ArticlesApi,
    BulkMarkApi,
    EventsApi,
    HealthApi,
    AdminApi,
    AdminActorsApi,
    OpmlApi,
    JobsApi,
    WebhooksApi,
    TimersApi,
    (FriendsApi, SharesApi),
);

/// The OpenAPI service; it needs no engine, so the spec can be built anywhere.
fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            (UsersApi, SessionsApi, AccountApi, ApiKeysApi),
            FeedsApi,
            IconsApi,
            DiscoveryApi,
            (OrganiseApi, SavedFiltersApi),
            ArticlesApi,
            BulkMarkApi,
            EventsApi,
            HealthApi,
            AdminApi,
            AdminActorsApi,
            OpmlApi,
            JobsApi,
            WebhooksApi,
            TimersApi,
            (FriendsApi, SharesApi),
        ),
        "syndic",
        env!("CARGO_PKG_VERSION"),
    )
    .description("A multi-user RSS, Atom and JSON Feed reader. Every error has the body `{\"error\": {\"code\", \"message\", \"field\"?}}`.")
}

/// The spec the server serves, as YAML, tags in reading order.
pub fn spec_yaml() -> String {
    serde_yaml::to_string(&spec_in_reading_order(&service())).expect("a YAML value serializes")
}

/// poem-openapi's spec with its `tags` list in `TAG_ORDER`; serde_yaml keeps every other key's order.
fn spec_in_reading_order(service: &OpenApiService<Apis, ()>) -> serde_yaml::Value {
    let mut spec: serde_yaml::Value =
        serde_yaml::from_str(&service.spec_yaml()).expect("poem-openapi writes valid YAML");
    if let Some(serde_yaml::Value::Sequence(tags)) = spec.get_mut("tags") {
        let rank = |tag: &serde_yaml::Value| {
            let name = tag.get("name").and_then(serde_yaml::Value::as_str);
            TAG_ORDER.iter().position(|known| Some(known.name()) == name)
        };
        tags.sort_by_key(rank);
    }
    spec
}

/// Swagger UI on the reordered spec: poem-openapi's page, its embedded spec swapped for ours.
fn docs_page(service: &OpenApiService<Apis, ()>) -> String {
    let ordered = serde_json::to_string_pretty(&spec_in_reading_order(service)).expect("a YAML value is JSON");
    service.swagger_ui_html().replace(&service.spec(), &ordered)
}

/// The whole HTTP app: /healthcheck, /v1/..., /openapi.yaml, /docs. Every error (including
/// poem's own: unknown route, 405, malformed JSON, bad params, missing auth, a body over its cap) comes out in
/// the JSON error shape. CORS headers are added for `cors_origins` only (none when it is empty).
pub fn app(engine: Engine, config: ApiConfig, cors_origins: cors::CorsOrigins) -> impl Endpoint + 'static {
    let passwords = Passwords::new(config.hashing);
    let throttle = LoginThrottle::new(config.login_throttle);
    let token_throttle = TokenThrottle::new(config.token_throttle);
    routes()
        .with(body_limit::BodyLimit)
        .data(engine)
        .data(passwords)
        .data(throttle)
        .data(token_throttle)
        .data(config)
        .catch_all_error(error::render)
        .with(cors_origins)
        .around(request_log::log_request)
}

/// The routes without their data: handlers find the engine and the config in the request.
///
/// Every handler takes `Data<&Engine>` after its inputs, so a bad token, parameter or body is
/// reported before the engine is touched; `routing_tests` relies on this to run without an engine.
fn routes() -> Route {
    let service = service();
    let docs = docs_page(&service);
    let docs = make_sync(move |_| Html(docs.clone()));
    let spec = spec_yaml();
    let spec_endpoint = make_sync(move |_| spec.clone().with_content_type("application/yaml").into_response());
    Route::new()
        .nest("/", service)
        .at("/openapi.yaml", spec_endpoint)
        .at("/docs", docs)
        .at("/admin", dashboard::page())
}

#[cfg(test)]
mod routing_tests;
