//! Configuration: the typed shape of `config.yaml` (SPEC §3), its defaults, and the
//! redacted rendering `check-config` prints.
//!
//! Loading (YAML, `COGNITO_SIDECAR_*` overrides, `*_file` secrets) lives in [`load`];
//! semantic checks that report every problem at once live in [`validate`].

mod identity_pool;
mod load;
mod redis;
mod server;
mod types;
mod validate;

pub use identity_pool::{is_pool_id, IdentityPoolConfig};
pub use load::{load, load_from_str, ConfigErrors};
pub use redis::{RedisConfig, RedisUrl, StoreKind, Topology};
pub use server::{ProxyConfig, ServerConfig};
pub use types::*;
pub use validate::decode_secret;
