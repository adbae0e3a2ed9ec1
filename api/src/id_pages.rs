//! Paging of the listings keyed by id, newest first (jobs and their items, webhooks and their deliveries,
//! timers): a bounded `limit`, a `cursor` that is the last id of the page before, and the next page's cursor.

use std::str::FromStr;

use crate::error::ApiError;

/// A page size within bounds, or a 422 naming the parameter.
pub(crate) fn bounded(field: &'static str, value: Option<i64>, default: i64, max: i64) -> Result<u32, ApiError> {
    let value = value.unwrap_or(default);
    if !(1..=max).contains(&value) {
        return Err(ApiError::validation(field, format!("must be between 1 and {max}")));
    }
    Ok(value as u32)
}

/// The id a `cursor` names, or a 422 naming `cursor` when it is not one this listing gave.
pub(crate) fn cursor<Id: FromStr>(cursor: Option<String>) -> Result<Option<Id>, ApiError> {
    cursor
        .map(|cursor| cursor.parse::<Id>())
        .transpose()
        .map_err(|_| ApiError::validation("cursor", "not a cursor from this listing"))
}

/// Where the next page starts: the last item's key when the page is full, else nothing (this was the last page).
pub(crate) fn next_page<Item, Key>(page: &[Item], limit: u32, key: impl FnOnce(&Item) -> Key) -> Option<Key> {
    (page.len() == limit as usize).then(|| page.last().map(key)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of<T: std::fmt::Debug>(result: Result<T, ApiError>) -> &'static str {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_limit_is_its_default_or_within_bounds() {
        assert_eq!(bounded("limit", None, 50, 200).expect("the default"), 50);
        assert_eq!(bounded("limit", Some(200), 50, 200).expect("the bound"), 200);
        assert_eq!(field_of(bounded("limit", Some(0), 50, 200)), "limit");
        assert_eq!(field_of(bounded("limit", Some(201), 50, 200)), "limit");
    }

    #[test]
    fn a_cursor_is_an_id_or_a_422_naming_it() {
        assert_eq!(cursor::<i64>(None).expect("none"), None);
        assert_eq!(cursor::<i64>(Some("42".to_owned())).expect("an id"), Some(42));
        assert_eq!(field_of(cursor::<i64>(Some("garbage".to_owned()))), "cursor");
        assert_eq!(field_of(cursor::<uuid::Uuid>(Some("42".to_owned()))), "cursor");
    }

    #[test]
    fn only_a_full_page_has_a_next_one_starting_after_its_last_item() {
        assert_eq!(next_page(&[5, 4, 3], 3, |id| *id), Some(3));
        assert_eq!(next_page(&[5, 4], 3, |id| *id), None);
        assert_eq!(next_page::<i64, i64>(&[], 3, |id| *id), None);
    }
}
