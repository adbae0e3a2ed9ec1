//! Feed icons: `GET /v1/feeds/{id}/icon` serves a subscribed feed's favicon, with a strong ETag.

use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, OpenApi, ResponseContent};
use syndic_actors::domain::{FeedIcon, FeedId};
use syndic_actors::engine::Engine;

use crate::auth::BearerAuth;
use crate::error_responses::{ById, Failure};
use crate::ApiTags;

/// How long a client may reuse an icon without asking again: icons are fetched once and rarely change.
const CACHE_CONTROL: &str = "private, max-age=86400";

pub struct IconsApi;

/// The image, in the type its bytes are.
#[derive(ResponseContent)]
pub enum IconImage {
    #[oai(content_type = "image/png")]
    Png(Binary<Vec<u8>>),
    #[oai(content_type = "image/gif")]
    Gif(Binary<Vec<u8>>),
    #[oai(content_type = "image/jpeg")]
    Jpeg(Binary<Vec<u8>>),
    #[oai(content_type = "image/webp")]
    Webp(Binary<Vec<u8>>),
    #[oai(content_type = "image/bmp")]
    Bmp(Binary<Vec<u8>>),
    #[oai(content_type = "image/x-icon")]
    Icon(Binary<Vec<u8>>),
}

#[derive(ApiResponse)]
pub enum IconResponse {
    /// The feed's icon.
    #[oai(status = 200)]
    Image(
        IconImage,
        #[oai(header = "ETag")] String,
        #[oai(header = "Cache-Control")] String,
    ),
    /// The icon has not changed since the ETag sent in `If-None-Match`.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String, #[oai(header = "Cache-Control")] String),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Feeds")]
impl IconsApi {
    /// The feed's icon (its own, else its site's), looked for once after its first poll. 404 when the user is
    /// not subscribed, or the feed has none (yet).
    #[oai(path = "/feeds/:id/icon", method = "get", operation_id = "get_feed_icon")]
    async fn icon(
        &self,
        auth: BearerAuth,
        /// The feed's id.
        id: Path<FeedId>,
        /// An ETag from an earlier answer: 304 when the icon is still the same.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<IconResponse, Failure<ById>> {
        let icon = engine.feed_icon(auth.0, id.0).await?;
        if if_none_match
            .0
            .as_deref()
            .is_some_and(|tags| matches_etag(tags, &icon.etag))
        {
            return Ok(IconResponse::NotModified(icon.etag, CACHE_CONTROL.to_owned()));
        }
        let etag = icon.etag.clone();
        Ok(IconResponse::Image(image(icon), etag, CACHE_CONTROL.to_owned()))
    }
}

/// Whether an `If-None-Match` list names the ETag (or is `*`); a weak tag matches as its strong form.
fn matches_etag(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

fn image(icon: FeedIcon) -> IconImage {
    let bytes = Binary(icon.image);
    match icon.content_type.as_str() {
        "image/png" => IconImage::Png(bytes),
        "image/gif" => IconImage::Gif(bytes),
        "image/jpeg" => IconImage::Jpeg(bytes),
        "image/webp" => IconImage::Webp(bytes),
        "image/bmp" => IconImage::Bmp(bytes),
        _ => IconImage::Icon(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        assert!(matches_etag("\"abc\"", "\"abc\""));
        assert!(matches_etag("\"x\", W/\"abc\"", "\"abc\""));
        assert!(matches_etag("*", "\"abc\""));
        assert!(!matches_etag("\"abd\"", "\"abc\""));
        assert!(!matches_etag("", "\"abc\""));
    }
}
