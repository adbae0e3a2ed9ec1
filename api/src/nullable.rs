//! `Nullable<T>`: a response field that is always present and may be `null`. poem-openapi marks an `Option`
//! field optional, so generated clients would have to handle "absent" as well as `null`; this one is required.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// Always serialized, as the value or `null`; pair it with `#[oai(nullable)]` so the schema says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Nullable<T>(pub Option<T>);

impl<T> From<Option<T>> for Nullable<T> {
    fn from(value: Option<T>) -> Self {
        Nullable(value)
    }
}

impl<T: Type> Type for Nullable<T> {
    const IS_REQUIRED: bool = true;

    type RawValueType = T::RawValueType;

    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(value) => value.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }
}

impl<T: ParseFromJSON> ParseFromJSON for Nullable<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None => Err(ParseError::expected_input()),
            Some(Value::Null) => Ok(Nullable(None)),
            Some(value) => T::parse_from_json(Some(value))
                .map(|value| Nullable(Some(value)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON> ToJSON for Nullable<T> {
    fn to_json(&self) -> Option<Value> {
        match &self.0 {
            Some(value) => value.to_json(),
            None => Some(Value::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_marks_its_fields_required_and_nullable() {
        let spec: serde_yaml::Value = serde_yaml::from_str(&crate::spec_yaml()).expect("YAML");
        let feed = &spec["components"]["schemas"]["Feed"];
        let required = feed["required"].as_sequence().expect("a required list");
        assert!(
            required.iter().any(|field| field.as_str() == Some("title")),
            "{required:?}"
        );
        assert_eq!(feed["properties"]["title"]["nullable"].as_bool(), Some(true));
    }

    #[test]
    fn it_is_null_when_empty() {
        assert_eq!(Nullable::<String>(None).to_json(), Some(Value::Null));
        assert_eq!(Nullable(Some(3_i64)).to_json(), Some(Value::from(3)));
    }

    #[test]
    fn it_reads_back_what_it_writes() {
        assert_eq!(
            Nullable::<i64>::parse_from_json(Some(Value::Null)).unwrap(),
            Nullable(None)
        );
        assert_eq!(
            Nullable::<i64>::parse_from_json(Some(Value::from(4))).unwrap(),
            Nullable(Some(4))
        );
        assert!(Nullable::<i64>::parse_from_json(None).is_err());
    }
}
