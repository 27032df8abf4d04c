//! Helpers for tests of the server (and benchmarks): things an operator would do with the CLI.

use chrono::Utc;
use fitforall_core::policy::{AccountId, Role};

use crate::auth;
use crate::state::AppState;

/// Creates a platform administrator with `phone` (no usable password) and returns an API token of
/// theirs, as `fitforall admin create` plus a token made on the tokens page would.
pub async fn platform_admin_token(state: &AppState, phone: &str) -> String {
    let store = state.store();
    let now = Utc::now();
    let id = AccountId::new(auth::new_id());
    let account =
        fitforall_store::NewAccount { id, phone: phone.into(), name: "平台管理员 platform admin".into(), password_hash: String::new(), home_region: None };
    store.create_account(&account, now).await.expect("the test account is created");
    store.grant_role(auth::new_id(), id, &Role::PlatformAdmin, None, now).await.expect("the role is granted");
    let (token, token_hash) = auth::new_token();
    store.create_api_token(auth::new_id(), &token_hash, id, "test", now).await.expect("the token is stored");
    token
}
