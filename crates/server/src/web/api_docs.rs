//! `/api/docs`: the OpenAPI document of the JSON API as a readable page (no Swagger UI needed).

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::Serialize;
use serde_json::Value as Json;

use crate::web::PageContext;

#[derive(Debug, Serialize, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub type_name: String,
    pub description: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ResponseDoc {
    pub status: String,
    pub description: String,
    pub body: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Operation {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub description: String,
    pub parameters: Vec<Parameter>,
    pub responses: Vec<ResponseDoc>,
    pub needs_auth: bool,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Field {
    pub name: String,
    pub type_name: String,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Schema {
    pub name: String,
    pub description: String,
    pub fields: Vec<Field>,
}

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

fn text(value: &Json) -> String {
    value.as_str().unwrap_or("").trim().to_string()
}

/// A short type label: `string`, `integer | null`, `VenueView`, `array of VenueView`.
pub fn type_label(schema: &Json) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Json::as_str) {
        return reference.rsplit('/').next().unwrap_or(reference).to_string();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema.get(key).and_then(Json::as_array) {
            return options.iter().map(type_label).collect::<Vec<_>>().join(" | ");
        }
    }
    let base = match schema.get("type") {
        Some(Json::String(kind)) => kind.clone(),
        Some(Json::Array(kinds)) => kinds.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(" | "),
        _ => String::new(),
    };
    if let (true, Some(items)) = (base.starts_with("array"), schema.get("items")) {
        return base.replacen("array", &format!("array of {}", type_label(items)), 1);
    }
    if base.is_empty() && schema.get("properties").is_some() {
        return "object".into();
    }
    base
}

/// The operations of an OpenAPI document, in path order then method order.
pub fn operations(document: &Json) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = document["paths"].as_object() else { return out };
    for (path, item) in paths {
        for method in METHODS {
            let Some(operation) = item.get(method) else { continue };
            let parameters = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .map(|parameter| Parameter {
                            name: text(&parameter["name"]),
                            location: text(&parameter["in"]),
                            required: parameter["required"].as_bool().unwrap_or(false),
                            type_name: type_label(&parameter["schema"]),
                            description: text(&parameter["description"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let responses = operation["responses"]
                .as_object()
                .map(|responses| {
                    responses
                        .iter()
                        .map(|(status, response)| {
                            let body = response["content"]
                                .as_object()
                                .and_then(|content| content.iter().next())
                                .map(|(media, content)| {
                                    let schema = type_label(&content["schema"]);
                                    if schema.is_empty() { media.clone() } else { format!("{schema} ({media})") }
                                })
                                .unwrap_or_default();
                            ResponseDoc { status: status.clone(), description: text(&response["description"]), body }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let anchor = format!("{method}-{}", path.trim_matches('/').replace(['/', '{', '}', '.'], "-"));
            out.push(Operation {
                anchor,
                method: method.to_uppercase(),
                path: path.clone(),
                tag: operation["tags"].get(0).map(text).unwrap_or_default(),
                summary: text(&operation["summary"]),
                description: text(&operation["description"]),
                parameters,
                responses,
                needs_auth: operation["security"].as_array().is_some_and(|security| !security.is_empty()),
            });
        }
    }
    out
}

pub fn schemas(document: &Json) -> Vec<Schema> {
    let Some(schemas) = document["components"]["schemas"].as_object() else { return Vec::new() };
    schemas
        .iter()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema["required"].as_array().map(|list| list.iter().filter_map(Json::as_str).collect()).unwrap_or_default();
            let fields = schema["properties"]
                .as_object()
                .map(|properties| {
                    properties
                        .iter()
                        .map(|(field, property)| Field {
                            name: field.clone(),
                            type_name: type_label(property),
                            required: required.contains(&field.as_str()),
                            description: text(&property["description"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Schema { name: name.clone(), description: text(&schema["description"]), fields }
        })
        .collect()
}

pub async fn page(page: PageContext) -> Response {
    let lang = page.lang;
    let document = serde_json::to_value(crate::api::openapi_document()).expect("the OpenAPI document serialises");
    let data = context! {
        api_title => text(&document["info"]["title"]),
        api_version => text(&document["info"]["version"]),
        api_description => text(&document["info"]["description"]),
        openapi_version => text(&document["openapi"]),
        operations => operations(&document),
        schemas => schemas(&document),
        tags => document["tags"].as_array().map(|tags| tags.iter().map(|tag| context! { name => text(&tag["name"]), description => text(&tag["description"]) }).collect::<Vec<Value>>()).unwrap_or_default(),
    };
    page.render(StatusCode::OK, "api_docs.html", lang.text("api_docs_title"), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_real_document() {
        let document = serde_json::to_value(crate::api::openapi_document()).unwrap();
        let operations = operations(&document);
        let list = operations.iter().find(|op| op.method == "GET" && op.path == "/api/v1/venues").expect("venue search documented");
        assert!(list.parameters.iter().any(|p| p.name == "lat" && p.location == "query" && !p.required));
        assert!(list.responses.iter().any(|r| r.status == "200" && r.body.contains("VenueList")));
        assert!(operations.iter().any(|op| op.method == "POST" && op.needs_auth));
        assert!(schemas(&document).iter().any(|schema| schema.name == "VenueView" && !schema.fields.is_empty()));
    }

    #[test]
    fn labels_types() {
        assert_eq!(type_label(&serde_json::json!({"type": ["number", "null"]})), "number | null");
        assert_eq!(type_label(&serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/X"}})), "array of X");
        assert_eq!(type_label(&serde_json::json!({"$ref": "#/components/schemas/ErrorBody"})), "ErrorBody");
    }
}
