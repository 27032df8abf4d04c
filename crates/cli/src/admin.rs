//! `fitforall admin create`: bootstrap accounts from the command line (the first platform
//! administrator above all). Every creation is written to the audit log with the actor "cli".

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use fitforall_core::phone::PhoneNumber;
use fitforall_core::policy::{AccountId, Role};
use fitforall_core::region::{RegionCode, RegionTree};
use fitforall_server::auth;
use fitforall_store::{AuditEntry, NewAccount, Store};

use crate::settings::FileSettings;

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Resident,
    RegionAdmin,
    PlatformAdmin,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an account with a role. Without --password-stdin a random password is generated and
    /// printed once.
    Create {
        /// Mainland mobile number (the login name).
        #[arg(long)]
        phone: String,
        #[arg(long, default_value = "管理员")]
        name: String,
        #[arg(long, value_enum, default_value = "platform-admin")]
        role: RoleArg,
        /// The region of a region administrator (any code form); also the account's home region.
        #[arg(long)]
        region: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, env = "FITFORALL_DATABASE_URL")]
        database: Option<String>,
    },
}

pub async fn run(command: AdminCommand, file: &FileSettings) -> anyhow::Result<ExitCode> {
    let AdminCommand::Create { phone, name, role, region, password_stdin, database } = command;
    let phone = PhoneNumber::parse(&phone).map_err(|error| anyhow!("--phone: {error}"))?;
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 50 {
        bail!("--name: must have 1 to 50 characters");
    }
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (auth::new_password(), true)
    };
    auth::check_password_rule(&password, phone.as_str()).map_err(|error| anyhow!("password: {error}"))?;

    let url = crate::database_url(database, file);
    let store = Store::connect(&url).await.with_context(|| format!("cannot open the database {}", fitforall_server::startup::redact(&url)))?;
    fitforall_server::startup::seed_regions_if_empty(&store).await?;
    let region = match region {
        None => None,
        Some(text) => {
            let code = RegionCode::parse(&text).map_err(|error| anyhow!("--region: {error}"))?;
            let (tree, _) = RegionTree::build(store.load_regions().await?)?;
            if !tree.contains(code) {
                bail!("--region: region {text} does not exist");
            }
            Some(code)
        }
    };
    let role = match (role, region) {
        (RoleArg::Resident, _) => Role::Resident,
        (RoleArg::PlatformAdmin, _) => Role::PlatformAdmin,
        (RoleArg::RegionAdmin, Some(region)) => Role::RegionAdmin { region },
        (RoleArg::RegionAdmin, None) => bail!("--region is required for a region administrator"),
    };

    let now = Utc::now();
    let id = AccountId::new(auth::new_id());
    let password_hash = auth::hash_password(password.clone()).await;
    store.create_account(&NewAccount { id, phone: phone.as_str().to_string(), name: name.clone(), password_hash, home_region: region }, now).await?;
    store.grant_role(auth::new_id(), id, &role, None, now).await?;
    let after = serde_json::json!({ "account": id.as_i64(), "phone": phone.masked(), "role": role.slug(), "scope": role.scope() });
    store
        .append_audit(&AuditEntry {
            id: auth::new_id(),
            at: now,
            actor: None,
            actor_label: "cli".into(),
            action: "create_account".into(),
            target: format!("account {}", id.as_i64()),
            region,
            before_json: None,
            after_json: Some(after.to_string()),
        })
        .await?;
    store.close().await;
    println!("created account {} ({}, {name}) with role {} {}", id.as_i64(), phone.masked(), role.slug(), role.scope_description());
    if generated {
        println!("password (shown once, change it after the first login): {password}");
    }
    Ok(ExitCode::SUCCESS)
}
