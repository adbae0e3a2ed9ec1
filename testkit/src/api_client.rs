//! Calls to a running engine's API that tests and the load harness repeat (against an in-process app, a spawned
//! binary, or the harness's engine): register, log in, and read a whole timeline.

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// The password the end-to-end tests register their users with.
pub const PASSWORD: &str = "correct horse battery";

/// Registers `username` (email `{username}@example.com`) on the engine at `base` (`http://host:port`).
pub async fn register(client: &reqwest::Client, base: &str, username: &str, password: &str) -> anyhow::Result<()> {
    let body = json!({"username": username, "email": format!("{username}@example.com"), "password": password});
    let response = client
        .post(format!("{base}/v1/auth/register"))
        .json(&body)
        .send()
        .await?;
    expect_json(response, 201, "register").await?;
    Ok(())
}

/// Logs a registered user in; returns the access token.
pub async fn log_in(client: &reqwest::Client, base: &str, identifier: &str, password: &str) -> anyhow::Result<String> {
    let body = json!({"identifier": identifier, "password": password});
    let response = client.post(format!("{base}/v1/auth/login")).json(&body).send().await?;
    let answer = expect_json(response, 200, "log in").await?;
    let token = answer["access_token"]
        .as_str()
        .context("The login answer has no access_token")?;
    Ok(token.to_owned())
}

/// Registers and logs in a user; returns the access token.
pub async fn register_and_log_in(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    register(client, base, username, password).await?;
    log_in(client, base, username, password).await
}

/// The JSON body of an answer with the `expected` status, or an error with the status and body.
async fn expect_json(response: reqwest::Response, expected: u16, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    if status.as_u16() != expected {
        bail!("{what}: the API answered {status}, not {expected}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: the API answered {status} with no JSON: {text}"))
}

/// Every article of the timeline `query` selects (e.g. `status=all`), following cursors, 200 a page.
pub async fn whole_timeline(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
) -> anyhow::Result<Vec<Value>> {
    let mut articles = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/articles?limit=200&{query}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = client.get(url).bearer_auth(token).send().await?;
        let page = expect_json(response, 200, "read the timeline").await?;
        let listed = page["articles"]
            .as_array()
            .context("The timeline page has no articles")?;
        articles.extend(listed.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(articles),
        }
    }
}
