//! The minijinja environment: templates embedded at compile time, HTML auto-escaping (every template
//! name ends in `.html`), undefined values are errors when printed.

use std::sync::OnceLock;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value};

use crate::web::assets;

pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("venues.html", include_str!("../../templates/venues.html")),
    ("venue.html", include_str!("../../templates/venue.html")),
    ("region.html", include_str!("../../templates/region.html")),
    ("api_docs.html", include_str!("../../templates/api_docs.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("register.html", include_str!("../../templates/register.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("password_reset.html", include_str!("../../templates/password_reset.html")),
    ("account.html", include_str!("../../templates/account.html")),
    ("tokens.html", include_str!("../../templates/tokens.html")),
    ("admin_users.html", include_str!("../../templates/admin_users.html")),
    ("admin_audit.html", include_str!("../../templates/admin_audit.html")),
    ("booking_grid.html", include_str!("../../templates/booking_grid.html")),
    ("my_bookings.html", include_str!("../../templates/my_bookings.html")),
    ("fitness_report.html", include_str!("../../templates/fitness_report.html")),
    ("station_entry.html", include_str!("../../templates/station_entry.html")),
    ("operator_macros.html", include_str!("../../templates/operator_macros.html")),
    ("operator_venue.html", include_str!("../../templates/operator_venue.html")),
];

pub fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|error| panic!("template {name}: {error:#}"));
        }
        env.set_formatter(html_formatter);
        env.add_filter("fill", fill);
        env.add_function("static_url", static_url);
        env
    })
}

/// The default HTML escaping also turns `/` into `&#x2f;`, which makes every URL unreadable in the
/// page source; escaping `< > & " '` is what HTML needs (attributes are always quoted here).
fn html_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    if state.auto_escape() == AutoEscape::Html && value.kind() == ValueKind::String && !value.is_safe() {
        let text = value.as_str().unwrap_or("");
        let mut escaped = String::with_capacity(text.len() + 16);
        for c in text.chars() {
            match c {
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '&' => escaped.push_str("&amp;"),
                '"' => escaped.push_str("&quot;"),
                '\'' => escaped.push_str("&#x27;"),
                c => escaped.push(c),
            }
        }
        return out.write_str(&escaped).map_err(Error::from);
    }
    minijinja::escape_formatter(out, state, value)
}

/// `{{ t.results_count|fill(n=total) }}`: replaces `{n}` in the string.
fn fill(text: String, kwargs: Kwargs) -> Result<String, Error> {
    let mut out = text;
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(out)
}

/// `{{ static_url("css/site.css") }}` → `/static/css/site.css?v=…`.
fn static_url(path: String) -> Result<String, Error> {
    if !assets::ASSETS.iter().any(|asset| asset.path == path) {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("no static asset {path:?}")));
    }
    Ok(assets::url(&path))
}

/// JSON for a `<script type="application/json">` element: `<`, `>` and `&` escaped, so `</script>`
/// inside a string cannot end the element.
pub fn script_json(value: &impl serde::Serialize) -> Value {
    let text = serde_json::to_string(value).expect("plain data serialises");
    let text = text.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    Value::from_safe_string(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::STRINGS;

    #[test]
    fn templates_compile_and_use_known_strings() {
        let env = environment();
        for (name, source) in TEMPLATES {
            env.get_template(name).unwrap();
            let mut rest = *source;
            while let Some(at) = rest.find("t.") {
                let before = rest[..at].chars().last();
                rest = &rest[at + 2..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let key: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if key.is_empty() {
                    continue;
                }
                assert!(STRINGS.iter().any(|(k, _, _)| *k == key), "{name} uses unknown string t.{key}");
            }
        }
    }

    #[test]
    fn escapes_markup_but_not_slashes() {
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        env.add_template("t.html", "<a href=\"{{ url }}\">{{ name }}</a>{{ n }}{{ safe }}").unwrap();
        let html = env
            .get_template("t.html")
            .unwrap()
            .render(minijinja::context! { url => "/venues?a=1&b=2", name => "<b>\"x\" 'y'</b>", n => 3, safe => Value::from_safe_string("<i>".into()) })
            .unwrap();
        assert_eq!(html, "<a href=\"/venues?a=1&amp;b=2\">&lt;b&gt;&quot;x&quot; &#x27;y&#x27;&lt;/b&gt;</a>3<i>");
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let json = script_json(&serde_json::json!({"name": "</script><b>&"}));
        assert_eq!(json.to_string(), r#"{"name":"\u003c/script\u003e\u003cb\u003e\u0026"}"#);
    }
}
