//! Request-body fields read as their own JSON type only, naming the field when they are not: poem-openapi's
//! `String` would take `123` or `false` and make a string of it, and its own errors do not say which field.
//!
//! Each reader is named for the field it reads, so `#[oai(deserialize_with = "crate::strict_json::username")]`
//! is all a request object needs. `parse_errors` finds the field again in the message (`field `name` ...`).

use poem_openapi::types::{MaybeUndefined, ParseError, ParseFromJSON, ParseResult, Type};
use serde_json::Value;

/// The error for one field; `parse_errors::field_problem` reads it back.
fn problem<T: Type>(field: &str, problem: &str) -> ParseError<T> {
    ParseError::custom(format!("field `{field}` {problem}"))
}

/// What the client sent instead, in JSON's words, without echoing the value.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string(field: &str, value: Option<Value>) -> ParseResult<String> {
    match value {
        Some(Value::String(text)) => Ok(text),
        None | Some(Value::Null) => Err(problem(field, "is required")),
        Some(other) => Err(problem(field, &format!("must be a string, not {}", kind(&other)))),
    }
}

fn optional_string(field: &str, value: Option<Value>) -> ParseResult<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(problem(
            field,
            &format!("must be a string or null, not {}", kind(&other)),
        )),
    }
}

/// A field the schema types as a string but does not require: absent is `None`, and `null` is refused like
/// any other non-string, as the schema does not allow it.
fn string_if_given(field: &str, value: Option<Value>) -> ParseResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(problem(
            field,
            &format!("must be a string (or left out), not {}", kind(&other)),
        )),
    }
}

/// A field of any other type that may be left out but, as the schema does not allow it, not `null`: poem-openapi
/// reads `null` as left out, which for a mark request's `feed_id` would widen what it marks. Any other value is
/// read as before.
fn given<T: ParseFromJSON>(field: &str, value: Option<Value>) -> ParseResult<Option<T>> {
    match value {
        Some(Value::Null) => Err(problem(field, "must be left out rather than null")),
        value => Option::<T>::parse_from_json(value).map_err(ParseError::propagate),
    }
}

/// A patch field that is left out, `null` (to clear it) or a string.
fn string_or_null(field: &str, value: Option<Value>) -> ParseResult<MaybeUndefined<String>> {
    match value {
        None => Ok(MaybeUndefined::Undefined),
        Some(Value::Null) => Ok(MaybeUndefined::Null),
        Some(Value::String(text)) => Ok(MaybeUndefined::Value(text)),
        Some(other) => Err(problem(
            field,
            &format!("must be a string or null, not {}", kind(&other)),
        )),
    }
}

/// A list of strings that may be left out.
fn strings_if_given(field: &str, value: Option<Value>) -> ParseResult<Option<Vec<String>>> {
    match value {
        None => Ok(None),
        given => strings(field, given).map(Some).map_err(ParseError::propagate),
    }
}

fn strings(field: &str, value: Option<Value>) -> ParseResult<Vec<String>> {
    let items = match value {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => return Err(problem(field, "is required")),
        Some(other) => return Err(problem(field, &format!("must be an array, not {}", kind(&other)))),
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(text) => Ok(text),
            other => Err(problem(field, &format!("must hold only strings, not {}", kind(&other)))),
        })
        .collect()
}

fn optional_bool(field: &str, value: Option<Value>) -> ParseResult<Option<bool>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(flag)),
        Some(other) => Err(problem(
            field,
            &format!("must be true, false or null, not {}", kind(&other)),
        )),
    }
}

/// One public reader per request-body field, named for it; `reader("path"): ...` names the field in errors
/// where the reader's name cannot be the field's (a nested field, or one field name read two ways).
macro_rules! field_readers {
    ($($name:ident $(($field:literal))?: $reader:ident -> $value:ty;)+) => {
        $(
            pub fn $name(value: Option<Value>) -> ParseResult<$value> {
                $reader(field_readers!(@field $name $($field)?), value)
            }
        )+
    };
    (@field $name:ident $field:literal) => { $field };
    (@field $name:ident) => { stringify!($name) };
}

field_readers! {
    username: string -> String;
    email: string -> String;
    password: string -> String;
    identifier: string -> String;
    refresh_token: string -> String;
    old_password: string -> String;
    new_password: string -> String;
    name: string -> String;
    category: string_if_given -> Option<String>;
    invite: optional_string -> Option<String>;
    urls: strings -> Vec<String>;
    url: string -> String;
    read: optional_bool -> Option<bool>;
    tags: strings_if_given -> Option<Vec<String>>;
    starred: optional_bool -> Option<bool>;
    // Saved filters.
    name_if_given("name"): string_if_given -> Option<String>;
    filter_q("query.q"): string_if_given -> Option<String>;
    filter_category("query.category"): string_if_given -> Option<String>;
    filter_tag("query.tag"): string_if_given -> Option<String>;
    filter_author("query.author"): string_if_given -> Option<String>;
    // Shares.
    url_if_given("url"): string_if_given -> Option<String>;
    title: string_if_given -> Option<String>;
    note: string_if_given -> Option<String>;
    to: strings_if_given -> Option<Vec<String>>;
    // Profiles, feeds and timers: `null` clears.
    display_name: string_or_null -> MaybeUndefined<String>;
    patched_title("title"): string_or_null -> MaybeUndefined<String>;
    // A feed's category, where `null` takes the feed out of it (a mark request's has no `null`: `category`).
    patched_category("category"): string_or_null -> MaybeUndefined<String>;
    patched_name("name"): string_or_null -> MaybeUndefined<String>;
    // Timers.
    at: string_if_given -> Option<String>;
    every: string_if_given -> Option<String>;
    at_time: string_if_given -> Option<String>;
    timezone: string_if_given -> Option<String>;
    cron: string_if_given -> Option<String>;
    target_url("target.url"): string_if_given -> Option<String>;
    payload_category("payload.category"): string_if_given -> Option<String>;
    // Webhooks.
    filter_category_of_webhook("filter.category"): string_if_given -> Option<String>;
}

/// One public reader per field of another type that may be left out but is never `null` (see [`given`]): generic,
/// so the field's own type is what is read.
macro_rules! given_readers {
    ($($name:ident $(($field:literal))?;)+) => {
        $(
            pub fn $name<T: ParseFromJSON>(value: Option<Value>) -> ParseResult<Option<T>> {
                given(field_readers!(@field $name $($field)?), value)
            }
        )+
    };
}

given_readers! {
    mark_read("read");
    mark_starred("starred");
    mark_ids("ids");
    mark_feed_id("feed_id");
    mark_before("before");
    countdown("in");
    countdown_hours("in.hours");
    countdown_minutes("in.minutes");
    countdown_seconds("in.seconds");
    target_webhook_id("target.webhook_id");
    payload("payload");
    payload_feed_id("payload.feed_id");
    payload_filter("payload.filter");
    enabled;
    visibility;
    visibility_display_name("visibility.display_name");
    visibility_email("visibility.email");
    query;
    article_id;
    events;
    filter;
    filter_feed_id("filter.feed_id");
    filter_saved_filter("filter.saved_filter");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message<T: Type>(result: ParseResult<T>) -> String {
        match result {
            Err(error) => error.into_message(),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn strings_are_taken_as_they_are() {
        assert_eq!(username(Some(json!("alice"))).unwrap(), "alice");
        assert_eq!(urls(Some(json!(["a", "b"]))).unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn numbers_and_booleans_are_not_strings() {
        assert!(message(username(Some(json!(123)))).contains("field `username` must be a string, not a number"));
        assert!(message(urls(Some(json!([false])))).contains("field `urls` must hold only strings, not a boolean"));
        assert!(message(urls(Some(json!("https://x")))).contains("field `urls` must be an array"));
    }

    #[test]
    fn a_missing_or_null_string_is_required() {
        assert!(message(identifier(None)).contains("field `identifier` is required"));
        assert!(message(password(Some(Value::Null))).contains("field `password` is required"));
    }

    #[test]
    fn an_optional_string_is_a_string_or_absent() {
        assert_eq!(invite(None).unwrap(), None);
        assert_eq!(invite(Some(json!("abc"))).unwrap(), Some("abc".to_owned()));
        assert!(message(invite(Some(json!(7)))).contains("field `invite` must be a string or null, not a number"));
    }

    #[test]
    fn a_string_if_given_is_absent_or_a_string_never_null() {
        assert_eq!(category(None).unwrap(), None);
        assert_eq!(category(Some(json!("News"))).unwrap(), Some("News".to_owned()));
        assert!(
            message(category(Some(Value::Null))).contains("field `category` must be a string (or left out), not null")
        );
        assert!(message(category(Some(json!(false)))).contains("not a boolean"));
    }

    #[test]
    fn a_patched_category_is_a_string_null_or_absent_and_tags_only_strings() {
        assert!(patched_category(None).unwrap().is_undefined());
        assert!(patched_category(Some(Value::Null)).unwrap().is_null());
        assert_eq!(
            patched_category(Some(json!("News"))).unwrap().value(),
            Some(&"News".to_owned())
        );
        assert!(message(patched_category(Some(json!(false)))).contains("field `category` must be a string or null"));
        assert_eq!(tags(None).unwrap(), None);
        assert!(message(tags(Some(json!([false])))).contains("field `tags` must hold only strings, not a boolean"));
    }

    #[test]
    fn a_reader_named_apart_from_its_field_names_the_field() {
        assert!(message(filter_q(Some(json!(false)))).contains("field `query.q` must be a string (or left out)"));
        assert!(message(name_if_given(Some(json!(7)))).contains("field `name` must be a string (or left out)"));
        assert!(message(patched_name(Some(json!(7)))).contains("field `name` must be a string or null"));
        assert!(message(to(Some(json!("bob")))).contains("field `to` must be an array, not a string"));
    }

    #[test]
    fn flags_are_booleans_or_absent() {
        assert_eq!(read(None).unwrap(), None);
        assert_eq!(read(Some(Value::Null)).unwrap(), None);
        assert_eq!(starred(Some(json!(true))).unwrap(), Some(true));
        assert!(message(read(Some(json!("true")))).contains("field `read` must be true, false or null"));
    }
}
