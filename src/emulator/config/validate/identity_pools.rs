//! Checks of `identity_pools[]`: ids in the AWS shape and unique, known app clients, and
//! a credential lifetime within what STS could issue.

use std::collections::HashSet;

use super::{check_range, HOUR};
use crate::emulator::config::EmulatorConfig;

pub(super) fn check_identity_pools(config: &EmulatorConfig, problems: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for (i, pool) in config.identity_pools.iter().enumerate() {
        let at = format!("identity_pools[{i}]");
        if !crate::config::is_pool_id(&pool.id) {
            problems.push(format!(
                "{at}.id: `{}` must be `<region>:<uuid>`, e.g. us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff",
                pool.id
            ));
        } else if !seen.insert(pool.id.as_str()) {
            problems.push(format!(
                "{at}.id: `{}` is used by another identity pool; ids must be unique",
                pool.id
            ));
        }
        for (j, client_id) in pool.client_ids.iter().enumerate() {
            if !config.clients.iter().any(|c| c.client_id == *client_id) {
                problems.push(format!(
                    "{at}.client_ids[{j}]: `{client_id}` is not a client of this pool; list one of clients[].client_id"
                ));
            }
        }
        check_range(
            &format!("{at}.credentials_validity"),
            pool.credentials_validity.get(),
            1,
            12 * HOUR,
            problems,
        );
    }
}
