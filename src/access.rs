//! Who may reach which path (SPEC §3 `access`): public paths, the global group
//! requirement, and per-path rules where the first match wins. Pure decisions over the
//! canonical path (see `path`), the method and the verified groups — never the query,
//! never anything the client sent about itself.

use http::Method;

use crate::config::{AccessConfig, Unauthenticated};
use crate::path::glob_match;

#[derive(Debug, Clone)]
pub struct Access {
    public_paths: Vec<String>,
    allowed_groups: Vec<String>,
    rules: Vec<Rule>,
    unauthenticated: Unauthenticated,
}

#[derive(Debug, Clone)]
struct Rule {
    path: String,
    groups: Vec<String>,
    /// Upper-case method names; empty means every method.
    methods: Vec<String>,
    unauthenticated: Option<Unauthenticated>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Signed in but not in a required group: 403.
    Deny,
}

impl Access {
    pub fn new(config: &AccessConfig) -> Self {
        Self {
            public_paths: config.public_paths.clone(),
            allowed_groups: config.allowed_groups.clone(),
            rules: config
                .rules
                .iter()
                .map(|r| Rule {
                    path: r.path.clone(),
                    groups: r.groups.clone(),
                    methods: r.methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
                    unauthenticated: r.unauthenticated,
                })
                .collect(),
            unauthenticated: config.unauthenticated,
        }
    }

    /// Served without sign-in (spoofed identity headers are still stripped).
    pub fn is_public(&self, path: &str) -> bool {
        self.public_paths.iter().any(|p| glob_match(p, path))
    }

    fn rule_for(&self, method: &Method, path: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| {
            glob_match(&rule.path, path)
                && (rule.methods.is_empty() || rule.methods.iter().any(|m| m == method.as_str()))
        })
    }

    /// May a signed-in user with `groups` make this request? `allowed_groups` applies
    /// everywhere; the first matching rule adds its own group requirement.
    pub fn authorize(&self, method: &Method, path: &str, groups: &[String]) -> Decision {
        // The common deployment: no group requirement and no rules.
        if self.allowed_groups.is_empty() && self.rules.is_empty() {
            return Decision::Allow;
        }
        let member = |required: &[String]| {
            required.is_empty() || required.iter().any(|g| groups.contains(g))
        };
        if !member(&self.allowed_groups) {
            return Decision::Deny;
        }
        match self.rule_for(method, path) {
            Some(rule) if !member(&rule.groups) => Decision::Deny,
            _ => Decision::Allow,
        }
    }

    /// What an unauthenticated browser navigation gets on this path: a sign-in
    /// redirect, or a plain 401 (like the ALB's `on_unauthenticated_request: deny`).
    pub fn on_unauthenticated(&self, method: &Method, path: &str) -> Unauthenticated {
        self.rule_for(method, path)
            .and_then(|r| r.unauthenticated)
            .unwrap_or(self.unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AccessRule;

    fn access(yaml_rules: Vec<AccessRule>, allowed: &[&str], public: &[&str]) -> Access {
        Access::new(&AccessConfig {
            public_paths: public.iter().map(|s| s.to_string()).collect(),
            allowed_groups: allowed.iter().map(|s| s.to_string()).collect(),
            rules: yaml_rules,
            allowed_redirect_hosts: vec![],
            unauthenticated: Unauthenticated::Redirect,
        })
    }

    fn rule(path: &str, groups: &[&str], methods: &[&str]) -> AccessRule {
        AccessRule {
            path: path.into(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            methods: methods.iter().map(|s| s.to_string()).collect(),
            unauthenticated: None,
        }
    }

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn public_paths_match_globs_on_the_path_only() {
        let a = access(vec![], &[], &["/assets/*", "/health"]);
        assert!(a.is_public("/assets/app.js"));
        assert!(a.is_public("/health"));
        assert!(!a.is_public("/healthz"));
        assert!(!a.is_public("/admin"));
    }

    #[test]
    fn first_matching_rule_wins() {
        let a = access(
            vec![
                rule("/admin/public/*", &[], &[]),
                rule("/admin/*", &["admins"], &[]),
            ],
            &[],
            &[],
        );
        let get = Method::GET;
        assert_eq!(
            a.authorize(&get, "/admin/x", &groups(&["users"])),
            Decision::Deny
        );
        assert_eq!(
            a.authorize(&get, "/admin/x", &groups(&["admins"])),
            Decision::Allow
        );
        assert_eq!(
            a.authorize(&get, "/admin/public/x", &groups(&[])),
            Decision::Allow
        );
        assert_eq!(a.authorize(&get, "/other", &groups(&[])), Decision::Allow);
    }

    #[test]
    fn method_scoped_rules() {
        let a = access(
            vec![rule("/api/*", &["writers"], &["post", "DELETE"])],
            &[],
            &[],
        );
        assert_eq!(
            a.authorize(&Method::GET, "/api/x", &groups(&[])),
            Decision::Allow
        );
        assert_eq!(
            a.authorize(&Method::POST, "/api/x", &groups(&[])),
            Decision::Deny
        );
        assert_eq!(
            a.authorize(&Method::DELETE, "/api/x", &groups(&["writers"])),
            Decision::Allow
        );
    }

    #[test]
    fn global_groups_apply_everywhere() {
        let a = access(vec![rule("/open/*", &[], &[])], &["staff"], &[]);
        assert_eq!(
            a.authorize(&Method::GET, "/open/x", &groups(&["guests"])),
            Decision::Deny
        );
        assert_eq!(
            a.authorize(&Method::GET, "/x", &groups(&["staff"])),
            Decision::Allow
        );
    }

    #[test]
    fn unauthenticated_behaviour_per_rule() {
        let mut r = rule("/api/*", &[], &[]);
        r.unauthenticated = Some(Unauthenticated::Deny);
        let a = access(vec![r], &[], &[]);
        assert_eq!(
            a.on_unauthenticated(&Method::GET, "/api/x"),
            Unauthenticated::Deny
        );
        assert_eq!(
            a.on_unauthenticated(&Method::GET, "/app"),
            Unauthenticated::Redirect
        );
    }
}
