//! ARM paths: what a request names, which action it needs, and at which scope.
//! [`ACTIONS`] is the one permission table of the ARM surface.

use actix_web::http::Method;

use crate::domain::scope::Scope;
use crate::error::ArmError;

/// What an ARM path names. Its discriminant ([`Kind`]) keys the permission table.
#[derive(Clone, Debug, PartialEq, Eq, strum::EnumDiscriminants)]
#[strum_discriminants(name(Kind), derive(strum::EnumIter))]
pub enum Target {
    Subscriptions,
    Tenants,
    Subscription {
        sub: String,
    },
    ResourceGroups {
        sub: String,
    },
    ResourceGroup {
        sub: String,
        rg: String,
    },
    Workspaces {
        sub: String,
        rg: Option<String>,
    },
    Workspace {
        sub: String,
        rg: String,
        name: String,
    },
    /// `POST …/workspaces/{name}/listKeys`.
    WorkspaceKeys {
        sub: String,
        rg: String,
        name: String,
    },
    /// The generic resource list of a subscription or resource group.
    Resources {
        sub: String,
        rg: Option<String>,
    },
    OnlineEndpoints {
        ws: Ws,
    },
    OnlineEndpoint {
        ws: Ws,
        name: String,
    },
    /// `POST …/onlineEndpoints/{name}/listKeys`.
    EndpointListKeys {
        ws: Ws,
        name: String,
    },
    /// `POST …/onlineEndpoints/{name}/regenerateKeys`.
    EndpointRegenerateKeys {
        ws: Ws,
        name: String,
    },
    /// `POST …/onlineEndpoints/{name}/token`.
    EndpointToken {
        ws: Ws,
        name: String,
    },
    Deployments {
        ws: Ws,
        endpoint: String,
    },
    Deployment {
        ws: Ws,
        endpoint: String,
        name: String,
    },
    RoleAssignments {
        scope: Scope,
    },
    RoleAssignment {
        scope: Scope,
        name: String,
    },
    RoleDefinitions {
        scope: Scope,
    },
    RoleDefinition {
        scope: Scope,
        id: String,
    },
    /// `GET /subscriptions/{sub}/operationresults/{id}`: a resource group deletion's progress.
    OperationResult {
        sub: String,
        id: String,
    },
    /// `GET /subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{location}/{poll}/{id}`:
    /// an Azure ML operation's progress.
    MlOperation {
        sub: String,
        location: String,
        poll: MlPoll,
        id: String,
    },
    /// `…/workspaces/{ws}/computes`.
    Computes {
        ws: Ws,
    },
    Compute {
        ws: Ws,
        name: String,
    },
    /// `Microsoft.ManagedIdentity/userAssignedIdentities` of a subscription or resource group.
    UserAssignedIdentities {
        sub: String,
        rg: Option<String>,
    },
    UserAssignedIdentity {
        sub: String,
        rg: String,
        name: String,
    },
}

/// The Azure ML operation routes (`openapi/fidelity/SOURCES.md`, long-running operations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlPoll {
    /// `mfeOperationsStatus`: online endpoints' `Azure-AsyncOperation`.
    MfeStatus,
    /// `mfeOperationResults`: online endpoints' `Location`.
    MfeResult,
    /// `workspaceOperationsStatus`: workspaces' (`&type=async` or `&type=location`).
    WorkspaceStatus,
}

impl MlPoll {
    pub fn segment(self) -> &'static str {
        match self {
            MlPoll::MfeStatus => "mfeOperationsStatus",
            MlPoll::MfeResult => "mfeOperationResults",
            MlPoll::WorkspaceStatus => "workspaceOperationsStatus",
        }
    }
}

/// A workspace named by a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ws {
    pub sub: String,
    pub rg: String,
    pub name: String,
}

impl Ws {
    /// The scope `{workspace id}/{tail…}` (see [`resource_scope`]).
    fn scope_below(&self, tail: &[&str]) -> Scope {
        resource_scope(&self.sub, &self.rg, ML_WORKSPACES, &self.name, tail)
    }

    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{WS}/{}",
            self.sub, self.rg, self.name
        )
    }
}

const WS: &str = "Microsoft.MachineLearningServices/workspaces";
/// A resource type as scope segments: its provider namespace, then its type.
type Provider = [&'static str; 2];
const ML_WORKSPACES: Provider = ["Microsoft.MachineLearningServices", "workspaces"];
const UAMI: Provider = ["Microsoft.ManagedIdentity", "userAssignedIdentities"];

/// The scope `/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}/{tail…}`
/// (at most four more segments); the root when a name would change its shape (see
/// [`Target::scope`]).
fn resource_scope(sub: &str, rg: &str, provider: Provider, name: &str, tail: &[&str]) -> Scope {
    let mut segments = [""; 12];
    let head = [
        "subscriptions",
        sub,
        "resourceGroups",
        rg,
        "providers",
        provider[0],
        provider[1],
        name,
    ];
    segments[..8].copy_from_slice(&head);
    let Some(rest) = segments.get_mut(8..8 + tail.len()) else {
        return Scope::root();
    };
    rest.copy_from_slice(tail);
    Scope::from_segments(&segments[..8 + tail.len()]).unwrap_or_else(|_| Scope::root())
}

pub use super::actions::{Check, ACTIONS, COMPUTE_READ, EP_READ, RG_READ, UAMI_READ, WS_READ};

/// A parsed ARM request.
#[derive(Clone, Debug)]
pub struct Route {
    pub target: Target,
    pub check: Check,
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Target {
    pub fn kind(&self) -> Kind {
        Kind::from(self)
    }

    /// The scope the permission is checked at, built from the captured names (a name that
    /// would change the scope's shape, such as one holding a percent-encoded `/`, gives the root:
    /// a check there fails closed).
    pub fn scope(&self) -> Scope {
        let at = |segments: &[&str]| Scope::from_segments(segments).unwrap_or_else(|_| Scope::root());
        match self {
            Target::Subscriptions | Target::Tenants => Scope::root(),
            Target::Subscription { sub }
            | Target::ResourceGroups { sub }
            | Target::OperationResult { sub, .. }
            | Target::MlOperation { sub, .. }
            | Target::Workspaces { sub, rg: None }
            | Target::Resources { sub, rg: None }
            | Target::UserAssignedIdentities { sub, rg: None } => at(&["subscriptions", sub]),
            Target::ResourceGroup { sub, rg }
            | Target::Workspaces { sub, rg: Some(rg) }
            | Target::Resources { sub, rg: Some(rg) }
            | Target::UserAssignedIdentities { sub, rg: Some(rg) } => at(&["subscriptions", sub, "resourceGroups", rg]),
            Target::Workspace { sub, rg, name } | Target::WorkspaceKeys { sub, rg, name } => {
                resource_scope(sub, rg, ML_WORKSPACES, name, &[])
            }
            Target::OnlineEndpoints { ws } | Target::Computes { ws } => ws.scope_below(&[]),
            Target::OnlineEndpoint { ws, name }
            | Target::EndpointListKeys { ws, name }
            | Target::EndpointRegenerateKeys { ws, name }
            | Target::EndpointToken { ws, name }
            | Target::Deployments { ws, endpoint: name } => ws.scope_below(&["onlineEndpoints", name]),
            Target::Deployment { ws, endpoint, name } => {
                ws.scope_below(&["onlineEndpoints", endpoint, "deployments", name])
            }
            Target::Compute { ws, name } => ws.scope_below(&["computes", name]),
            Target::UserAssignedIdentity { sub, rg, name } => resource_scope(sub, rg, UAMI, name, &[]),
            Target::RoleAssignments { scope }
            | Target::RoleAssignment { scope, .. }
            | Target::RoleDefinitions { scope }
            | Target::RoleDefinition { scope, .. } => scope.clone(),
        }
    }

    /// The workspace a path below a workspace names.
    pub fn workspace(&self) -> Option<&Ws> {
        match self {
            Target::OnlineEndpoints { ws }
            | Target::OnlineEndpoint { ws, .. }
            | Target::EndpointListKeys { ws, .. }
            | Target::EndpointRegenerateKeys { ws, .. }
            | Target::EndpointToken { ws, .. }
            | Target::Deployments { ws, .. }
            | Target::Deployment { ws, .. }
            | Target::Computes { ws }
            | Target::Compute { ws, .. } => Some(ws),
            _ => None,
        }
    }

    /// The subscription the path names, if any.
    pub fn subscription(&self) -> Option<&str> {
        if let Some(ws) = self.workspace() {
            return Some(&ws.sub);
        }
        match self {
            Target::Subscription { sub }
            | Target::ResourceGroups { sub }
            | Target::ResourceGroup { sub, .. }
            | Target::Workspaces { sub, .. }
            | Target::Workspace { sub, .. }
            | Target::WorkspaceKeys { sub, .. }
            | Target::OperationResult { sub, .. }
            | Target::MlOperation { sub, .. }
            | Target::Resources { sub, .. }
            | Target::UserAssignedIdentities { sub, .. }
            | Target::UserAssignedIdentity { sub, .. } => Some(sub),
            Target::RoleAssignments { scope }
            | Target::RoleAssignment { scope, .. }
            | Target::RoleDefinitions { scope }
            | Target::RoleDefinition { scope, .. } => scope.subscription(),
            // Paths below a workspace were answered above.
            _ => None,
        }
    }
}

impl Route {
    pub fn parse(path: &str, method: &Method) -> Result<Route, ArmError> {
        let target = parse_target(path).ok_or_else(|| ArmError::path_not_found(path))?;
        let kind = target.kind();
        let check = ACTIONS
            .iter()
            .find(|(k, m, _)| *k == kind && *m == method.as_str())
            .map(|(_, _, c)| *c)
            .ok_or_else(|| ArmError::method_not_allowed(method.as_str(), path))?;
        Ok(Route { target, check })
    }
}

/// The subscription segment of a path, before it is fully understood (for the 401 challenge).
pub fn subscription_in(path: &str) -> Option<&str> {
    // Model-management paths carry the ARM path after their own prefix.
    let path = path.strip_prefix("/modelmanagement/v1.0").unwrap_or(path);
    let path = path.trim_start_matches('/');
    let rest = path
        .get(..14)
        .filter(|s| eq(s, "subscriptions/"))
        .map(|_| &path[14..])?;
    let id = rest.split_once('/').map_or(rest, |(id, _)| id);
    (!id.is_empty()).then_some(id)
}

fn parse_target(path: &str) -> Option<Target> {
    // Segments are percent-decoded: SDKs encode names like `rg(x)`. A path without a `%` (nearly
    // every one) is split in place, in one pass over its bytes that also looks for a `%`.
    let path = path.trim_start_matches('/').trim_end_matches('/');
    let mut segments = Vec::with_capacity(12);
    let (mut start, mut encoded) = (0, false);
    for (i, b) in path.bytes().enumerate() {
        match b {
            b'/' => {
                segments.push(&path[start..i]);
                start = i + 1;
            }
            b'%' => encoded = true,
            _ => {}
        }
    }
    segments.push(&path[start..]);
    if encoded {
        let decoded: Vec<std::borrow::Cow<'_, str>> = segments
            .iter()
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy())
            .collect();
        let segments: Vec<&str> = decoded.iter().map(|s| &**s).collect();
        return target_of(&segments);
    }
    target_of(&segments)
}

/// What a path of `segments` (decoded) names.
fn target_of(segments: &[&str]) -> Option<Target> {
    if let Some(t) = authorization_target(segments) {
        return Some(t);
    }
    let mut names = [""; 5];
    SHAPES
        .iter()
        .find(|(pattern, _)| captures(pattern, segments, &mut names))
        .map(|(_, make)| make(&names))
}

/// The names a path shape captures, in order (at most five).
type Names<'a> = [&'a str; 5];

/// A path shape and what a path of that shape names.
type Shape = (&'static [&'static str], fn(&Names<'_>) -> Target);

/// Literal segments (compared case-insensitively) and `*` for a name.
macro_rules! workspace_and {
    ($($rest:literal),*) => {
        &["subscriptions", "*", "resourcegroups", "*", "providers", "microsoft.machinelearningservices", "workspaces", "*", $($rest),*]
    };
}

/// `…/providers/Microsoft.MachineLearningServices/locations/{location}/{route}/{id}`.
macro_rules! ml_location {
    ($route:literal) => {
        &[
            "subscriptions",
            "*",
            "providers",
            "microsoft.machinelearningservices",
            "locations",
            "*",
            $route,
            "*",
        ]
    };
}
fn ws(n: &Names<'_>) -> Ws {
    Ws {
        sub: n[0].into(),
        rg: n[1].into(),
        name: n[2].into(),
    }
}

/// Every ARM path the emulator serves (besides `Microsoft.Authorization`), and what it names.
#[rustfmt::skip]
static SHAPES: &[Shape] = &[
    (&["tenants"], |_| Target::Tenants),
    (&["subscriptions"], |_| Target::Subscriptions),
    (&["subscriptions", "*"], |n| Target::Subscription { sub: n[0].into() }),
    (&["subscriptions", "*", "resourcegroups"], |n| Target::ResourceGroups { sub: n[0].into() }),
    (&["subscriptions", "*", "resourcegroups", "*"], |n| Target::ResourceGroup { sub: n[0].into(), rg: n[1].into() }),
    (&["subscriptions", "*", "resources"], |n| Target::Resources { sub: n[0].into(), rg: None }),
    (&["subscriptions", "*", "resourcegroups", "*", "resources"], |n| Target::Resources { sub: n[0].into(), rg: Some(n[1].into()) }),
    (&["subscriptions", "*", "providers", "microsoft.machinelearningservices", "workspaces"], |n| Target::Workspaces { sub: n[0].into(), rg: None }),
    (&["subscriptions", "*", "resourcegroups", "*", "providers", "microsoft.machinelearningservices", "workspaces"], |n| Target::Workspaces { sub: n[0].into(), rg: Some(n[1].into()) }),
    (workspace_and!(), |n| Target::Workspace { sub: n[0].into(), rg: n[1].into(), name: n[2].into() }),
    (workspace_and!("listkeys"), |n| Target::WorkspaceKeys { sub: n[0].into(), rg: n[1].into(), name: n[2].into() }),
    (workspace_and!("onlineendpoints"), |n| Target::OnlineEndpoints { ws: ws(n) }),
    (workspace_and!("onlineendpoints", "*"), |n| Target::OnlineEndpoint { ws: ws(n), name: n[3].into() }),
    (workspace_and!("onlineendpoints", "*", "listkeys"), |n| Target::EndpointListKeys { ws: ws(n), name: n[3].into() }),
    (workspace_and!("onlineendpoints", "*", "regeneratekeys"), |n| Target::EndpointRegenerateKeys { ws: ws(n), name: n[3].into() }),
    (workspace_and!("onlineendpoints", "*", "token"), |n| Target::EndpointToken { ws: ws(n), name: n[3].into() }),
    (workspace_and!("onlineendpoints", "*", "deployments"), |n| Target::Deployments { ws: ws(n), endpoint: n[3].into() }),
    (workspace_and!("onlineendpoints", "*", "deployments", "*"), |n| Target::Deployment { ws: ws(n), endpoint: n[3].into(), name: n[4].into() }),
    (&["subscriptions", "*", "operationresults", "*"], |n| Target::OperationResult { sub: n[0].into(), id: n[1].into() }),
    (ml_location!("mfeoperationsstatus"), |n| ml_operation(n, MlPoll::MfeStatus)),
    (ml_location!("mfeoperationresults"), |n| ml_operation(n, MlPoll::MfeResult)),
    (ml_location!("workspaceoperationsstatus"), |n| ml_operation(n, MlPoll::WorkspaceStatus)),
    (workspace_and!("computes"), |n| Target::Computes { ws: ws(n) }),
    (workspace_and!("computes", "*"), |n| Target::Compute { ws: ws(n), name: n[3].into() }),
    (&["subscriptions", "*", "providers", "microsoft.managedidentity", "userassignedidentities"], |n| Target::UserAssignedIdentities { sub: n[0].into(), rg: None }),
    (&["subscriptions", "*", "resourcegroups", "*", "providers", "microsoft.managedidentity", "userassignedidentities"], |n| Target::UserAssignedIdentities { sub: n[0].into(), rg: Some(n[1].into()) }),
    (&["subscriptions", "*", "resourcegroups", "*", "providers", "microsoft.managedidentity", "userassignedidentities", "*"], |n| Target::UserAssignedIdentity { sub: n[0].into(), rg: n[1].into(), name: n[2].into() }),
];

fn ml_operation(n: &Names<'_>, poll: MlPoll) -> Target {
    Target::MlOperation {
        sub: n[0].into(),
        location: n[1].into(),
        poll,
        id: n[2].into(),
    }
}

/// Whether `segments` has `pattern`'s shape; its `*` segments are then in `names`, in order.
fn captures<'s>(pattern: &[&str], segments: &[&'s str], names: &mut Names<'s>) -> bool {
    if pattern.len() != segments.len() {
        return false;
    }
    let mut n = 0;
    for (p, s) in pattern.iter().zip(segments) {
        match *p {
            "*" if !s.is_empty() && n < names.len() => {
                names[n] = s;
                n += 1;
            }
            "*" => return false,
            literal if eq(literal, s) => {}
            _ => return false,
        }
    }
    true
}

/// `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]` and the same for
/// `roleDefinitions`; `{scope}` may be empty (the root).
fn authorization_target(segments: &[&str]) -> Option<Target> {
    let at = segments
        .windows(2)
        .rposition(|w| eq(w[0], "providers") && eq(w[1], "Microsoft.Authorization"))?;
    let scope_text = format!("/{}", segments[..at].join("/"));
    let scope = Scope::parse(&scope_text).ok()?;
    match &segments[at + 2..] {
        [kind] if eq(kind, "roleAssignments") => Some(Target::RoleAssignments { scope }),
        [kind, name] if eq(kind, "roleAssignments") => Some(Target::RoleAssignment {
            scope,
            name: name.to_string(),
        }),
        [kind] if eq(kind, "roleDefinitions") => Some(Target::RoleDefinitions { scope }),
        [kind, id] if eq(kind, "roleDefinitions") => Some(Target::RoleDefinition {
            scope,
            id: id.to_string(),
        }),
        _ => None,
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
