//! The OData `$filter` forms ARM list operations take, and query parameters by name.

use crate::error::ArmError;

/// A query parameter by name (case-insensitive), the first occurrence.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The quoted value after `prefix` (compared case-insensitively): `roleName eq 'Reader'` → `Reader`.
pub fn quoted_after<'a>(clause: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = clause
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .and_then(|_| clause.get(prefix.len()..))?;
    rest.trim().strip_prefix('\'')?.split_once('\'').map(|(v, _)| v)
}

/// The `$filter` of role-assignment lists: `atScope()`, `principalId eq '…'`, `assignedTo('…')`,
/// alone or joined with `and`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AssignmentFilter {
    pub at_scope: bool,
    pub principal: Option<String>,
}

impl AssignmentFilter {
    pub fn parse(filter: Option<&str>) -> Result<Self, ArmError> {
        let mut f = AssignmentFilter::default();
        let Some(text) = filter.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(f);
        };
        for clause in text.split(" and ").map(str::trim) {
            if clause.eq_ignore_ascii_case("atScope()") {
                f.at_scope = true;
            } else if let Some(id) = quoted_after(clause, "principalId eq") {
                f.principal = Some(id.to_string());
            } else if let Some(id) = clause
                .strip_prefix("assignedTo(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|r| r.trim().strip_prefix('\''))
                .and_then(|r| r.strip_suffix('\''))
            {
                f.principal = Some(id.to_string());
            } else {
                return Err(unsupported(
                    text,
                    "atScope(), principalId eq '{id}' and assignedTo('{id}'), alone or joined with 'and'",
                ));
            }
        }
        Ok(f)
    }
}

/// The `$filter` of role-definition lists: `roleName eq '…'` or `type eq 'BuiltInRole'|'CustomRole'`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DefinitionFilter {
    pub role_name: Option<String>,
    pub role_type: Option<String>,
}

impl DefinitionFilter {
    pub fn parse(filter: Option<&str>) -> Result<Self, ArmError> {
        let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
            return Ok(Self::default());
        };
        match (quoted_after(f, "roleName eq"), quoted_after(f, "type eq")) {
            (Some(n), _) => Ok(Self {
                role_name: Some(n.to_string()),
                role_type: None,
            }),
            (_, Some(t)) => Ok(Self {
                role_name: None,
                role_type: Some(t.to_string()),
            }),
            _ => Err(unsupported(
                f,
                "roleName eq '{name}' and type eq 'BuiltInRole'|'CustomRole'",
            )),
        }
    }
}

/// The `$filter` of generic resource lists: `resourceType eq '…'`; other filters are ignored.
pub fn resource_type(filter: Option<&str>) -> Option<String> {
    let f = filter?;
    let at = f.to_ascii_lowercase().find("resourcetype eq")?;
    quoted_after(f.get(at..)?, "resourceType eq").map(str::to_string)
}

fn unsupported(filter: &str, supported: &str) -> ArmError {
    ArmError::bad_request(
        "UnsupportedFilter",
        format!("The filter '{filter}' is not supported. Supported filters are {supported}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_filters() {
        assert_eq!(AssignmentFilter::parse(None).unwrap(), AssignmentFilter::default());
        assert!(AssignmentFilter::parse(Some("atScope()")).unwrap().at_scope);
        let both = AssignmentFilter::parse(Some("atScope() and principalId eq 'abc'")).unwrap();
        assert!(both.at_scope);
        assert_eq!(both.principal.as_deref(), Some("abc"));
        assert_eq!(
            AssignmentFilter::parse(Some("assignedTo('x')"))
                .unwrap()
                .principal
                .as_deref(),
            Some("x")
        );
        assert_eq!(
            AssignmentFilter::parse(Some("roleName eq 'x'")).unwrap_err().code,
            "UnsupportedFilter"
        );
    }

    #[test]
    fn definition_and_resource_filters() {
        assert_eq!(
            DefinitionFilter::parse(Some("roleName eq 'Reader'"))
                .unwrap()
                .role_name
                .as_deref(),
            Some("Reader")
        );
        assert_eq!(
            DefinitionFilter::parse(Some("type eq 'CustomRole'"))
                .unwrap()
                .role_type
                .as_deref(),
            Some("CustomRole")
        );
        assert!(DefinitionFilter::parse(Some("nonsense")).is_err());
        assert_eq!(
            resource_type(Some("resourceType eq 'Microsoft.MachineLearningServices/workspaces'")).as_deref(),
            Some("Microsoft.MachineLearningServices/workspaces")
        );
        assert_eq!(resource_type(Some("name eq 'x'")), None);
        assert_eq!(quoted_after("ROLENAME EQ 'é'", "roleName eq"), Some("é"));
        assert_eq!(quoted_after("ro", "roleName eq"), None);
    }
}
