//! The statements of profiles and friends, the same on both backends: a backend binds its own types (user ids,
//! times) and maps its own errors. Usernames compare folded, as the unique index on `lower(username)` does.

use super::rows::Decoded;
use super::StoreError;
use crate::social::{FriendRequest, Friendship, ProfileRecord, Visibility};

/// Where viewer $1 stands with user `u`.
const FRIENDSHIP: &str = "CASE \
     WHEN EXISTS (SELECT 1 FROM friendships f WHERE f.user_id = $1 AND f.friend_id = u.id) THEN 'friends' \
     WHEN EXISTS (SELECT 1 FROM friend_requests r WHERE r.user_id = $1 AND r.to_user_id = u.id) THEN 'pending_sent' \
     WHEN EXISTS (SELECT 1 FROM friend_requests r WHERE r.user_id = u.id AND r.to_user_id = $1) THEN 'pending_received' \
     ELSE 'none' END";

/// The columns a [`ProfileRow`] reads, from `users u`, as viewer $1 sees them.
fn profile_columns() -> String {
    format!(
        "u.id, u.username, u.display_name, u.display_name_visibility, u.email, u.email_visibility, \
         {FRIENDSHIP} AS friendship"
    )
}

/// A profile as both backends read it; `Id` is the backend's user id type.
pub(super) type ProfileRow<Id> = (Id, String, Option<String>, String, String, String, String);

/// A pending request: the other side's profile, then when it was sent.
pub(super) type RequestRow<Id, Time> = (Id, String, Option<String>, String, String, String, String, Time);

fn visibility(value: &str) -> Result<Visibility, StoreError> {
    Visibility::parse(value).ok_or_else(|| super::rows::decode_error(format!("visibility {value:?}")))
}

pub(super) fn profile<Id: Decoded<uuid::Uuid>>(row: ProfileRow<Id>) -> Result<ProfileRecord, StoreError> {
    let (id, username, display_name, display_name_visibility, email, email_visibility, friendship) = row;
    Ok(ProfileRecord {
        id: id.decoded()?,
        username,
        display_name,
        display_name_visibility: visibility(&display_name_visibility)?,
        email,
        email_visibility: visibility(&email_visibility)?,
        friendship: Friendship::parse(&friendship)
            .ok_or_else(|| super::rows::decode_error(format!("friendship {friendship:?}")))?,
    })
}

pub(super) fn friend_request<Id, Time>(row: RequestRow<Id, Time>) -> Result<FriendRequest, StoreError>
where
    Id: Decoded<uuid::Uuid>,
    Time: Decoded<chrono::DateTime<chrono::Utc>>,
{
    let (id, username, display_name, display_name_visibility, email, email_visibility, friendship, created_at) = row;
    Ok(FriendRequest {
        profile: profile((
            id,
            username,
            display_name,
            display_name_visibility,
            email,
            email_visibility,
            friendship,
        ))?,
        created_at: created_at.decoded()?,
    })
}

/// The profile of the user named $2, as viewer $1 sees it.
pub(super) fn profile_sql() -> String {
    format!(
        "SELECT {} FROM users u WHERE lower(u.username) = lower($2)",
        profile_columns()
    )
}

/// The id of the user named $1.
pub(super) const USER_BY_NAME: &str = "SELECT id FROM users WHERE lower(username) = lower($1)";

/// How well text `x` (folded) matches the search: 0 a prefix, 1 a suffix, 2 inside, 3 not at all; $2, $3 and $4
/// are the prefix, suffix and inside patterns (see [`search_patterns`]).
fn match_rank(text: &str) -> String {
    format!(
        "CASE WHEN lower({text}) LIKE $2 ESCAPE '\\' THEN 0 WHEN lower({text}) LIKE $3 ESCAPE '\\' THEN 1 \
         WHEN lower({text}) LIKE $4 ESCAPE '\\' THEN 2 ELSE 3 END"
    )
}

/// The display name of user `u` as viewer $1 may see it: their own always, another's as its visibility allows.
pub(super) const SHOWN_DISPLAY_NAME: &str = "CASE WHEN u.id = $1 OR u.display_name_visibility = 'everyone' \
       OR (u.display_name_visibility = 'friends' \
           AND EXISTS (SELECT 1 FROM friendships f WHERE f.user_id = $1 AND f.friend_id = u.id)) \
     THEN u.display_name END";

/// Up to $5 users other than viewer $1 whose username, or display name where the viewer may see it, holds the
/// search: prefixes first, then suffixes, then the rest, each in username order.
pub(super) fn search_sql() -> String {
    format!(
        "SELECT id, username, display_name, display_name_visibility, email, email_visibility, friendship FROM ( \
           SELECT {columns}, {name_rank} AS name_rank, {display_rank} AS display_rank FROM users u WHERE u.id <> $1 \
         ) found WHERE name_rank < 3 OR display_rank < 3 \
         ORDER BY CASE WHEN name_rank < display_rank THEN name_rank ELSE display_rank END, lower(username) LIMIT $5",
        columns = profile_columns(),
        name_rank = match_rank("u.username"),
        display_rank = match_rank(SHOWN_DISPLAY_NAME),
    )
}

/// The prefix, suffix and inside `LIKE` patterns of a search, folded, its wildcards escaped.
pub(super) fn search_patterns(query: &str) -> [String; 3] {
    let escaped = query
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    [format!("{escaped}%"), format!("%{escaped}"), format!("%{escaped}%")]
}

/// Up to $3 of viewer $1's friends named after $2 (none: from the first), in username order.
pub(super) fn friends_sql() -> String {
    format!(
        "SELECT {} FROM friendships fr JOIN users u ON u.id = fr.friend_id \
         WHERE fr.user_id = $1 AND ($2 IS NULL OR lower(u.username) > $2) ORDER BY lower(u.username) LIMIT $3",
        profile_columns()
    )
}

/// The friends viewer $1 and user $2 have in common, in username order.
pub(super) fn mutual_friends_sql() -> String {
    format!(
        "SELECT {} FROM friendships mine JOIN friendships theirs ON theirs.friend_id = mine.friend_id \
         JOIN users u ON u.id = mine.friend_id WHERE mine.user_id = $1 AND theirs.user_id = $2 \
         ORDER BY lower(u.username)",
        profile_columns()
    )
}

/// Up to $3 of the requests viewer $1 received (`received`) or sent, from or to users named after $2.
pub(super) fn requests_sql(received: bool) -> String {
    let (other, own) = if received {
        ("user_id", "to_user_id")
    } else {
        ("to_user_id", "user_id")
    };
    format!(
        "SELECT {}, r.created_at FROM friend_requests r JOIN users u ON u.id = r.{other} \
         WHERE r.{own} = $1 AND ($2 IS NULL OR lower(u.username) > $2) ORDER BY lower(u.username) LIMIT $3",
        profile_columns()
    )
}

/// Whether $1 and $2 are friends or either has asked the other.
pub(super) const ALREADY_LINKED: &str =
    "SELECT EXISTS (SELECT 1 FROM friendships WHERE user_id = $1 AND friend_id = $2) \
     OR EXISTS (SELECT 1 FROM friend_requests WHERE user_id = $1 AND to_user_id = $2)";

/// Both rows of a friendship between $1 and $2, since $3.
pub(super) const BEFRIEND: &str =
    "INSERT INTO friendships (user_id, friend_id, created_at) VALUES ($1, $2, $3), ($2, $1, $3)";

/// A pending request from $1 to $2.
pub(super) const DELETE_REQUEST: &str = "DELETE FROM friend_requests WHERE user_id = $1 AND to_user_id = $2";

/// A pending request between $1 and $2, whichever asked.
pub(super) const DELETE_REQUEST_EITHER_WAY: &str = "DELETE FROM friend_requests \
     WHERE (user_id = $1 AND to_user_id = $2) OR (user_id = $2 AND to_user_id = $1)";

/// Both rows of the friendship between $1 and $2.
pub(super) const UNFRIEND: &str =
    "DELETE FROM friendships WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)";

/// The user's ($1) own profile settings, after an update that sets the display name to $3 when $2, and each
/// visibility given ($4, $5).
pub(super) const UPDATE_PROFILE: &str = "UPDATE users SET \
     display_name = CASE WHEN $2 THEN $3 ELSE display_name END, \
     display_name_visibility = COALESCE($4, display_name_visibility), \
     email_visibility = COALESCE($5, email_visibility) \
     WHERE id = $1 RETURNING id, username, display_name, display_name_visibility, email_visibility";

pub(super) type OwnProfileRow<Id> = (Id, String, Option<String>, String, String);

pub(super) fn own_profile<Id: Decoded<uuid::Uuid>>(
    (id, username, display_name, name_visibility, email_visibility): OwnProfileRow<Id>,
) -> Result<crate::social::OwnProfile, StoreError> {
    Ok(crate::social::OwnProfile {
        id: id.decoded()?,
        username,
        display_name,
        display_name_visibility: visibility(&name_visibility)?,
        email_visibility: visibility(&email_visibility)?,
    })
}

#[cfg(test)]
mod tests {
    use super::search_patterns;

    #[test]
    fn a_search_is_folded_and_its_wildcards_match_themselves() {
        assert_eq!(
            search_patterns("Al_i%e\\"),
            [
                "al\\_i\\%e\\\\%".to_owned(),
                "%al\\_i\\%e\\\\".to_owned(),
                "%al\\_i\\%e\\\\%".to_owned()
            ]
        );
    }
}
