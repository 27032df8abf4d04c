//! Query-string parameters parsed one by one, so every bad value gets a 400 that names the
//! parameter and says what is wrong.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;

/// Longest query string accepted.
pub const MAX_QUERY_BYTES: usize = 4_096;

#[derive(Debug, Clone, Default)]
pub struct Params {
    values: HashMap<String, String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Params::parse(parts.uri.query().unwrap_or(""))
    }
}

impl Params {
    pub fn parse(query: &str) -> Result<Params, ApiError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(ApiError::invalid_parameter("query", format!("the query string is longer than {MAX_QUERY_BYTES} bytes")));
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|error| ApiError::invalid_parameter("query", format!("malformed query string: {error}")))?;
        let mut values = HashMap::new();
        for (name, value) in pairs {
            if values.contains_key(&name) {
                return Err(ApiError::invalid_parameter(&name, "given more than once"));
            }
            values.insert(name, value);
        }
        Ok(Params { values })
    }

    /// Parameters built by the server itself (a page translating its form into an API query).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        Params { values: pairs.into_iter().collect() }
    }

    /// Rejects parameters the endpoint does not know (a typo would otherwise be silently ignored).
    pub fn allow_only(&self, known: &[&str]) -> Result<(), ApiError> {
        let mut unknown: Vec<&String> = self.values.keys().filter(|name| !known.contains(&name.as_str())).collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(name) => Err(ApiError::invalid_parameter(name, format!("unknown parameter (known: {})", known.join(", ")))),
        }
    }

    /// The trimmed value; empty counts as absent (HTML forms send empty fields).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|value| value.trim()).filter(|value| !value.is_empty())
    }

    pub fn parsed<T>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, ApiError> {
        match self.text(name) {
            None => Ok(None),
            Some(value) => parse(value).map(Some).map_err(|reason| ApiError::invalid_parameter(name, reason)),
        }
    }

    pub fn number(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.parsed(name, |value| match value.parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(number),
            _ => Err(format!("expected a number, got {value:?}")),
        })
    }

    pub fn integer_in(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, ApiError> {
        self.parsed(name, |value| match value.parse::<u64>() {
            Ok(number) if (min..=max).contains(&number) => Ok(number),
            _ => Err(format!("expected a whole number from {min} to {max}, got {value:?}")),
        })
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.parsed(name, |value| match value {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(format!("expected true or false, got {value:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_by_name() {
        let params = Params::parse("lat=30.2&radius_m=abc&q=%E8%A5%BF%E6%B9%96&empty=").unwrap();
        assert_eq!(params.number("lat").unwrap(), Some(30.2));
        assert_eq!(params.text("q"), Some("西湖"));
        assert_eq!(params.text("empty"), None);
        assert_eq!(params.number("radius_m").unwrap_err().message, "parameter radius_m: expected a number, got \"abc\"");
        assert_eq!(params.allow_only(&["lat", "q"]).unwrap_err().message, "parameter empty: unknown parameter (known: lat, q)");
        assert_eq!(Params::parse("a=1&a=2").unwrap_err().message, "parameter a: given more than once");
        assert_eq!(
            Params::parse("limit=0").unwrap().integer_in("limit", 1, 500).unwrap_err().message,
            "parameter limit: expected a whole number from 1 to 500, got \"0\""
        );
    }
}
