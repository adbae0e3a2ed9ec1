//! Example request bodies for the spec: `/docs` shows them, and schemathesis's examples phase sends them.

use poem_openapi::types::Example;

use crate::articles::ArticlePatchRequest;
use crate::discovery::DiscoverRequest;
use crate::feeds::SubscribeRequest;
use crate::users::{LoginRequest, RegisterRequest};

impl Example for RegisterRequest {
    fn example() -> Self {
        RegisterRequest {
            username: "alice".to_owned(),
            email: "alice@example.com".to_owned(),
            password: "correct horse battery".to_owned(),
            invite: None,
        }
    }
}

impl Example for LoginRequest {
    fn example() -> Self {
        LoginRequest {
            identifier: "alice".to_owned(),
            password: "correct horse battery".to_owned(),
        }
    }
}

impl Example for SubscribeRequest {
    fn example() -> Self {
        SubscribeRequest {
            urls: vec!["https://example.com/feed.xml".to_owned()],
        }
    }
}

impl Example for ArticlePatchRequest {
    fn example() -> Self {
        ArticlePatchRequest {
            read: Some(true),
            starred: None,
        }
    }
}

impl Example for DiscoverRequest {
    fn example() -> Self {
        DiscoverRequest {
            url: "https://example.com/".to_owned(),
        }
    }
}
