//! The README's first command: the real binary with no DATABASE_URL and no REDIS_URL runs on the embedded
//! SQLite file and the in-process cache, and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_binary_runs_on_the_embedded_default_and_stops_on_sigterm() {
    let directory = std::env::temp_dir().join(format!("syndic_embedded_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&directory).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_syndic"))
        .current_dir(&directory)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("SYNDIC_BIND", format!("127.0.0.1:{port}"))
        .env("SYNDIC_METRICS_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let client = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/healthcheck");
    let mut body = serde_json::Value::Null;
    for _ in 0..100 {
        if let Ok(response) = client.get(&health).send().await {
            body = response.json().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body["status"], "ok", "{body}");
    assert!(
        directory.join("syndic.db").exists(),
        "the embedded database is created in the working directory"
    );

    // Registration is closed by default; an invite from `syndic admin invite`, run beside the engine on the
    // same embedded file, opens it for one person.
    let register = |invite: Option<String>| {
        client
            .post(format!("http://127.0.0.1:{port}/v1/auth/register"))
            .json(&serde_json::json!({"username": "alice", "email": "alice@example.com", "password": "long enough", "invite": invite}))
            .send()
    };
    let refused: serde_json::Value = register(None).await.unwrap().json().await.unwrap();
    assert_eq!(refused["error"]["field"], "invite", "{refused}");
    let invite = Command::new(env!("CARGO_BIN_EXE_syndic"))
        .args(["admin", "invite"])
        .current_dir(&directory)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(invite.status.success(), "{}", String::from_utf8_lossy(&invite.stderr));
    let code = String::from_utf8(invite.stdout).unwrap().trim().to_owned();
    assert_eq!(register(Some(code)).await.unwrap().status(), 201);

    let stopping = Instant::now();
    // kill(1) sends SIGTERM without a libc dependency in the tests.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "the engine must exit within 10 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(exit.success(), "exit {exit:?}; logs:\n{logs}");
    assert!(logs.contains("sqlite"), "it logs the store it chose:\n{logs}");
    assert!(logs.contains("memory"), "it logs the cache it chose:\n{logs}");
    let _ = std::fs::remove_dir_all(&directory);
}
