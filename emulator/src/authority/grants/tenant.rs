//! The `{tenant}` path segment of every Entra ID endpoint, resolved against the world.

use crate::domain::ids::parse_guid;
use crate::domain::world::Tenant;
use crate::domain::{TenantId, World};
use crate::error::AadError;

/// The tenant path segment, resolved.
#[derive(Clone, Copy, Debug)]
pub enum TenantSelector<'w> {
    Tenant(&'w Tenant),
    /// `common`, `organizations` or `consumers`: the client's (or, for user sign-in, the user's) home
    /// tenant is used.
    Multi(&'static str),
}

/// Resolves a `{tenant}` path segment: a GUID, a verified domain, `common`/`organizations`/`consumers`,
/// or `adfs` (the default tenant: MSAL treats `/adfs` authorities as known and skips instance discovery).
///
/// Errors: AADSTS90002 (`invalid_request`) for a well-formed tenant the world does not have,
/// AADSTS900023 for a segment that is neither a GUID nor a DNS name.
pub fn resolve_tenant<'w>(world: &'w World, segment: &str) -> Result<TenantSelector<'w>, AadError> {
    let lower = segment.to_ascii_lowercase();
    match lower.as_str() {
        "common" => return Ok(TenantSelector::Multi("common")),
        "organizations" => return Ok(TenantSelector::Multi("organizations")),
        "consumers" => return Ok(TenantSelector::Multi("consumers")),
        "adfs" => {
            return world
                .default_tenant()
                .map(TenantSelector::Tenant)
                .ok_or_else(|| AadError::unknown_tenant(segment))
        }
        _ => {}
    }
    if let Ok(id) = parse_guid(segment) {
        return world
            .tenant(TenantId(id))
            .map(TenantSelector::Tenant)
            .ok_or_else(|| AadError::unknown_tenant(segment));
    }
    if is_dns_name(&lower) {
        return world
            .tenant_by_domain(&lower)
            .map(TenantSelector::Tenant)
            .ok_or_else(|| AadError::unknown_tenant(segment));
    }
    Err(AadError::malformed_tenant(segment))
}

fn is_dns_name(s: &str) -> bool {
    s.contains('.')
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns_name("contoso.onmicrosoft.com"));
        assert!(!is_dns_name("contoso"));
        assert!(!is_dns_name("my tenant!.com"));
        assert!(!is_dns_name("a..b"));
    }

    #[test]
    fn segments_resolve_or_fail_with_aad_codes() {
        let world = World::default();
        assert!(matches!(
            resolve_tenant(&world, "Organizations"),
            Ok(TenantSelector::Multi("organizations"))
        ));
        let unknown = resolve_tenant(&world, "8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c").unwrap_err();
        assert_eq!(unknown.code, 90002);
        assert_eq!(resolve_tenant(&world, "contoso.example").unwrap_err().code, 90002);
        assert_eq!(resolve_tenant(&world, "not a tenant").unwrap_err().code, 900023);
        assert_eq!(
            resolve_tenant(&world, "adfs").unwrap_err().code,
            90002,
            "no default tenant"
        );
    }
}
