"""azure-mgmt-authorization (track 2) against the emulator's Microsoft.Authorization provider.

The client is the one a user builds for a sovereign cloud: ``AuthorizationManagementClient(cred,
sub, base_url=<emulator url>, credential_scopes=[ARM scope])`` with a ClientSecretCredential whose
authority comes from AZURE_AUTHORITY_HOST=<url>/adfs. It runs in the pytest process (nothing in it
reads the environment at import time). ml-admin (Owner of the subscription) may write role
assignments; ml-auth (Contributor on the workspace) may not.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

import emulator_support as emu

READER_USER_OID = "a1d0e5f2-0c3b-4d7a-9e1f-000000000003"  # reader@contoso (Reader on the subscription)


@pytest.fixture(autouse=True)
def _authority_from_env(monkeypatch, url):
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"{url}/adfs")


def _client(url, tenant_id, subscription_id, client_id, secret) -> AuthorizationManagementClient:
    credential = ClientSecretCredential(tenant_id, client_id, secret)
    return AuthorizationManagementClient(credential, subscription_id, base_url=url, credential_scopes=[emu.ARM_SCOPE])


@pytest.fixture
def admin_client(url, tenant_id, subscription_id, admin_sp):
    return _client(url, tenant_id, subscription_id, admin_sp["clientId"], admin_sp["clientSecret"])


@pytest.fixture
def sp_client(url, tenant_id, subscription_id, sp):
    return _client(url, tenant_id, subscription_id, sp["clientId"], sp["clientSecret"])


def _params(subscription_id, role, principal_id, principal_type="User"):
    return RoleAssignmentCreateParameters(
        role_definition_id=emu.role_definition_id(subscription_id, role),
        principal_id=principal_id,
        principal_type=principal_type,
    )


def _assert_authorization_failed(exc: HttpResponseError, object_id: str, action: str, scope: str):
    assert type(exc) is HttpResponseError, type(exc)  # azure-core has no 403 subclass
    assert exc.status_code == 403
    assert exc.error.code == "AuthorizationFailed"
    assert exc.error.message.startswith(
        f"The client '{object_id}' with object id '{object_id}' does not have authorization to perform "
        f"action '{action}' over scope '{scope}' or the scope is invalid."
    ), exc.error.message


@pytest.mark.parametrize("role", ["Owner", "Contributor", "Reader"])
def test_role_definitions_filter_by_role_name(admin_client, ws_scope, subscription_id, role):
    found = list(admin_client.role_definitions.list(ws_scope, filter=f"roleName eq '{role}'"))
    assert [d.role_name for d in found] == [role]
    definition = found[0]
    assert definition.name == emu.ROLE_IDS[role]
    assert definition.id == emu.role_definition_id(subscription_id, role)
    assert definition.role_type == "BuiltInRole"
    assert definition.type == "Microsoft.Authorization/roleDefinitions"
    same = admin_client.role_definitions.get(ws_scope, emu.ROLE_IDS[role])
    assert (same.id, same.role_name) == (definition.id, role)


def test_reader_definition_permissions(sp_client, ws_scope):
    # Any principal that can read the scope may read role definitions (ml-auth here).
    (reader,) = sp_client.role_definitions.list(ws_scope, filter="roleName eq 'Reader'")
    assert [p.actions for p in reader.permissions] == [["*/read"]]
    assert reader.assignable_scopes == ["/"]


def test_role_assignment_create_list_get_delete(admin_client, admin_sp, ws_scope, subscription_id, reset_world):
    name = str(uuid.uuid4())
    created = admin_client.role_assignments.create(
        ws_scope, name, _params(subscription_id, "Contributor", READER_USER_OID)
    )
    assert created.name == name
    assert created.id == f"{ws_scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert created.type == "Microsoft.Authorization/roleAssignments"
    assert created.scope == ws_scope
    assert created.role_definition_id == emu.role_definition_id(subscription_id, "Contributor")
    assert created.principal_id == READER_USER_OID
    assert created.principal_type == "User"
    # ARM's PUT answer has createdBy null; later reads name the creator (issue 14's observation).
    assert created.created_by is None

    # atScope(): the assignments at the workspace and above it (ml-admin's Owner on the subscription,
    # ml-auth's Contributor on the workspace, the new one), none below.
    at_scope = list(admin_client.role_assignments.list_for_scope(ws_scope, filter="atScope()"))
    by_name = {a.name: a for a in at_scope}
    assert name in by_name
    assert all(ws_scope.startswith(a.scope) for a in at_scope), [a.scope for a in at_scope]
    assert {(a.principal_id, a.scope) for a in at_scope} >= {
        (admin_sp["objectId"], emu.subscription_scope(subscription_id)),
        (READER_USER_OID, ws_scope),
    }

    mine = list(admin_client.role_assignments.list_for_scope(ws_scope, filter=f"principalId eq '{READER_USER_OID}'"))
    assert {a.principal_id for a in mine} == {READER_USER_OID}
    assert {(a.scope, a.role_definition_id.rsplit("/", 1)[1]) for a in mine} == {
        (ws_scope, emu.ROLE_IDS["Contributor"]),
        (emu.subscription_scope(subscription_id), emu.ROLE_IDS["Reader"]),  # the world's, inherited
    }

    got = admin_client.role_assignments.get(ws_scope, name)
    assert (got.id, got.principal_id, got.role_definition_id) == (
        created.id,
        READER_USER_OID,
        created.role_definition_id,
    )
    assert got.created_by == admin_sp["objectId"]
    assert admin_client.role_assignments.get_by_id(created.id).name == name

    deleted = admin_client.role_assignments.delete(ws_scope, name)
    assert deleted is not None and deleted.name == name
    with pytest.raises(ResourceNotFoundError) as excinfo:
        admin_client.role_assignments.get(ws_scope, name)
    assert excinfo.value.status_code == 404
    assert excinfo.value.error.code == "RoleAssignmentNotFound"
    assert admin_client.role_assignments.delete(ws_scope, name) is None  # 204: already gone
    assert name not in {a.name for a in admin_client.role_assignments.list_for_scope(ws_scope, filter="atScope()")}


def test_same_assignment_under_new_name_is_role_assignment_exists(admin_client, ws_scope, subscription_id, reset_world):
    params = _params(subscription_id, "Reader", READER_USER_OID)
    first = admin_client.role_assignments.create(ws_scope, str(uuid.uuid4()), params)
    with pytest.raises(ResourceExistsError) as excinfo:  # azure-core maps 409 to ResourceExistsError
        admin_client.role_assignments.create(ws_scope, str(uuid.uuid4()), params)
    err = excinfo.value
    assert isinstance(err, HttpResponseError)
    assert err.status_code == 409
    assert err.error.code == "RoleAssignmentExists"
    assert err.error.message == "The role assignment already exists."
    # Only the first one is there.
    mine = admin_client.role_assignments.list_for_scope(ws_scope, filter=f"principalId eq '{READER_USER_OID}'")
    assert [a.name for a in mine if a.scope == ws_scope] == [first.name]


def test_contributor_cannot_create_assignment(sp_client, default_app, ws_scope, subscription_id, reset_world):
    # Contributor may read role assignments but not write them (Microsoft.Authorization/*/Write is a notAction).
    assert any(a.principal_id == default_app["object_id"] for a in sp_client.role_assignments.list_for_scope(ws_scope))
    with pytest.raises(HttpResponseError) as excinfo:
        sp_client.role_assignments.create(
            ws_scope, str(uuid.uuid4()), _params(subscription_id, "Reader", READER_USER_OID)
        )
    _assert_authorization_failed(
        excinfo.value, default_app["object_id"], "Microsoft.Authorization/roleAssignments/write", ws_scope
    )


def test_deleted_assignment_denies_the_same_clients_next_call(
    admin_client, sp_client, default_app, ws_scope, subscription_id, reset_world
):
    # ml-auth's own Contributor assignment on the workspace (from the default world).
    (own,) = [
        a
        for a in admin_client.role_assignments.list_for_scope(
            ws_scope, filter=f"principalId eq '{default_app['object_id']}'"
        )
        if a.scope == ws_scope
    ]
    assert own.role_definition_id == emu.role_definition_id(subscription_id, "Contributor")
    assert own.name in {a.name for a in sp_client.role_assignments.list_for_scope(ws_scope, filter="atScope()")}

    admin_client.role_assignments.delete(ws_scope, own.name)
    # Same client, same cached token: the next request is judged on the current assignments.
    with pytest.raises(HttpResponseError) as excinfo:
        sp_client.role_assignments.list_for_scope(ws_scope, filter="atScope()").next()
    _assert_authorization_failed(
        excinfo.value, default_app["object_id"], "Microsoft.Authorization/roleAssignments/read", ws_scope
    )

    # And back: granting again takes effect on the next request too.
    admin_client.role_assignments.create(
        ws_scope,
        str(uuid.uuid4()),
        _params(subscription_id, "Contributor", default_app["object_id"], "ServicePrincipal"),
    )
    assert any(a.principal_id == default_app["object_id"] for a in sp_client.role_assignments.list_for_scope(ws_scope))


@pytest.mark.parametrize("scope_kind", ["management.azure.com", "management.core.windows.net", "emulator url"])
def test_arm_audiences_accepted(url, tenant_id, subscription_id, sp, ws_scope, scope_kind):
    scope = {
        "management.azure.com": emu.ARM_SCOPE,
        "management.core.windows.net": emu.CLASSIC_ARM_SCOPE,  # what azureml-core asks for
        "emulator url": f"{url}/.default",  # what azure-ai-ml asks for (the cloud's resourceManager)
    }[scope_kind]
    credential = ClientSecretCredential(tenant_id, sp["clientId"], sp["clientSecret"])
    client = AuthorizationManagementClient(credential, subscription_id, base_url=url, credential_scopes=[scope])
    assert list(client.role_assignments.list_for_scope(ws_scope, filter="atScope()"))


def test_token_for_another_resource_is_invalid_audience(url, tenant_id, subscription_id, sp, ws_scope):
    credential = ClientSecretCredential(tenant_id, sp["clientId"], sp["clientSecret"])
    client = AuthorizationManagementClient(
        credential, subscription_id, base_url=url, credential_scopes=["https://ml.azure.com/.default"]
    )
    with pytest.raises(ClientAuthenticationError) as excinfo:
        list(client.role_assignments.list_for_scope(ws_scope))
    err = excinfo.value
    assert err.status_code == 401
    assert err.error.code == "InvalidAuthenticationTokenAudience"
    assert "'https://ml.azure.com'" in err.error.message
    assert 'error="invalid_token"' in err.response.headers["WWW-Authenticate"]
