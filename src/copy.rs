//! `syndic copy`: moves every row of one database into another, empty one — the way from the embedded SQLite
//! file to Postgres (or back). Stop the engine first, so that the source does not change during the copy.

use anyhow::{bail, Context};
use syndic_actors::store::transfer::Table;
use syndic_actors::store::{self, TransferStore};

/// Rows per page: one page is one transaction on the target.
const PAGE_SIZE: u32 = 1000;

/// How many rows each table had copied, in copy order.
pub type CopyReport = Vec<(&'static str, u64)>;

pub async fn copy(from: &str, to: &str) -> anyhow::Result<CopyReport> {
    let source = store::open(from, 2)
        .await
        .with_context(|| format!("Failed to open the source ({})", store::describe_url(from)))?;
    let target = store::open(to, 2)
        .await
        .with_context(|| format!("Failed to open the target ({})", store::describe_url(to)))?;
    copy_between(source.as_ref(), target.as_ref()).await
}

pub async fn copy_between(source: &dyn TransferStore, target: &dyn TransferStore) -> anyhow::Result<CopyReport> {
    let unhandled = Table::unhandled(&source.table_names().await?);
    if !unhandled.is_empty() {
        bail!(
            "the source holds tables this copy does not know ({}); copying would lose them",
            unhandled.join(", ")
        );
    }
    if !target.is_empty().await? {
        bail!("the target database already holds users or feeds; copy only into an empty database");
    }
    let mut report = Vec::new();
    for table in Table::ALL {
        let mut copied = 0u64;
        let mut after = None;
        loop {
            let page = source.export_page(table, after.as_ref(), PAGE_SIZE).await?;
            if page.is_empty() {
                break;
            }
            target
                .import_page(&page)
                .await
                .with_context(|| format!("Failed to write {} rows", table.name()))?;
            copied += page.len() as u64;
            after = page.last_position();
        }
        tracing::info!(table = table.name(), rows = copied, "copied");
        report.push((table.name(), copied));
    }
    target.finish_import().await?;
    Ok(report)
}
