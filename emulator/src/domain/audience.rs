//! Token audiences: which resources the authority issues tokens for, and how a requested
//! `resource=` / `scope=` value turns into an `aud` claim.

use super::ids::ClientId;
use super::world::World;
use super::TenantId;

/// A resource the token authority knows, with the token version it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience {
    /// The `aud` claim: the resource as requested for v1 tokens, the resource's app id for v2.
    pub aud: String,
    /// 1 for first-party Microsoft resources (ARM accepts only v1), or the resource app's setting.
    pub version: u8,
}

/// First-party resources (by identifier URI, compared without trailing slash) the emulator issues tokens for.
/// All accept v1 tokens, as the real ones do.
const FIRST_PARTY: &[&str] = &[
    "https://management.core.windows.net",
    "https://management.azure.com",
    "https://ml.azure.com",
    "https://graph.microsoft.com",
    "https://graph.windows.net",
    "https://storage.azure.com",
    "https://vault.azure.net",
    "https://database.windows.net",
    "https://datalake.azure.net",
    "https://batch.core.windows.net",
];

/// The outcome of reading a v2 `scope` parameter for a client-credentials request.
#[derive(Debug, PartialEq, Eq)]
pub enum ScopeError {
    /// Not exactly one `{resource}/.default` scope.
    Invalid,
}

/// Turns `https://management.core.windows.net//.default` into `https://management.core.windows.net/`
/// (and `https://management.azure.com/.default` into `https://management.azure.com`): the resource is
/// everything before the final `/.default`. OIDC scopes (`openid`, `profile`, …) are ignored.
pub fn resource_from_scope(scope: &str) -> Result<String, ScopeError> {
    let mut resources = scope
        .split_whitespace()
        .filter(|s| !matches!(*s, "openid" | "profile" | "offline_access" | "email"));
    let first = resources.next().ok_or(ScopeError::Invalid)?;
    if resources.next().is_some() {
        return Err(ScopeError::Invalid);
    }
    match first.strip_suffix("/.default") {
        Some(resource) if !resource.is_empty() => Ok(resource.to_string()),
        _ => Err(ScopeError::Invalid),
    }
}

/// Resolves a requested resource to an audience, or `None` when no such resource principal exists.
/// `is_own` tells whether a resource is one of this emulator's configured origins (never the
/// request's Host): azure-ai-ml asks for a token for the cloud's `resourceManager`, which is the
/// emulator itself.
pub fn resolve(world: &World, tenant: TenantId, resource: &str, is_own: &dyn Fn(&str) -> bool) -> Option<Audience> {
    let bare = resource.trim_end_matches('/');
    let first_party = FIRST_PARTY.iter().any(|r| r.eq_ignore_ascii_case(bare)) || is_own(bare);
    if first_party {
        return Some(Audience {
            aud: resource.to_string(),
            version: 1,
        });
    }
    let app = world.resource_application(tenant, resource)?;
    Some(audience_for_app(app.client_id, app.access_token_version, resource))
}

fn audience_for_app(client_id: ClientId, version: u8, requested: &str) -> Audience {
    if version == 2 {
        Audience {
            aud: client_id.to_string(),
            version: 2,
        }
    } else {
        Audience {
            aud: requested.to_string(),
            version: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_normalisation_keeps_the_resource_as_written() {
        assert_eq!(
            resource_from_scope("https://management.core.windows.net//.default").unwrap(),
            "https://management.core.windows.net/"
        );
        assert_eq!(
            resource_from_scope("https://management.azure.com/.default openid profile").unwrap(),
            "https://management.azure.com"
        );
        assert_eq!(
            resource_from_scope("https://management.azure.com/"),
            Err(ScopeError::Invalid)
        );
        assert_eq!(resource_from_scope("/.default"), Err(ScopeError::Invalid));
        assert_eq!(
            resource_from_scope("https://a.example/.default https://b.example/.default"),
            Err(ScopeError::Invalid)
        );
        assert_eq!(resource_from_scope("openid"), Err(ScopeError::Invalid));
    }
}
