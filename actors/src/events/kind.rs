//! The kinds of event, and their names on the wire.

/// What an event says happened. The names are the SSE `event:` field and the `?types=` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A subscribed feed gained articles (one event per subscriber per feed per flush).
    ArticleNew,
    /// A subscribed feed's status changed.
    FeedStatus,
    /// A job made progress.
    JobProgress,
    /// A job finished.
    JobDone,
    /// One of the user's webhooks was disabled after too many dead deliveries (never sent to a webhook).
    WebhookDisabled,
    /// A friend shared a link with the user.
    ShareNew,
    /// The client missed events that are no longer kept, or fell too far behind: reload state, then go on.
    Resync,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::ArticleNew,
        EventKind::FeedStatus,
        EventKind::JobProgress,
        EventKind::JobDone,
        EventKind::WebhookDisabled,
        EventKind::ShareNew,
        EventKind::Resync,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ArticleNew => "article.new",
            EventKind::FeedStatus => "feed.status",
            EventKind::JobProgress => "job.progress",
            EventKind::JobDone => "job.done",
            EventKind::WebhookDisabled => "webhook.disabled",
            EventKind::ShareNew => "share.new",
            EventKind::Resync => "resync",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        EventKind::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        EventKind::parse(value).ok_or_else(|| UnknownEventKind(value.to_owned()))
    }
}

/// A name that is no event kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventKind(pub String);

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn every_kind_parses_from_its_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
        }
        assert_eq!(EventKind::parse("article.New"), None);
        assert_eq!("share.new".parse::<EventKind>(), Ok(EventKind::ShareNew));
        assert!("share.sent".parse::<EventKind>().is_err());
    }
}
