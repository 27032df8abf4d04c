//! What the page tests share: a browser over HTTP (cookie jar, no automatic redirects) and reading
//! form fields out of a page.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// A form with no fields but its CSRF token.
pub const NO_FIELDS: &[(&str, &str)] = &[];

/// One answer to a browser request.
pub struct Answer {
    pub status: u16,
    pub location: String,
    pub body: String,
}

impl Answer {
    #[track_caller]
    pub fn assert_contains(&self, text: &str) {
        assert!(self.body.contains(text), "page ({}) does not contain {text:?}:\n{}", self.status, self.body.chars().take(4000).collect::<String>());
    }
}

/// A browser: a cookie jar, no automatic redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, base: base.to_string(), cookies: BTreeMap::new() }
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header("cookie", self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; "))
        };
        let response = request.send().await.unwrap();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|value| value.to_str().ok()).unwrap_or("").to_string();
        Answer { status, location, body: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub async fn post<F: serde::Serialize + ?Sized>(&mut self, path: &str, fields: &F) -> Answer {
        let request = self.http.post(format!("{}{path}", self.base)).form(fields);
        self.send(request).await
    }

    /// Opens `page` (it must answer 200) and submits `fields` to `action` with the page's CSRF token.
    pub async fn submit<K: AsRef<str>, V: AsRef<str>>(&mut self, page: &str, action: &str, fields: &[(K, V)]) -> Answer {
        let shown = self.get(page).await;
        assert_eq!(shown.status, 200, "{page}: {}", shown.body.chars().take(500).collect::<String>());
        let mut all = vec![("csrf".to_string(), csrf_of(&shown.body))];
        all.extend(fields.iter().map(|(name, value)| (name.as_ref().to_string(), value.as_ref().to_string())));
        self.post(action, &all).await
    }

    pub async fn log_in(&mut self, phone: &str, password: &str) -> Answer {
        self.submit("/login", "/login", &[("phone", phone), ("password", password)]).await
    }
}

/// The value of the first `name="…" value="…"` input at or after byte `from` of `html`.
pub fn input_after(html: &str, from: usize, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html[from..].find(&marker).unwrap_or_else(|| panic!("no {name} field after byte {from} in:\n{html}")) + from + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The page's (first) CSRF token.
pub fn csrf_of(html: &str) -> String {
    input_after(html, 0, "csrf")
}
