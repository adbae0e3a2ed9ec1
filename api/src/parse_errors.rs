//! poem-openapi's errors about input it could not parse (query, path, body), retold in the API's words: they
//! name the field and say what it must be, and never show poem's internal type names such as `integer_int64`.
//!
//! poem-openapi gives only text, so the text is read here; the unit tests pin the shapes this relies on.

use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};

use crate::error::ApiError;

/// What poem-openapi puts before the rule a validator found broken.
const RULE_BROKEN: &str = "verification failed. ";

/// Turns an unparsable query parameter into an error naming it: 422 for a broken rule, 400 otherwise.
pub fn from_param(error: &ParseParamError) -> ApiError {
    from_reason(error.name, &error.reason)
}

/// Turns an unparsable path segment into an error naming it. Every path parameter of this API is an
/// integer id called `id`; poem-openapi renames them internally (`param0`), so the name is not in the error.
pub fn from_path(error: &ParsePathError) -> ApiError {
    from_reason("id", &error.reason)
}

/// Turns an unreadable JSON body into an error naming the field at fault, when poem-openapi or
/// `strict_json` said which it was.
pub fn from_payload(error: &ParseRequestPayloadError) -> ApiError {
    let reason = error.reason.as_str();
    if let Some((field, problem)) = field_problem(reason) {
        return from_reason(field, problem);
    }
    if reason.contains("Expected input type") || reason.contains("expects an input value") {
        return ApiError::BadRequest("the request body must be a JSON object".to_owned());
    }
    ApiError::BadRequest(format!("the request body is not valid JSON: {reason}"))
}

/// The field and its problem in ``… field `name` problem (occurred while parsing "Type")``.
fn field_problem(reason: &str) -> Option<(&str, &str)> {
    let (_, rest) = reason.split_once("field `")?;
    let (field, problem) = rest.split_once('`')?;
    let problem = problem.trim_start();
    let problem = problem.split(" (occurred while parsing").next().unwrap_or(problem);
    Some((field, problem.trim_end()))
}

/// One field's error from poem-openapi's or `strict_json`'s reason.
fn from_reason(field: &str, reason: &str) -> ApiError {
    let field = field.to_owned();
    if let Some(rule) = reason.strip_prefix(RULE_BROKEN) {
        let message = format!("{field} {}", describe_rule(rule));
        return ApiError::InvalidField { field, message };
    }
    let problem = if reason.contains("expects an input value") {
        "is required".to_owned()
    } else if reason.contains("\"integer(uint") {
        "must be a non-negative integer".to_owned()
    } else if reason.contains("\"integer_") || reason.contains("\"integer(") {
        "must be an integer".to_owned()
    } else if reason.contains("\"boolean\"") {
        "must be true or false".to_owned()
    } else if reason.contains("enumeration value") {
        "is not one of the allowed values".to_owned()
    } else if reason.contains("failed to parse \"") || reason.contains("Expected input type") {
        "has a value of the wrong type".to_owned()
    } else {
        // `strict_json`'s own words: `is required`, `must be a string, not a number`.
        reason.to_owned()
    };
    let message = format!("{field} {problem}");
    ApiError::MalformedField { field, message }
}

/// A validator's `maxLength(32)` as `must be at most 32 characters long`.
fn describe_rule(rule: &str) -> String {
    let Some((name, argument)) = rule.trim_end_matches(')').split_once('(') else {
        return format!("breaks the rule {rule}");
    };
    // `minimum(1, exclusive: false)`: the bound is the first argument.
    let bound = argument.split(',').next().unwrap_or(argument);
    match name {
        "minLength" => format!("must be at least {bound} characters long"),
        "maxLength" => format!("must be at most {bound} characters long"),
        "minItems" => format!("must hold at least {bound} items"),
        "maxItems" => format!("must hold at most {bound} items"),
        "minimum" => format!("must be at least {bound}"),
        "maximum" => format!("must be at most {bound}"),
        "pattern" => format!("must match the pattern {argument}"),
        _ => format!("breaks the rule {rule}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(reason: &str) -> ApiError {
        from_payload(&ParseRequestPayloadError {
            reason: reason.to_owned(),
        })
    }

    fn parts(error: ApiError) -> (u16, Option<String>, String) {
        let status = error.status().as_u16();
        let detail = error.body().error;
        (status, detail.field, detail.message)
    }

    #[test]
    fn a_broken_body_rule_is_422_naming_the_field() {
        let error =
            payload(r#"failed to parse "RegisterRequest": field `username` verification failed. maxLength(32)"#);
        assert_eq!(
            parts(error),
            (
                422,
                Some("username".to_owned()),
                "username must be at most 32 characters long".to_owned()
            )
        );
        let error = payload(r#"failed to parse "SubscribeRequest": field `urls` verification failed. minItems(1)"#);
        assert_eq!(parts(error).2, "urls must hold at least 1 items");
    }

    #[test]
    fn a_strict_field_of_the_wrong_type_is_400_naming_it() {
        let reason = r#"failed to parse "string": field `username` must be a string, not a number (occurred while parsing "RegisterRequest")"#;
        assert_eq!(
            parts(payload(reason)),
            (
                400,
                Some("username".to_owned()),
                "username must be a string, not a number".to_owned()
            )
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_says_so_without_type_names() {
        let (status, field, message) = parts(payload(r#"Expected input type "LoginRequest", found 5."#));
        assert_eq!((status, field), (400, None));
        assert!(!message.contains("LoginRequest"), "{message}");
    }

    #[test]
    fn an_unparsable_query_parameter_names_it_without_type_names() {
        for (reason, expected) in [
            (
                r#"failed to parse "integer_int64": invalid digit found in string"#,
                "limit must be an integer",
            ),
            (
                r#"failed to parse "boolean": provided string was not `true` or `false`"#,
                "limit must be true or false",
            ),
            (
                r#"failed to parse "ReadStatus": Expect a valid enumeration value."#,
                "limit is not one of the allowed values",
            ),
            (r#"Type "string" expects an input value."#, "limit is required"),
            (
                r#"failed to parse "integer(uint32)": invalid digit found in string"#,
                "limit must be a non-negative integer",
            ),
        ] {
            let error = from_param(&ParseParamError {
                name: "limit",
                reason: reason.to_owned(),
            });
            assert_eq!(parts(error), (400, Some("limit".to_owned()), expected.to_owned()));
        }
    }

    #[test]
    fn a_broken_parameter_rule_is_422() {
        let error = from_param(&ParseParamError {
            name: "limit",
            reason: "verification failed. maximum(200, exclusive: false)".to_owned(),
        });
        assert_eq!(
            parts(error),
            (422, Some("limit".to_owned()), "limit must be at most 200".to_owned())
        );
    }

    #[test]
    fn a_path_id_is_named_id() {
        let error = from_path(&ParsePathError {
            name: "param0",
            reason: r#"failed to parse "integer_int64": invalid digit found in string"#.to_owned(),
        });
        assert_eq!(
            parts(error),
            (400, Some("id".to_owned()), "id must be an integer".to_owned())
        );
    }
}
