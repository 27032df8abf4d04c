//! The JSON API under `/api/v1`, and its OpenAPI document.

use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::state::AppState;

pub mod accounts;
pub mod admin;
pub mod bookings;
pub mod fitness;
pub mod indicators;
pub mod passwords;
pub mod personal_data;
pub mod places;
pub mod regions;
pub mod resources;
pub mod venues;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/accounts", post(accounts::register).get(admin::list_accounts))
        .route("/api/v1/accounts/{id}/roles", post(admin::grant_role).delete(admin::revoke_role))
        .route("/api/v1/audit", get(admin::search_audit))
        .route("/api/v1/sessions", post(accounts::login))
        .route("/api/v1/sessions/current", delete(accounts::logout))
        .route("/api/v1/me", get(accounts::me).delete(personal_data::delete_me))
        .route("/api/v1/me/identity", put(accounts::set_identity))
        .route("/api/v1/me/password", put(passwords::update_password))
        .route("/api/v1/me/export", get(personal_data::export))
        .route("/api/v1/password-resets", post(passwords::start_password_reset))
        .route("/api/v1/password-resets/confirm", post(passwords::finish_password_reset))
        .route("/api/v1/me/tokens", get(accounts::list_tokens).post(accounts::create_token))
        .route("/api/v1/me/tokens/{id}", delete(accounts::revoke_token))
        .route("/api/v1/regions", get(regions::search))
        .route("/api/v1/regions/{code}", get(regions::show))
        .route("/api/v1/places", get(places::search))
        .route("/api/v1/venues", get(venues::list).post(venues::create))
        .route("/api/v1/venues.geojson", get(venues::list_geojson))
        .route("/api/v1/venues/{id}", get(venues::show).put(venues::replace).delete(venues::remove))
        .route("/api/v1/venues/{id}/resources", get(resources::list_for_venue).post(resources::create))
        .route("/api/v1/resources/{id}", get(resources::show).put(resources::replace))
        .route("/api/v1/resources/{id}/slots", get(resources::list_slots))
        .route("/api/v1/resources/{id}/closures", get(resources::list_closures).post(resources::create_closure))
        .route("/api/v1/bookings", post(bookings::create))
        .route("/api/v1/bookings/{id}", get(bookings::show))
        .route("/api/v1/bookings/{id}/cancel", post(bookings::cancel))
        .route("/api/v1/bookings/{id}/confirm", post(bookings::confirm))
        .route("/api/v1/bookings/{id}/calendar.ics", get(bookings::calendar))
        .route("/api/v1/bookings/{id}/check-in-code", get(bookings::check_in_code))
        .route("/api/v1/venues/{id}/check-ins", post(bookings::check_in_at_venue))
        .route("/api/v1/me/bookings", get(bookings::mine))
        .route("/api/v1/venues/{id}/bookings", get(bookings::venue_day))
        .route("/api/v1/indicators/per-capita-sports-area", get(indicators::per_capita_sports_area_handler))
        .route("/api/v1/indicators/fitness-pass-rate", get(fitness::pass_rate))
        .route("/api/v1/fitness/standards", get(fitness::list_standards))
        .route("/api/v1/stations", get(fitness::list_stations).post(fitness::create_station))
        .route("/api/v1/stations/{id}/results", post(fitness::create_result))
        .route("/api/v1/me/fitness-results", get(fitness::my_results))
}

/// The JSON 404 for a path under `/api` that no route matches (the web's catch-all route calls it).
pub(crate) fn api_not_found(uri: &axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no API endpoint at {}; see /api/v1/openapi.json", uri.path()))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "FitForAll API",
        description = "Public fitness service system: regions, venues, indicators. Errors are JSON `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        license(name = "Apache-2.0")
    ),
    paths(
        regions::search,
        regions::show,
        places::search,
        venues::list,
        venues::list_geojson,
        venues::show,
        venues::create,
        venues::replace,
        venues::remove,
        resources::list_for_venue,
        resources::create,
        resources::show,
        resources::replace,
        resources::list_slots,
        resources::create_closure,
        resources::list_closures,
        indicators::per_capita_sports_area_handler,
        accounts::register,
        accounts::login,
        accounts::logout,
        accounts::me,
        accounts::set_identity,
        accounts::create_token,
        accounts::list_tokens,
        accounts::revoke_token,
        bookings::create,
        bookings::show,
        bookings::cancel,
        bookings::confirm,
        bookings::calendar,
        bookings::mine,
        bookings::venue_day,
        bookings::check_in_code,
        bookings::check_in_at_venue,
        admin::grant_role,
        admin::revoke_role,
        admin::search_audit,
        admin::list_accounts,
        passwords::update_password,
        passwords::start_password_reset,
        passwords::finish_password_reset,
        personal_data::export,
        personal_data::delete_me,
        fitness::list_standards,
        fitness::list_stations,
        fitness::create_station,
        fitness::create_result,
        fitness::my_results,
        fitness::pass_rate,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "regions", description = "China's division codes, province → city → county → street"),
        (name = "venues", description = "Public sports venues"),
        (name = "accounts", description = "Residents' accounts: register, log in (session cookie + X-CSRF-Token), identity number, API tokens, password change and reset, data export, deletion; administrators' account list, roles and audit log"),
        (name = "indicators", description = "Indicators of the public fitness service system, with their definitions"),
        (name = "fitness", description = "Fitness testing: standards as data, testing stations, results scored as they are entered"),
        (name = "booking", description = "Bookable resources, slots and bookings: the 08:00 rush decided in batches, every booking durable before it is acknowledged"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer_token", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi_document())
}

/// `Json<T>` whose rejections are our JSON errors: 400 for bad JSON or fields, 413 for a body over
/// the limit, 415 for a missing `Content-Type: application/json`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let status = rejection.status();
                let error = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, "payload_too_large", "request body is larger than the limit"),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                        ApiError::new(status, "unsupported_media_type", "send the body as JSON with Content-Type: application/json")
                    }
                    _ => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", rejection.body_text()),
                };
                Err(error)
            }
        }
    }
}
