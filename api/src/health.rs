//! `GET /healthcheck`: whether the database and the cache answer.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use syndic_actors::engine::{Engine, Health};

use crate::ApiTags;

pub struct HealthApi;

/// The service's state, from its dependencies'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum HealthStatus {
    /// The database and the cache answer.
    Ok,
    /// The cache is down; the service works, slower.
    Degraded,
    /// The database is down.
    Unavailable,
}

/// Each dependency is `"ok"` or the reason it is not.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "Health")]
pub struct HealthBody {
    pub status: HealthStatus,
    pub database: String,
    pub cache: String,
}

#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The database answers; `status` is `degraded` if the cache does not.
    #[oai(status = 200)]
    Ok(Json<HealthBody>),
    /// The database does not answer.
    #[oai(status = 503)]
    Unavailable(Json<HealthBody>),
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Reports whether the service and its dependencies are up.
    #[oai(path = "/healthcheck", method = "get", operation_id = "healthcheck")]
    async fn healthcheck(&self, engine: Data<&Engine>) -> HealthResponse {
        report(engine.health().await)
    }
}

fn report(health: Health) -> HealthResponse {
    let describe = |check: &Result<(), String>| match check {
        Ok(()) => "ok".to_owned(),
        Err(message) => message.clone(),
    };
    let status = match (&health.database, &health.cache) {
        (Err(_), _) => HealthStatus::Unavailable,
        (Ok(()), Err(_)) => HealthStatus::Degraded,
        (Ok(()), Ok(())) => HealthStatus::Ok,
    };
    let body = HealthBody {
        status,
        database: describe(&health.database),
        cache: describe(&health.cache),
    };
    match health.database {
        Ok(()) => HealthResponse::Ok(Json(body)),
        Err(_) => HealthResponse::Unavailable(Json(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: HealthResponse) -> (u16, HealthBody) {
        match response {
            HealthResponse::Ok(Json(body)) => (200, body),
            HealthResponse::Unavailable(Json(body)) => (503, body),
        }
    }

    fn health(database: Result<(), &str>, cache: Result<(), &str>) -> Health {
        Health {
            database: database.map_err(str::to_owned),
            cache: cache.map_err(str::to_owned),
        }
    }

    fn expected(status: HealthStatus, database: &str, cache: &str) -> HealthBody {
        HealthBody {
            status,
            database: database.to_owned(),
            cache: cache.to_owned(),
        }
    }

    #[test]
    fn all_up_is_ok() {
        assert_eq!(
            body_of(report(health(Ok(()), Ok(())))),
            (200, expected(HealthStatus::Ok, "ok", "ok"))
        );
    }

    #[test]
    fn cache_down_is_degraded_but_200() {
        let response = report(health(Ok(()), Err("connection refused")));
        assert_eq!(
            body_of(response),
            (200, expected(HealthStatus::Degraded, "ok", "connection refused"))
        );
    }

    #[test]
    fn database_down_is_503() {
        let response = report(health(Err("timed out"), Ok(())));
        assert_eq!(
            body_of(response),
            (503, expected(HealthStatus::Unavailable, "timed out", "ok"))
        );
    }
}
