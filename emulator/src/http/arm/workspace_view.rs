//! A workspace's ARM body, written straight into the response (`json.rs`): the hottest ARM
//! answer.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::HttpResponse;

use super::body_cache::{BodyKey, Era};
use super::json::{is_sorted, Object, J};
use super::workspaces::{ws_id, WS_TYPE};
use super::Ctx;
use crate::domain::ids::name_based;
use crate::domain::world::{Actor, Workspace};
use crate::domain::SubscriptionId;
use crate::http::surface::JSON_UTF8;

fn tenant_of(ctx: &Ctx<'_>, sub: SubscriptionId) -> String {
    ctx.world
        .subscription(sub)
        .map(|s| s.tenant_id.to_string())
        .unwrap_or_default()
}

/// The workspace as the requested api-version shows it (`openapi/fidelity/shapes/workspaces.get.json`,
/// each group from recordings where they exist): before 2021-07-01 the 2020 shape (no
/// `systemData`, `tenantId`, `mlFlowTrackingUri`); from 2021-07-01 `systemData` and the keys the
/// service sends beyond the spec (`notebookInfo`, `linkedModelInventoryArmId`,
/// `sdkTelemetryAppInsightsKey`); from 2023-06-01-preview `kind`, `creationTime`, `managedNetwork`
/// (`isolationMode: Disabled`), `softDeleteEnabled`, `ipAllowlist`, `serverlessComputeSettings`,
/// `enableSoftwareBillOfMaterials`, `enableDataIsolation`, `sasGetterUri`; from 2024-10-01
/// `systemDatastoresAuthMode`, `enableServiceSideCMKEncryption`, `allowRoleAssignmentOnRG`,
/// `networkAcls`. `tags` is always sent (`{}` when untagged) and `etag` is null, as recorded.
/// Written directly (`json.rs`): this is the hottest ARM body.
pub(super) fn workspace_json<'a>(ctx: &'a Ctx<'a>, w: &'a Workspace, state: &'static str) -> WorkspaceView<'a> {
    WorkspaceView {
        ctx,
        w,
        state,
        in_world: false,
    }
}

/// [`workspace_json`] of a workspace of `ctx.world` (not a snapshot of a deleted one): its body
/// is kept for the world snapshot and reused (`body_cache.rs`).
pub(super) fn world_workspace_json<'a>(ctx: &'a Ctx<'a>, w: &'a Workspace, state: &'static str) -> WorkspaceView<'a> {
    WorkspaceView {
        in_world: true,
        ..workspace_json(ctx, w, state)
    }
}

/// A workspace as an answer shows it ([`workspace_json`]).
pub(super) struct WorkspaceView<'a> {
    ctx: &'a Ctx<'a>,
    w: &'a Workspace,
    state: &'static str,
    /// `w` is in `ctx.world`, so its body may be kept under the world's generation.
    in_world: bool,
}

impl WorkspaceView<'_> {
    /// `200 OK` with this body.
    pub(super) fn ok(&self) -> HttpResponse {
        let mut out = Vec::with_capacity(BODY_CAPACITY);
        self.write(&mut out);
        json_response(out)
    }

    /// Appends the body.
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        if !self.in_world {
            return self.render(out);
        }
        let ctx = self.ctx;
        let key = BodyKey {
            generation: ctx.world.generation(),
            workspace: self.w.workspace_id,
            era: groups(ctx).into_iter().map(Era::from).sum(),
            state: self.state,
            base: ctx.base,
        };
        ctx.state().workspace_bodies.write(key, out, |out| self.render(out));
    }

    /// Appends the body as rendered now.
    fn render(&self, out: &mut Vec<u8>) {
        let (ctx, w) = (self.ctx, self.w);
        let id = ws_id(w);
        let tenant = tenant_of(ctx, w.subscription_id);
        let mut workspace_guid = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let workspace_guid: &str = w.workspace_id.hyphenated().encode_lower(&mut workspace_guid);
        let identity = super::computes::system_identity_json(&ctx.world, &id, workspace_guid, &tenant);
        let sku = [("name", J::Str(&w.sku)), ("tier", J::Str(&w.sku))];
        let mut o = Object::open(out);
        o.member("etag", &J::Null);
        o.member("id", &J::Str(&id));
        // A few small objects: serde_json orders their members as a map would.
        let _ = serde_json::to_writer(o.name("identity"), &identity);
        o.member("kind", &J::Str("Default"));
        o.member("location", &J::Str(&w.location));
        o.member("name", &J::Str(&w.name));
        self.write_properties(o.name("properties"), &id, &tenant, workspace_guid);
        o.member("sku", &J::Obj(&sku));
        let [g2021, ..] = groups(ctx);
        if g2021 {
            self.write_system_data(o.name("systemData"));
        }
        let _ = serde_json::to_writer(o.name("tags"), &w.tags);
        o.member("type", &J::Str(WS_TYPE));
        o.close();
    }

    /// `properties`: the members of the requested api-version merged with the linked resources.
    fn write_properties(&self, out: &mut Vec<u8>, id: &str, tenant: &str, workspace_guid: &str) {
        let (ctx, w) = (self.ctx, self.w);
        let location = w.location.as_str();
        let lower_name = lower(&w.name);
        let pieces = Pieces {
            discovery: [ctx.base, "/discovery"],
            tracking: ["azureml://", location, ".api.azureml.ms/mlflow/v1.0", id],
            fqdn: [
                "ml-",
                &lower_name,
                "-",
                location,
                "-",
                workspace_guid,
                ".",
                location,
                ".notebooks.azure.net",
            ],
        };
        let notebook = [
            ("fqdn", J::Cat(&pieces.fqdn)),
            ("isPrivateLinkEnabled", J::Bool(false)),
            ("notebookPreparationError", J::Null),
            ("resourceId", J::Simple(w.workspace_id)),
        ];
        let (head, tail) = (
            self.properties_a_to_l(&pieces),
            self.properties_m_to_z(&pieces, &notebook, tenant),
        );
        debug_assert!(is_sorted(head.iter().chain(&tail).map(|(n, _, _)| *n)));
        debug_assert!(is_sorted(notebook.iter().map(|(n, _)| *n)));
        let mut p = Object::open(out);
        p.merged(head.iter().chain(&tail), &w.linked);
        p.close();
    }

    /// The members of `properties` up to `l`, sorted by name; `true` marks the 2020 members a
    /// linked resource of the same name replaces.
    fn properties_a_to_l<'a>(&'a self, pieces: &'a Pieces<'a>) -> [Member<'a>; 13] {
        let (ctx, w) = (self.ctx, self.w);
        let [g2021, g2023, g2024] = groups(ctx);
        let group = |on: bool, v: J<'static>| if on { v } else { J::Skip };
        [
            ("allowPublicAccessWhenBehindVnet", true, J::Bool(false)),
            ("allowRoleAssignmentOnRG", false, group(g2024, J::Bool(true))),
            ("creationTime", true, J::Str(&w.created)),
            ("description", true, J::Str(&w.description)),
            ("discoveryUrl", true, J::Cat(&pieces.discovery)),
            ("enableDataIsolation", false, group(g2023, J::Bool(false))),
            ("enableServiceSideCMKEncryption", false, group(g2024, J::Bool(false))),
            ("enableSoftwareBillOfMaterials", false, group(g2023, J::Bool(false))),
            ("friendlyName", true, J::Str(&w.friendly_name)),
            ("hbiWorkspace", true, J::Bool(false)),
            ("imageBuildCompute", true, J::Null),
            ("ipAllowlist", false, group(g2023, J::EmptyArray)),
            ("linkedModelInventoryArmId", false, group(g2021, J::Null)),
        ]
    }

    /// The members of `properties` from `m` on (see [`WorkspaceView::properties_a_to_l`]).
    fn properties_m_to_z<'a>(
        &'a self,
        pieces: &'a Pieces<'a>,
        notebook: &'a [(&'a str, J<'a>)],
        tenant: &'a str,
    ) -> [Member<'a>; 17] {
        let (ctx, w) = (self.ctx, self.w);
        let [g2021, g2023, g2024] = groups(ctx);
        let group = |on: bool, v: J<'a>| if on { v } else { J::Skip };
        let telemetry = group(g2021, J::Uuid(name_based(&w.workspace_id, b"telemetry")));
        [
            ("managedNetwork", false, group(g2023, J::Obj(&MANAGED_NETWORK))),
            ("mlFlowTrackingUri", false, group(g2021, J::Cat(&pieces.tracking))),
            ("networkAcls", false, group(g2024, J::Obj(&NETWORK_ACLS))),
            ("notebookInfo", false, group(g2021, J::Obj(notebook))),
            ("privateLinkCount", true, J::U64(0)),
            ("provisioningState", true, J::Str(self.state)),
            ("publicNetworkAccess", false, group(g2021, J::Str("Enabled"))),
            ("sasGetterUri", false, group(g2023, J::Str(""))),
            ("sdkTelemetryAppInsightsKey", false, telemetry),
            ("serverlessComputeSettings", false, group(g2023, J::Obj(&SERVERLESS))),
            ("serviceProvisionedResourceGroup", true, J::Null),
            ("softDeleteEnabled", false, group(g2023, J::Bool(false))),
            ("storageHnsEnabled", true, J::Bool(false)),
            ("systemDatastoresAuthMode", false, group(g2024, J::Str("accesskey"))),
            ("tenantId", false, group(g2021, J::Str(tenant))),
            ("v1LegacyMode", false, group(g2021, J::Bool(false))),
            ("workspaceId", true, J::Uuid(w.workspace_id)),
        ]
    }

    /// `systemData`: who created and last changed the workspace, and when.
    fn write_system_data(&self, out: &mut Vec<u8>) {
        let w = self.w;
        let fixtures = Actor::fixtures();
        let created_by = w.provenance.created_by.as_ref().unwrap_or(&fixtures);
        let modified_by = w.provenance.modified_by.as_ref().unwrap_or(created_by);
        let system_data = [
            ("createdAt", J::Str(&w.created)),
            ("createdBy", J::Str(&created_by.name)),
            ("createdByType", J::Str(&created_by.kind)),
            (
                "lastModifiedAt",
                J::Str(w.provenance.modified.as_deref().unwrap_or(&w.created)),
            ),
            ("lastModifiedBy", J::Str(&modified_by.name)),
            ("lastModifiedByType", J::Str(&modified_by.kind)),
        ];
        debug_assert!(is_sorted(system_data.iter().map(|(n, _)| *n)));
        J::Obj(&system_data).write(out);
    }
}

/// The api-versions from which a workspace body gains a group of members ([`workspace_json`]).
/// The renderer and the kept bodies' key (`body_cache.rs`) both read them here, so a body is
/// never kept under a shape it was not rendered in.
const SHAPE_GROUPS: [&str; 3] = ["2021-07-01", "2023-06-01", "2024-10-01"];

/// Which of [`SHAPE_GROUPS`] the requested api-version reaches.
fn groups(ctx: &Ctx<'_>) -> [bool; 3] {
    SHAPE_GROUPS.map(|date| ctx.since(date))
}

/// A member of `properties`: name, whether a linked resource of that name replaces it, value.
type Member<'a> = (&'static str, bool, J<'a>);

/// The pieces of the `properties` strings written in parts.
struct Pieces<'a> {
    discovery: [&'a str; 2],
    tracking: [&'a str; 4],
    fqdn: [&'a str; 9],
}

const MANAGED_NETWORK: [(&str, J<'static>); 1] = [("isolationMode", J::Str("Disabled"))];
const NETWORK_ACLS: [(&str, J<'static>); 2] = [("defaultAction", J::Str("Allow")), ("ipRules", J::EmptyArray)];
const SERVERLESS: [(&str, J<'static>); 2] = [
    ("serverlessComputeCustomSubnet", J::Null),
    ("serverlessComputeNoPublicIP", J::Bool(false)),
];

/// `s` in lower case, copied only when it has upper-case letters.
fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        s.to_ascii_lowercase().into()
    } else {
        s.into()
    }
}

/// What a workspace body usually takes: one allocation for the whole answer.
pub(super) const BODY_CAPACITY: usize = 3072;

/// `200 OK` with a JSON body written by hand.
pub(super) fn json_response(body: Vec<u8>) -> HttpResponse {
    // Labelled as the surface would relabel `application/json`, without building either value.
    HttpResponse::Ok().insert_header((CONTENT_TYPE, JSON_UTF8)).body(body)
}
