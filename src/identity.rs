//! Who the caller is, as the upstream learns it (SPEC §6): built from verified token
//! claims or an opened session, never from request headers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `sub`: the stable user key.
    pub sub: String,
    /// `cognito:username` (ID token) or `username` (access token).
    pub user: String,
    pub email: Option<String>,
    /// `cognito:groups`; empty when the claim is absent.
    pub groups: Vec<String>,
    /// Unix seconds when the credential this identity came from stops being valid.
    pub expires_at: u64,
}
