//! Tests of ARM path parsing and the scope each path is checked at.

use super::*;

#[test]
fn paths_parse_case_insensitively() {
    let ws =
        parse_target("/subscriptions/S/resourcegroups/RG/providers/microsoft.machinelearningservices/Workspaces/W")
            .unwrap();
    assert_eq!(
        ws,
        Target::Workspace {
            sub: "S".into(),
            rg: "RG".into(),
            name: "W".into()
        }
    );
    assert_eq!(
        ws.scope().key(),
        "/subscriptions/s/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/w"
    );
    let ra = parse_target("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Authorization/roleAssignments/abc")
        .unwrap();
    assert!(matches!(ra, Target::RoleAssignment { ref name, .. } if name == "abc"));
    assert_eq!(ra.scope().as_str(), "/subscriptions/S/resourceGroups/RG");
    let root = parse_target("/providers/Microsoft.Authorization/roleDefinitions").unwrap();
    assert!(root.scope().is_root());
    let at_ws = parse_target(
        "/subscriptions/S/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/W/providers/Microsoft.Authorization/roleAssignments",
    )
    .unwrap();
    assert_eq!(
        at_ws.scope().as_str(),
        "/subscriptions/S/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/W"
    );
    assert!(parse_target("/subscriptions/S/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/x").is_none());
}

/// The subscription a 401's challenge names, read before the path is understood.
#[test]
fn the_subscription_segment_is_read_from_the_prefix() {
    assert_eq!(subscription_in("/subscriptions/abc/resourceGroups"), Some("abc"));
    for (path, sub) in [
        ("/SUBSCRIPTIONS/abc", Some("abc")),
        ("//subscriptions/abc/", Some("abc")),
        ("/modelmanagement/v1.0/subscriptions/abc/resourceGroups/rg", Some("abc")),
        ("/subscriptions", None),
        ("/subscriptions/", None),
        ("/subscriptions//x", None),
        ("/subscriptionsX/abc", None),
        ("/tenants/abc", None),
        ("/é/subscriptions/abc", None),
    ] {
        assert_eq!(subscription_in(path), sub, "{path}");
    }
}

#[test]
fn every_target_kind_has_an_action_entry() {
    use strum::IntoEnumIterator;
    for kind in Kind::iter() {
        assert!(ACTIONS.iter().any(|(k, _, _)| *k == kind), "{kind:?}");
    }
}

/// Every path shape's scope, built from its names, is the scope the joined text parses to (as the
/// scope was built before), in text and in key; a name with an encoded `/` gives the root.
#[test]
fn scopes_from_names_match_the_parsed_text() {
    let ws = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/W";
    let cases = [
        ("/subscriptions/S", "/subscriptions/S"),
        ("/subscriptions/S/resourcegroups", "/subscriptions/S"),
        ("/subscriptions/S/resourceGroups/RG", "/subscriptions/S/resourceGroups/RG"),
        ("/subscriptions/S/resources", "/subscriptions/S"),
        ("/subscriptions/S/resourceGroups/RG/resources", "/subscriptions/S/resourceGroups/RG"),
        ("/subscriptions/S/providers/Microsoft.MachineLearningServices/workspaces", "/subscriptions/S"),
        (ws, ws),
        (&format!("{ws}/listKeys"), ws),
        (&format!("{ws}/onlineEndpoints"), ws),
        (&format!("{ws}/onlineEndpoints/E"), &format!("{ws}/onlineEndpoints/E")),
        (&format!("{ws}/onlineEndpoints/E/token"), &format!("{ws}/onlineEndpoints/E")),
        (&format!("{ws}/onlineEndpoints/E/deployments"), &format!("{ws}/onlineEndpoints/E")),
        (&format!("{ws}/onlineEndpoints/E/deployments/D"), &format!("{ws}/onlineEndpoints/E/deployments/D")),
        (&format!("{ws}/computes"), ws),
        (&format!("{ws}/computes/C"), &format!("{ws}/computes/C")),
        ("/subscriptions/S/operationResults/X", "/subscriptions/S"),
        (
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/U",
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/U",
        ),
        ("/subscriptions/S/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "/subscriptions/S"),
        ("/subscriptions", "/"),
        // A percent-decoded `/` would change the shape: the check falls to the root.
        ("/subscriptions/S/resourceGroups/R%2Fproviders%2Fns%2Ft/providers/Microsoft.MachineLearningServices/workspaces/W", "/"),
        (&format!("{ws}/onlineEndpoints/E%2Fx"), "/"),
    ];
    for (path, want) in cases {
        let scope = parse_target(path).unwrap_or_else(|| panic!("{path}")).scope();
        let parsed = Scope::parse(want).unwrap();
        assert_eq!(scope.as_str(), parsed.as_str(), "{path}");
        assert_eq!(scope.key(), parsed.key(), "{path}");
        assert_eq!(scope.key(), want.to_ascii_lowercase(), "{path}");
    }
}
