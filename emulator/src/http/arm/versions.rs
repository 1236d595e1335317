//! api-versions: the exact set Azure accepts per resource type, and ARM's error for any other.
//!
//! The table is `openapi/fidelity/api-versions.json` (embedded, parsed once): per resource type
//! (`Microsoft.Resources/resourceGroups`, `Microsoft.MachineLearningServices/workspaces`, …) the
//! versions Azure accepts and the provider family whose error an unknown version gets. Its sources
//! are in the file and in `openapi/fidelity/SOURCES.md`: ARM's own `InvalidApiVersionParameter`
//! lists for Microsoft.Resources (Azure/azure-cli#31964), ARM's 2022 lists plus later spec folders
//! for Microsoft.Authorization (Azure/azure-sdk-for-java#28334), the spec folders for
//! Microsoft.MachineLearningServices and Microsoft.ManagedIdentity. A new resource type is a
//! `types` entry there and an arm of [`Kind::api_type`] below.
//!
//! The errors, each as ARM's gateway sends them (`x-ms-failure-cause: gateway`):
//! - Microsoft.Resources: 400 `InvalidApiVersionParameter`, "The api-version '{v}' is invalid. The
//!   supported versions are '{a,b,…}'." (`,` without a space, ARM's own order).
//! - Resource providers (Microsoft.MachineLearningServices, Microsoft.ManagedIdentity): 400
//!   `NoRegisteredProviderFound`, "No registered resource provider found for location '{l}' and API
//!   version '{v}' for type '{t}'. The supported api-versions are '{a, b}'. The supported locations
//!   are '{…}'." (Azure/azure-sdk-for-js#4097, Azure/azure-cli-extensions#9580).
//! - Microsoft.Authorization: 404 `InvalidResourceType`, "The resource type '{t}' could not be
//!   found in the namespace 'Microsoft.Authorization' for api version '{v}'. The supported
//!   api-versions are '{a,b}'." (Azure/azure-sdk-for-java#28334, Azure/azure-sdk-for-go#15624).
//!
//! A repeated `api-version` parameter: ARM joins the values with `,` and checks the result, so
//! `?api-version=A&api-version=B` is the unknown version `A,B` (Azure/autorest.typescript#1035:
//! ARM answered "… for api version '2020-08-01,2,0,2,0,-,0,8,-,0,1'" to a URL that repeated it).

use std::borrow::Cow;
use std::sync::LazyLock;

use foldhash::{HashMap as FoldMap, HashSet as FoldSet};
use serde::Deserialize;

use super::route::{Kind, MlPoll, Target};
use crate::error::ArmError;

/// What a request's api-version is checked against: a `types` key of api-versions.json and the
/// type as the provider's error names it (below the namespace: `workspaces/onlineEndpoints`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiType {
    pub key: &'static str,
    pub display: &'static str,
}

impl Kind {
    /// The resource type whose api-versions the request is checked against
    /// (a `types` key of `openapi/fidelity/api-versions.json`).
    pub fn api_type(self) -> ApiType {
        let (key, display) = match self {
            Kind::Subscriptions | Kind::Subscription => ("Microsoft.Resources/subscriptions", "subscriptions"),
            Kind::Tenants => ("Microsoft.Resources/tenants", "tenants"),
            Kind::ResourceGroups | Kind::ResourceGroup => ("Microsoft.Resources/resourceGroups", "resourceGroups"),
            Kind::Resources => ("Microsoft.Resources/resources", "resources"),
            Kind::Workspaces | Kind::Workspace | Kind::WorkspaceKeys => (ML_WS, "workspaces"),
            Kind::OnlineEndpoints
            | Kind::OnlineEndpoint
            | Kind::EndpointListKeys
            | Kind::EndpointRegenerateKeys
            | Kind::EndpointToken => (ML_EP, "workspaces/onlineEndpoints"),
            Kind::Deployments | Kind::Deployment => (ML_DEP, "workspaces/onlineEndpoints/deployments"),
            Kind::RoleAssignments | Kind::RoleAssignment => {
                ("Microsoft.Authorization/roleAssignments", "roleAssignments")
            }
            Kind::RoleDefinitions | Kind::RoleDefinition => {
                ("Microsoft.Authorization/roleDefinitions", "roleDefinitions")
            }
            Kind::OperationResult => ("Microsoft.Resources/operationresults", "operationresults"),
            Kind::Computes | Kind::Compute => (ML_COMPUTE, "workspaces/computes"),
            Kind::UserAssignedIdentities | Kind::UserAssignedIdentity => (
                "Microsoft.ManagedIdentity/userAssignedIdentities",
                "userAssignedIdentities",
            ),
            Kind::MlOperation => (ML_MFE_OPS, "locations/mfeOperationsStatus"),
        };
        ApiType { key, display }
    }
}

const ML_WS: &str = "Microsoft.MachineLearningServices/workspaces";
const ML_MFE_OPS: &str = "Microsoft.MachineLearningServices/locations/mfeOperationsStatus|mfeOperationResults";
const ML_EP: &str = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints";
const ML_COMPUTE: &str = "Microsoft.MachineLearningServices/workspaces/computes";
const ML_DEP: &str = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments";

impl Target {
    /// The api-versions the request is checked against: its kind's, except for Azure ML operation
    /// polls, whose type depends on the route (`workspaceOperationsStatus` follows workspaces).
    pub fn api_type(&self) -> ApiType {
        match self {
            Target::MlOperation { poll, .. } => match poll {
                MlPoll::MfeStatus => ApiType {
                    key: ML_MFE_OPS,
                    display: "locations/mfeOperationsStatus",
                },
                MlPoll::MfeResult => ApiType {
                    key: ML_MFE_OPS,
                    display: "locations/mfeOperationResults",
                },
                MlPoll::WorkspaceStatus => ApiType {
                    key: ML_WS,
                    display: "locations/workspaceOperationsStatus",
                },
            },
            _ => self.kind().api_type(),
        }
    }
}

#[derive(Deserialize)]
struct File {
    types: FoldMap<String, TypeEntry>,
}

#[derive(Deserialize)]
struct TypeEntry {
    family: String,
    accepted: Vec<String>,
    /// `accepted` as a set: the exact spelling every client sends is one hash away.
    #[serde(skip)]
    exact: FoldSet<String>,
}

static TABLE: LazyLock<FoldMap<String, TypeEntry>> = LazyLock::new(|| {
    // The file is part of the build; `table_parses_and_covers_every_kind` keeps it valid.
    let mut types = serde_json::from_str::<File>(include_str!("../../../../openapi/fidelity/api-versions.json"))
        .map(|f| f.types)
        .unwrap_or_default();
    for entry in types.values_mut() {
        entry.exact = entry.accepted.iter().cloned().collect();
    }
    types
});

/// Regions the Azure ML resource provider lists in `NoRegisteredProviderFound` (the list ARM sent
/// in Azure/azure-sdk-for-js#4097; the emulator itself accepts any region).
const ML_LOCATIONS: &str = "canadacentral, uksouth, eastasia, japaneast, eastus, northeurope, australiaeast, eastus2, westus2, westcentralus, southeastasia, westeurope, southcentralus, eastus2euap, centraluseuap";

/// The versions a type accepts, in the file's (ARM's) order; empty for an unknown key.
#[cfg(test)]
fn accepted(key: &str) -> &'static [String] {
    TABLE.get(key).map_or(&[], |t| t.accepted.as_slice())
}

/// The request's api-version in its canonical spelling when `api` accepts it; otherwise ARM's
/// error for the type's family. `location` gives the region a provider's error names (asked only
/// on failure).
pub fn check(query: &str, api: ApiType, location: impl FnOnce() -> String) -> Result<&'static str, ArmError> {
    let requested = requested(query).ok_or_else(ArmError::missing_api_version)?;
    let Some(entry) = TABLE.get(api.key) else {
        return Err(ArmError::internal(format!("no api-versions for {}", api.key)));
    };
    // Clients send the canonical spelling: the set first, the case-insensitive walk only when
    // that misses.
    let exact = entry.exact.get(&*requested);
    if let Some(v) = exact.or_else(|| entry.accepted.iter().find(|v| v.eq_ignore_ascii_case(&requested))) {
        return Ok(v.as_str());
    }
    Err(match entry.family.as_str() {
        "Microsoft.Resources" => ArmError::invalid_api_version(&requested, &entry.accepted.join(",")),
        "Microsoft.Authorization" => ArmError::invalid_resource_type(
            api.display,
            "Microsoft.Authorization",
            &requested,
            &entry.accepted.join(","),
        ),
        _ => ArmError::no_registered_provider(
            &location(),
            &requested,
            api.display,
            &entry.accepted.join(", "),
            ML_LOCATIONS,
        ),
    })
}

/// Every `api-version` value of the query (the name compared case-insensitively), joined with `,`
/// as ARM joins repeated parameters; `None` when there is none or it is empty.
fn requested(query: &str) -> Option<Cow<'_, str>> {
    // Nearly every request's query is `api-version={v}` alone: the value itself.
    if let Some(v) = query.strip_prefix("api-version=") {
        if !v.is_empty() && !v.bytes().any(|b| matches!(b, b'&' | b'%' | b'+')) {
            return Some(Cow::Borrowed(v));
        }
    }
    // Without `%` or `+` a query decodes to itself: read it in place, and a single value is
    // borrowed.
    if !query.bytes().any(|b| b == b'%' || b == b'+') {
        let mut values = query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .filter(|(k, _)| k.eq_ignore_ascii_case("api-version"))
            .map(|(_, v)| v);
        let mut joined = Cow::Borrowed(values.next()?);
        for v in values {
            let all = joined.to_mut();
            all.push(',');
            all.push_str(v);
        }
        return (!joined.is_empty()).then_some(joined);
    }
    let values: Vec<String> = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v)
        .collect();
    let joined = values.join(",");
    (!joined.is_empty()).then_some(Cow::Owned(joined))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RG: ApiType = ApiType {
        key: "Microsoft.Resources/resourceGroups",
        display: "resourceGroups",
    };
    const WS: ApiType = ApiType {
        key: "Microsoft.MachineLearningServices/workspaces",
        display: "workspaces",
    };
    const RA: ApiType = ApiType {
        key: "Microsoft.Authorization/roleAssignments",
        display: "roleAssignments",
    };

    #[test]
    fn exact_sets_per_type() {
        assert_eq!(check("api-version=2021-04-01", RG, String::new).unwrap(), "2021-04-01");
        // ARM's odd entries are accepted as listed.
        assert_eq!(check("api-version=2014-04", RG, String::new).unwrap(), "2014-04");
        assert_eq!(check("api-version=2014-02-26", RG, String::new).unwrap(), "2014-02-26");
        // azureml-core sends 2020-01-01 for workspaces; azure-ai-ml several versions.
        for v in [
            "2020-01-01",
            "2022-05-01",
            "2023-08-01-preview",
            "2024-10-01-preview",
            "2025-06-01",
        ] {
            assert_eq!(check(&format!("api-version={v}"), WS, String::new).unwrap(), v);
        }
        assert_eq!(
            check("api-version=2024-10-01-PREVIEW", WS, String::new).unwrap(),
            "2024-10-01-preview"
        );
        assert!(check("a=b&API-VERSION=2025-04-01", WS, String::new).is_ok());
        assert!(check("api-version=2022-04-01", RA, String::new).is_ok());
    }

    #[test]
    fn resources_versions_azure_rejects() {
        let all = accepted(RG.key).join(",");
        for bad in [
            "2023-02-01",
            "2016-03-30",
            "2021-04-01-preview",
            "2099-01-01-preview",
            "banana",
        ] {
            let e = check(&format!("api-version={bad}"), RG, String::new).unwrap_err();
            assert_eq!((e.status, e.code), (400, "InvalidApiVersionParameter"), "{bad}");
            assert_eq!(
                e.message,
                format!("The api-version '{bad}' is invalid. The supported versions are '{all}'.")
            );
            assert!(e.gateway);
        }
    }

    #[test]
    fn provider_and_authorization_errors() {
        let e = check("api-version=2023-02-01", WS, || "eastus".into()).unwrap_err();
        assert_eq!((e.status, e.code), (400, "NoRegisteredProviderFound"));
        assert!(e.message.starts_with(
            "No registered resource provider found for location 'eastus' and API version '2023-02-01' for type 'workspaces'. The supported api-versions are '2018-03-01-preview, 2018-11-19, "
        ));
        assert!(e
            .message
            .ends_with(&format!("'. The supported locations are '{ML_LOCATIONS}'.")));
        let e = check("api-version=2020-07-01-preview", RA, String::new).unwrap_err();
        assert_eq!((e.status, e.code), (404, "InvalidResourceType"));
        assert!(e.message.starts_with("The resource type 'roleAssignments' could not be found in the namespace 'Microsoft.Authorization' for api version '2020-07-01-preview'. The supported api-versions are '2014-04-01-preview,2014-07-01-preview,"));
    }

    #[test]
    fn missing_and_repeated() {
        for q in ["", "api-version=", "x=1"] {
            assert_eq!(
                check(q, RG, String::new).unwrap_err().code,
                "MissingApiVersionParameter"
            );
        }
        // An encoded value is decoded, a trailing parameter is not part of the value.
        assert_eq!(
            check("api-version=2021%2D04-01", RG, String::new).unwrap(),
            "2021-04-01"
        );
        assert_eq!(
            check("api-version=2021-04-01&x=1", RG, String::new).unwrap(),
            "2021-04-01"
        );
        // Repeated values are joined with ',' as ARM joins them: never an accepted version.
        let e = check("api-version=2021-04-01&api-version=2021-04-01", RG, String::new).unwrap_err();
        assert_eq!(e.code, "InvalidApiVersionParameter");
        assert!(e
            .message
            .starts_with("The api-version '2021-04-01,2021-04-01' is invalid."));
    }

    #[test]
    fn table_parses_and_covers_every_kind() {
        use strum::IntoEnumIterator;
        assert!(TABLE.len() >= 13);
        for kind in Kind::iter() {
            let api = kind.api_type();
            assert!(!accepted(api.key).is_empty(), "{kind:?}: {}", api.key);
        }
    }
}
