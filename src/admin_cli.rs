//! `syndic admin`: operator commands that act on the database directly, whether the engine runs or not.

use anyhow::Context;
use chrono::Utc;
use syndic_actors::domain::{NewInvite, Role};
use syndic_actors::store::{ApiStore, StoreError};

use crate::config::{AdminCommand, Config};
use crate::Application;

/// Runs one operator command and returns what to print.
pub async fn run(config: &Config, command: AdminCommand) -> anyhow::Result<String> {
    let store = Application::connect_store(config).await?;
    match command {
        AdminCommand::Grant { username } => {
            let user = set_role(store.as_ref(), &username, Role::Admin).await?;
            Ok(format!("{} is now an operator", user))
        }
        AdminCommand::Revoke { username } => {
            let user = set_role(store.as_ref(), &username, Role::User).await?;
            Ok(format!("{} is no longer an operator", user))
        }
        AdminCommand::Invite { expires_in } => {
            let expires_in = chrono::Duration::from_std(*expires_in).context("That validity is too long")?;
            let expires_at = Utc::now()
                .checked_add_signed(expires_in)
                .context("That validity is too long")?;
            let (code, invite) = NewInvite::generate(expires_at);
            store
                .create_invite(&invite)
                .await
                .context("Failed to store the invite")?;
            // The code alone on stdout, so that scripts can capture it.
            eprintln!(
                "invite valid until {}; register with \"invite\": \"<code>\"",
                expires_at.to_rfc3339()
            );
            Ok(code)
        }
    }
}

async fn set_role(store: &dyn ApiStore, username: &str, role: Role) -> anyhow::Result<String> {
    match store.set_role(username, role).await {
        Ok(user) => Ok(user.username),
        Err(StoreError::NotFound) => anyhow::bail!("no user is named {username:?}"),
        Err(error) => Err(error).context("Failed to change the role"),
    }
}
