//! OPML: `POST /v1/opml` imports a document as a job; `GET /v1/opml` exports the subscriptions, at once for a
//! small account or as a job with `?async=true`.

use chrono::Utc;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiRequest, ApiResponse, OpenApi};
use syndic_actors::engine::Engine;
use syndic_actors::opml::{self, OpmlError};

use crate::auth::BearerAuth;
use crate::error::ApiError;
use crate::error_responses::{Failure, StartJob};
use crate::jobs::{job_body, JobAccepted, JobBody};
use crate::ApiTags;

/// The most subscriptions `GET /v1/opml` writes at once; more need `?async=true`.
pub const SYNC_EXPORT_MAX: usize = 2_000;

pub struct OpmlApi;

/// An OPML document, in any encoding it declares.
#[derive(ApiRequest)]
pub enum OpmlUpload {
    #[oai(content_type = "text/x-opml")]
    Opml(Binary<Vec<u8>>),
    #[oai(content_type = "application/xml")]
    Xml(Binary<Vec<u8>>),
    #[oai(content_type = "text/xml")]
    TextXml(Binary<Vec<u8>>),
}

#[derive(ApiResponse)]
pub enum ExportResponse {
    /// The subscriptions as OPML 2.0, folders as outlines.
    #[oai(status = 200, content_type = "text/x-opml; charset=utf-8")]
    Document(Binary<Vec<u8>>),
    /// With `async=true`: the export runs as a job; its document is at `result_url` once done.
    #[oai(status = 202)]
    Accepted(Json<JobBody>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Feeds")]
impl OpmlApi {
    /// Imports an OPML document (up to 10,000 feeds) as a job: each feed is subscribed as `POST /v1/feeds`
    /// would, with its folder kept on the subscription. Follow it at `GET /v1/jobs/{id}` or on the event stream.
    #[oai(path = "/opml", method = "post", operation_id = "import_opml")]
    async fn import(
        &self,
        auth: BearerAuth,
        body: OpmlUpload,
        engine: Data<&Engine>,
    ) -> Result<JobAccepted, Failure<StartJob>> {
        let (OpmlUpload::Opml(Binary(bytes)) | OpmlUpload::Xml(Binary(bytes)) | OpmlUpload::TextXml(Binary(bytes))) =
            body;
        let feeds = opml::parse(&bytes).map_err(opml_error)?;
        Ok(JobAccepted::Accepted(Json(job_body(
            engine.import_opml(auth.0, feeds).await?,
        ))))
    }

    /// The subscriptions as OPML. An account with more than 2,000 needs `async=true`, which runs the export as a
    /// job.
    #[oai(path = "/opml", method = "get", operation_id = "export_opml")]
    async fn export(
        &self,
        auth: BearerAuth,
        /// Run the export as a job (202) instead of answering with the document.
        #[oai(name = "async")]
        run_as_job: Query<Option<bool>>,
        engine: Data<&Engine>,
    ) -> Result<ExportResponse, Failure<StartJob>> {
        if run_as_job.0.unwrap_or(false) {
            let job = engine.export_opml_job(auth.0).await?;
            return Ok(ExportResponse::Accepted(Json(job_body(job))));
        }
        let feeds = engine.exported_feeds(auth.0, Some(SYNC_EXPORT_MAX)).await?;
        Ok(ExportResponse::Document(Binary(
            opml::write(&feeds, Utc::now()).into_bytes(),
        )))
    }
}

/// A document that cannot be imported: 422 naming the line and column where it breaks.
fn opml_error(error: OpmlError) -> ApiError {
    ApiError::validation("opml", error.to_string())
}
