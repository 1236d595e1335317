"""The binary's az-like verbs for principals and RBAC, run against the session's emulator.

`azureml-emulator sp create-for-rbac|show`, `role assignment create|list|delete` and
`ml workspace share` find the emulator through --data-dir (its ready file) or --url + --ca-cert.
Their JSON goes to stdout; failures exit non-zero with one message on stderr and nothing on stdout.
The last tests check that what the verbs change is what the real SDK (azure-mgmt-authorization)
is then allowed to do, request by request.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient

import emulator_support as emu

OWNER_USER = ("owner@contoso.onmicrosoft.com", "a1d0e5f2-0c3b-4d7a-9e1f-000000000001")
READER_USER = ("reader@contoso.onmicrosoft.com", "a1d0e5f2-0c3b-4d7a-9e1f-000000000003")
UNKNOWN_SUBSCRIPTION = "11111111-2222-4333-8444-555555555555"
WORKSPACE_NOPE_NOT_FOUND = (
    "The Resource 'Microsoft.MachineLearningServices/workspaces/nope' under resource group 'ml-example-rg' "
    "was not found."
)


def _fails(result: emu.CliResult, message: str, code: int | None = None) -> None:
    assert result.returncode != 0, (result.args, result.stdout)
    if code is not None:
        assert result.returncode == code, (result.args, result.returncode, result.stderr)
    assert result.stdout == "", result.stdout
    assert message in result.stderr, result.stderr


def _assignment(a: dict) -> dict:
    """The fields of one role assignment as the verbs print it (ARM shape: properties.*)."""
    props = a["properties"]
    return {
        "name": a["name"],
        "scope": props["scope"],
        "principalId": props["principalId"],
        "principalType": props["principalType"],
        "role": props["roleDefinitionId"].rsplit("/", 1)[1],
    }


def _check_assignment_shape(a: dict, subscription_id: str) -> None:
    assert a["type"] == "Microsoft.Authorization/roleAssignments"
    assert a["id"] == f"{a['properties']['scope']}/providers/Microsoft.Authorization/roleAssignments/{a['name']}"
    uuid.UUID(a["name"])
    assert a["properties"]["roleDefinitionId"].startswith(
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/"
    )


# --- sp show / create-for-rbac ------------------------------------------------------------------


@pytest.mark.parametrize("locate", ["data-dir", "url"])
def test_sp_show_by_app_id_and_object_id(emulator, admin_sp, locate):
    by_app = emu.run_cli(emulator, "sp", "show", "--id", admin_sp["clientId"], locate=locate).json()
    by_object = emu.run_cli(emulator, "sp", "show", "--id", admin_sp["objectId"], locate=locate).json()
    assert by_app == by_object
    assert by_app["appId"] == admin_sp["clientId"]
    assert by_app["id"] == by_app["objectId"] == admin_sp["objectId"]
    assert by_app["displayName"] == by_app["appDisplayName"] == "ml-admin"
    assert by_app["accountEnabled"] is True
    assert by_app["servicePrincipalType"] == "Application"
    assert by_app["servicePrincipalNames"] == [admin_sp["clientId"]]
    assert by_app["appOwnerOrganizationId"] == emulator["tenant_id"]
    (cred,) = by_app["passwordCredentials"]
    assert cred["displayName"] == "dev"
    assert cred["hint"] == admin_sp["clientSecret"][:3]
    # Like Graph, never the secret itself.
    assert admin_sp["clientSecret"] not in emu.run_cli(emulator, "sp", "show", "--id", admin_sp["clientId"]).stdout


def test_sp_show_unknown(emulator, unknown_guid):
    _fails(
        emu.run_cli(emulator, "sp", "show", "--id", unknown_guid),
        f"Resource '{unknown_guid}' does not exist or one of its queried reference-property objects are not present.",
    )
    _fails(emu.run_cli(emulator, "sp", "show", "--id", "ml-admin"), "'ml-admin' is not a GUID")


def test_create_for_rbac_with_role(emulator, ws_scope, subscription_id, tenant_id, reset_world):
    created = emu.run_cli(
        emulator, "sp", "create-for-rbac", "--name", "cli-reader", "--role", "Reader", "--scopes", ws_scope
    ).json()
    assert set(created) == {"appId", "displayName", "password", "tenant"}
    assert created["displayName"] == "cli-reader"
    assert created["tenant"] == tenant_id
    assert created["password"]
    shown = emu.run_cli(emulator, "sp", "show", "--id", created["appId"]).json()
    assert shown["displayName"] == "cli-reader"
    assert shown["appId"] == created["appId"]

    listed = emu.run_cli(emulator, "role", "assignment", "list", "--assignee", created["appId"]).json()
    assert [_assignment(a) for a in listed] == [
        {
            "name": listed[0]["name"],
            "scope": ws_scope,
            "principalId": shown["id"],
            "principalType": "ServicePrincipal",
            "role": emu.ROLE_IDS["Reader"],
        }
    ]
    _check_assignment_shape(listed[0], subscription_id)


def test_create_for_rbac_without_role_and_errors(emulator, ws_scope, reset_world):
    created = emu.run_cli(emulator, "sp", "create-for-rbac", "--name", "cli-no-role").json()
    assert emu.run_cli(emulator, "role", "assignment", "list", "--assignee", created["appId"]).json() == []

    _fails(
        emu.run_cli(
            emulator, "sp", "create-for-rbac", "--name", "cli-bad-role", "--role", "No Such Role", "--scopes", ws_scope
        ),
        "no role definition is named 'No Such Role'",
    )
    # Nothing half-made: the name is still free.
    emu.run_cli(emulator, "sp", "create-for-rbac", "--name", "cli-bad-role").json()
    _fails(emu.run_cli(emulator, "sp", "create-for-rbac", "--name", "x", "--role", "Reader"), "--scopes", code=2)


def test_create_for_rbac_existing_name_is_idempotent(emulator, reset_world):
    first = emu.run_cli(emulator, "sp", "create-for-rbac", "--name", "cli-twice").json()
    second = emu.run_cli(emulator, "sp", "create-for-rbac", "--name", "cli-twice").json()
    assert second["appId"] == first["appId"]
    assert second["password"] != first["password"]


# --- role assignment list / create / delete -----------------------------------------------------


def test_role_assignment_list(emulator, ws_scope, subscription_id, default_app, admin_sp):
    at_workspace = emu.run_cli(emulator, "role", "assignment", "list", "--scope", ws_scope).json()
    # ml-auth's Contributor, and the managed identities': cpu-cluster's AzureML Data Scientist and ml-uami's Reader.
    assert {(_assignment(a)["principalId"], _assignment(a)["role"]) for a in at_workspace} == {
        (default_app["object_id"], emu.ROLE_IDS["Contributor"]),
        ("5e2f1a0b-6c7d-4e8f-9a0b-00000000c001", "f6c7c914-8db3-469d-8ca1-694a8f32e121"),
        ("5e2f1a0b-6c7d-4e8f-9a0b-00000000aa01", emu.ROLE_IDS["Reader"]),
    }
    for a in at_workspace:
        _check_assignment_shape(a, subscription_id)

    by_name = emu.run_cli(emulator, "role", "assignment", "list", "--assignee", "ml-auth").json()
    by_client_id = emu.run_cli(emulator, "role", "assignment", "list", "--assignee", default_app["client_id"]).json()
    mine = [a for a in at_workspace if _assignment(a)["principalId"] == default_app["object_id"]]
    assert by_name == by_client_id == mine

    owners = emu.run_cli(emulator, "role", "assignment", "list", "--role", "Owner", locate="url").json()
    assert {(_assignment(a)["principalId"], _assignment(a)["scope"]) for a in owners} == {
        (OWNER_USER[1], emu.subscription_scope(subscription_id)),
        (admin_sp["objectId"], emu.subscription_scope(subscription_id)),
    }


def test_role_assignment_create_and_delete(emulator, ws_scope, subscription_id, reset_world):
    upn, oid = READER_USER
    args = ("--assignee", upn, "--role", "Contributor", "--scope", ws_scope)
    created = emu.run_cli(emulator, "role", "assignment", "create", *args).json()
    _check_assignment_shape(created, subscription_id)
    assert _assignment(created) == {
        "name": created["name"],
        "scope": ws_scope,
        "principalId": oid,
        "principalType": "User",
        "role": emu.ROLE_IDS["Contributor"],
    }
    listed = emu.run_cli(emulator, "role", "assignment", "list", "--assignee", upn).json()
    assert {a["name"] for a in listed} >= {created["name"]}

    deleted = emu.run_cli(emulator, "role", "assignment", "delete", *args).json()
    assert [a["id"] for a in deleted] == [created["id"]]
    assert emu.run_cli(emulator, "role", "assignment", "delete", *args).json() == []  # nothing left to delete
    after = emu.run_cli(emulator, "role", "assignment", "list", "--assignee", upn).json()
    assert created["name"] not in {a["name"] for a in after}
    # The world's Reader on the subscription is untouched.
    assert [_assignment(a)["role"] for a in after] == [emu.ROLE_IDS["Reader"]]


def test_role_assignment_create_twice_returns_existing(emulator, ws_scope, reset_world):
    args = ("--assignee", READER_USER[0], "--role", "Contributor", "--scope", ws_scope)
    first = emu.run_cli(emulator, "role", "assignment", "create", *args).json()
    second = emu.run_cli(emulator, "role", "assignment", "create", *args)
    assert second.returncode == 0, second.stderr
    assert second.json()["id"] == first["id"]


def test_role_assignment_create_errors(emulator, subscription_id, ws_scope):
    cases = [
        ("nobody@contoso.onmicrosoft.com", "Reader", ws_scope,
         "no user or service principal matches assignee 'nobody@contoso.onmicrosoft.com'"),
        ("ml-auth", "Nonexistent Role", ws_scope, "no role definition is named 'Nonexistent Role'"),
        ("ml-auth", "Reader", emu.resource_group_scope(subscription_id, "nope-rg"),
         "Resource group 'nope-rg' could not be found."),
        ("ml-auth", "Reader", emu.workspace_scope(subscription_id, workspace="nope"), WORKSPACE_NOPE_NOT_FOUND),
        ("ml-auth", "Reader", emu.subscription_scope(UNKNOWN_SUBSCRIPTION),
         f"subscription '{UNKNOWN_SUBSCRIPTION}' does not exist"),
        ("ml-auth", "Reader", "/not/a/scope", "'/not/a/scope' is not a valid ARM scope"),
    ]  # fmt: skip
    before = emu.run_cli(emulator, "role", "assignment", "list", "--assignee", "ml-auth").json()
    for assignee, role, scope, message in cases:
        result = emu.run_cli(
            emulator, "role", "assignment", "create", "--assignee", assignee, "--role", role, "--scope", scope
        )
        _fails(result, message)
    assert emu.run_cli(emulator, "role", "assignment", "list", "--assignee", "ml-auth").json() == before
    _fails(
        emu.run_cli(emulator, "role", "assignment", "list", "--assignee", str(uuid.uuid4())),
        "no user or service principal matches assignee",
    )
    _fails(
        emu.run_cli(emulator, "role", "assignment", "list", "--role", "NoSuchRole"),
        "no role definition is named 'NoSuchRole'",
    )
    _fails(
        emu.run_cli(emulator, "role", "assignment", "delete", "--assignee", "nobody"),
        "no user or service principal matches assignee 'nobody'",
    )


# --- ml workspace share -------------------------------------------------------------------------


def _share(emulator, user, role, *extra, workspace=emu.WORKSPACE, resource_group=emu.RESOURCE_GROUP, locate="data-dir"):
    return emu.run_cli(
        emulator,
        "ml",
        "workspace",
        "share",
        "-w",
        workspace,
        "-g",
        resource_group,
        *extra,
        "--user",
        user,
        "--role",
        role,
        locate=locate,
    )


def test_ml_workspace_share(emulator, ws_scope, subscription_id, reset_world):
    by_upn = _share(emulator, READER_USER[0], "contributor").json()
    by_oid = _share(emulator, OWNER_USER[1], "owner", locate="url").json()
    for a in (by_upn, by_oid):
        _check_assignment_shape(a, subscription_id)
    assert _assignment(by_upn) == {
        "name": by_upn["name"],
        "scope": ws_scope,
        "principalId": READER_USER[1],
        "principalType": "User",
        "role": emu.ROLE_IDS["Contributor"],
    }
    assert (_assignment(by_oid)["principalId"], _assignment(by_oid)["role"]) == (OWNER_USER[1], emu.ROLE_IDS["Owner"])
    at_ws = {a["name"] for a in emu.run_cli(emulator, "role", "assignment", "list", "--scope", ws_scope).json()}
    assert {by_upn["name"], by_oid["name"]} <= at_ws


def test_ml_workspace_share_errors(emulator):
    _fails(_share(emulator, "nobody", "reader"), "no user or service principal matches assignee 'nobody'")
    _fails(_share(emulator, "ml-auth", "superuser"), "invalid value 'superuser' for '--role <ROLE>'", code=2)
    _fails(_share(emulator, "ml-auth", "reader", workspace="nope"), WORKSPACE_NOPE_NOT_FOUND)
    _fails(
        _share(emulator, "ml-auth", "reader", resource_group="nope-rg"), "Resource group 'nope-rg' could not be found."
    )
    _fails(
        _share(emulator, "ml-auth", "reader", "--subscription", UNKNOWN_SUBSCRIPTION),
        f"subscription '{UNKNOWN_SUBSCRIPTION}' does not exist",
    )


# --- finding the emulator -----------------------------------------------------------------------


def test_verbs_without_a_running_emulator(emulator, tmp_path, admin_sp):
    nowhere = {**emulator, "data_dir": str(tmp_path)}
    _fails(emu.run_cli(nowhere, "sp", "show", "--id", admin_sp["clientId"]), "no running emulator found")
    closed = {**emulator, "url": "https://127.0.0.1:1"}
    _fails(emu.run_cli(closed, "role", "assignment", "list", locate="url"), "Connection refused")


# --- what the verbs change is what the SDK may do ----------------------------------------------


def test_share_and_delete_apply_to_the_sdks_next_request(
    emulator, url, tenant_id, subscription_id, ws_scope, monkeypatch, reset_world
):
    created = emu.run_cli(emulator, "sp", "create-for-rbac", "--name", "cli-enforced").json()
    object_id = emu.run_cli(emulator, "sp", "show", "--id", created["appId"]).json()["id"]
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"{url}/adfs")
    client = AuthorizationManagementClient(
        ClientSecretCredential(tenant_id, created["appId"], created["password"]),
        subscription_id,
        base_url=url,
        credential_scopes=[emu.ARM_SCOPE],
    )

    def list_at_workspace():
        return [a.name for a in client.role_assignments.list_for_scope(ws_scope, filter="atScope()")]

    def assert_denied():
        with pytest.raises(HttpResponseError) as excinfo:
            list_at_workspace()
        assert excinfo.value.status_code == 403
        assert excinfo.value.error.code == "AuthorizationFailed"
        assert f"with object id '{object_id}'" in excinfo.value.error.message

    assert_denied()
    shared = _share(emulator, created["appId"], "reader").json()
    assert shared["name"] in list_at_workspace()
    delete = ("--assignee", created["appId"], "--role", "Reader", "--scope", ws_scope)
    assert [a["name"] for a in emu.run_cli(emulator, "role", "assignment", "delete", *delete).json()] == [
        shared["name"]
    ]
    assert_denied()
