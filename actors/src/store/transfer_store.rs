//! What `syndic copy` asks of the store: whole tables out of one backend and into another.

use async_trait::async_trait;

use super::transfer::{Table, TransferPage, TransferPosition};
use super::StoreError;

#[async_trait]
pub trait TransferStore: Send + Sync + 'static {
    /// Whether the database holds no users and no feeds: the only state an import starts from.
    async fn is_empty(&self) -> Result<bool, StoreError>;
    /// The names of every table in the database, to check that a copy handles each.
    async fn table_names(&self) -> Result<Vec<String>, StoreError>;
    /// Up to `limit` rows of `table` after `after`, in key order.
    async fn export_page(
        &self,
        table: Table,
        after: Option<&TransferPosition>,
        limit: u32,
    ) -> Result<TransferPage, StoreError>;
    /// Writes a page as it is, ids included, in one transaction.
    async fn import_page(&self, page: &TransferPage) -> Result<(), StoreError>;
    /// Moves id generators past the imported ids, so that new rows do not collide with them.
    async fn finish_import(&self) -> Result<(), StoreError>;
}
