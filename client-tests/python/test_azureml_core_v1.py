"""azureml-core (SDK v1) against the emulator's ARM surface, configured by env only.

Every scenario runs in a fresh interpreter (sdk_scenarios.py) whose environment is the ready
file's printed env plus a private HOME: azureml-core fetches ARM_CLOUD_METADATA_URL (trusting
SSL_CERT_FILE) when it is imported, and caches workspace discovery under ~/.azureml. The code in
the scenarios is what a user writes against real Azure (Workspace.get, Workspace.from_config,
ServicePrincipalAuthentication): no endpoint is passed anywhere.

The read-only scenarios share one child process (module fixture ``v1_reads``) because importing
azureml-core is slow; the tests then assert on its parts.
"""

from __future__ import annotations

import json

import pytest

import emulator_support as emu

OTHER_WORKSPACE = "ml-other"  # created by ml-admin in the fixture; ml-auth holds no role on it
MISSING_WORKSPACE = "ml-missing"
UNKNOWN_SUBSCRIPTION = "11111111-2222-4333-8444-555555555555"
PROJECT_SYSTEM_EXCEPTION = "azureml.exceptions._azureml_exception.ProjectSystemException"
USER_ERROR_EXCEPTION = "azureml.exceptions._azureml_exception.UserErrorException"


def _scenario_params(emulator, sp, **extra):
    return emu.scenario_params(emulator, sp={"clientId": sp["clientId"], "clientSecret": sp["clientSecret"]}, **extra)


_ok = emu.scenario_value  # the scenario ran, and never left 127.0.0.1
_value = emu.part_value
_error = emu.part_error


@pytest.fixture(scope="module")
def v1_reads(emulator, admin, admin_sp, tmp_path_factory):
    sub = emulator["subscription_id"]
    token = admin.client_token(emulator["tenant_id"], admin_sp["clientId"], admin_sp["clientSecret"])
    other = admin.arm(
        "PUT",
        emu.workspace_scope(sub, workspace=OTHER_WORKSPACE),
        token,
        "2024-10-01",
        json={"location": "eastus", "properties": {"friendlyName": OTHER_WORKSPACE}},
    )
    # Workspace PUT is Azure's long-running operation: 202, the workspace written (New-AzMLWorkspace.Recording.json).
    assert other.status_code == 202, other.text
    config_dir = tmp_path_factory.mktemp("v1-config")
    (config_dir / "config.json").write_text(
        json.dumps({"subscription_id": sub, "resource_group": emu.RESOURCE_GROUP, "workspace_name": emu.WORKSPACE})
    )
    params = _scenario_params(
        emulator,
        emulator["service_principal"],
        admin={"clientId": admin_sp["clientId"], "clientSecret": admin_sp["clientSecret"]},
        config_dir=str(config_dir),
        no_access_workspace=OTHER_WORKSPACE,
        missing_workspace=MISSING_WORKSPACE,
        unknown_subscription=UNKNOWN_SUBSCRIPTION,
    )
    try:
        result = emu.run_scenario(emulator, "v1_workspace_reads", params, home=tmp_path_factory.mktemp("v1-home"))
    finally:
        admin.clock(resume=True)
        admin.reset()
    return _ok(result)


def _assert_example_workspace(ws: dict, emulator):
    sub = emulator["subscription_id"]
    assert ws["name"] == emu.WORKSPACE
    assert ws["location"] == "eastus"
    assert ws["subscription_id"] == sub
    assert ws["resource_group"] == emu.RESOURCE_GROUP
    assert ws["id"] == emu.workspace_scope(sub)
    assert ws["workspaceid"] == emu.WORKSPACE_ID
    assert ws["friendlyName"] == emu.WORKSPACE
    # Later v1 service calls go to the discovery URL, so it must point back at the emulator.
    assert ws["discoveryUrl"].startswith(emulator["url"].rstrip("/") + "/"), ws["discoveryUrl"]


def test_workspace_get_with_service_principal(v1_reads, emulator, sp, tenant_id):
    _assert_example_workspace(_value(v1_reads["get"]), emulator)
    # v1 asks for the cloud's audiences[0] + "/.default", i.e. the classic ARM audience.
    claims = v1_reads["token_claims"]
    assert claims["aud"] == emu.CLASSIC_ARM_AUDIENCE
    assert claims["appid"] == sp["clientId"]
    assert claims["tid"] == tenant_id


def test_workspace_from_config(v1_reads, emulator):
    _assert_example_workspace(_value(v1_reads["from_config"]), emulator)


def test_workspace_without_role_is_authorization_failed(v1_reads, emulator, default_app):
    # ml-auth is Contributor on ml-example only: ARM answers 403 for another workspace, and v1 wraps
    # the ARM error JSON into ProjectSystemException's message.
    err = _error(v1_reads["no_access"])
    assert err["classes"][0] == PROJECT_SYSTEM_EXCEPTION, err
    message = err["message"]
    assert '"status_code": 403' in message, message
    assert '"code": "AuthorizationFailed"' in message, message
    scope = emu.workspace_scope(emulator["subscription_id"], workspace=OTHER_WORKSPACE)
    assert (
        f"The client '{default_app['object_id']}' with object id '{default_app['object_id']}' does not have "
        f"authorization to perform action 'Microsoft.MachineLearningServices/workspaces/read' over scope '{scope}'"
    ) in message


def test_missing_workspace_is_not_found(v1_reads):
    # With read rights on the resource group (ml-admin), a missing workspace is a 404, which v1
    # turns into "Workspace not found." and drops the ARM code/message.
    err = _error(v1_reads["missing_as_admin"])
    assert err["classes"][0] == PROJECT_SYSTEM_EXCEPTION, err
    assert "Message: Workspace not found." in err["message"], err["message"]


def test_subscription_not_in_tenant(v1_reads, tenant_id, subscription_id):
    # v1 lists GET /subscriptions before any workspace call and checks the id client-side.
    err = _error(v1_reads["unknown_subscription"])
    assert err["classes"][0] == USER_ERROR_EXCEPTION, err
    assert f"You are currently logged-in to {tenant_id} tenant" in err["message"]
    assert f"You don't have access to {UNKNOWN_SUBSCRIPTION} subscription" in err["message"]
    assert subscription_id in err["message"]  # the accessible subscriptions are listed


def test_workspace_list_by_resource_group(v1_reads, subscription_id):
    # Workspace.list(sub, resource_group=rg) -> GET .../resourceGroups/{rg}/providers/
    # Microsoft.MachineLearningServices/workspaces?api-version=2020-01-01
    listing = _value(v1_reads["list_resource_group"])
    assert listing == {emu.WORKSPACE: [{"resource_group": emu.RESOURCE_GROUP, "subscription_id": subscription_id}]}


def test_workspace_list_by_subscription(v1_reads, subscription_id):
    listing = _value(v1_reads["list_subscription"])
    # ml-other exists too, but ml-auth cannot read it.
    assert listing == {emu.WORKSPACE: [{"resource_group": emu.RESOURCE_GROUP, "subscription_id": subscription_id}]}


def test_sdk_auth_json_from_create_for_rbac(emulator, ws_scope, tenant_id, subscription_id, reset_world, tmp_path):
    created = emu.run_cli(
        emulator,
        "sp",
        "create-for-rbac",
        "--name",
        "v1-sdk-auth",
        "--role",
        "Contributor",
        "--scopes",
        ws_scope,
        "--sdk-auth",
    ).json()
    url = emulator["url"].rstrip("/")
    assert created["tenantId"] == tenant_id
    assert created["subscriptionId"] == subscription_id
    assert created["activeDirectoryEndpointUrl"] == f"{url}/adfs"
    assert created["resourceManagerEndpointUrl"] == f"{url}/"
    assert created["clientId"] and created["clientSecret"]

    value = _ok(
        emu.run_scenario(
            emulator,
            "v1_sdk_auth",
            {"sdk_auth": created, "resource_group": emu.RESOURCE_GROUP, "workspace": emu.WORKSPACE},
            home=tmp_path,
        )
    )
    _assert_example_workspace(value["workspace"], emulator)
    assert value["token_claims"]["appid"] == created["clientId"]
    assert value["token_claims"]["tid"] == tenant_id


def test_expired_token_after_clock_advance(emulator, sp, restore_clock, tmp_path):
    value = _ok(
        emu.run_scenario(
            emulator, "v1_expired_token", _scenario_params(emulator, sp, advance_seconds=7200), home=tmp_path
        )
    )
    assert value["clock"]["offset_seconds"] >= 7200
    # v1 judges expiry with the token's exp against the local clock: it keeps the cached token.
    assert value["after_claims"] == value["before_claims"]
    assert value["before_claims"]["exp"] < value["before_claims"]["iat"] + 7200

    # Every v1 ARM call first lists GET /subscriptions (AbstractAuthentication._get_service_client ->
    # ServicePrincipalAuthentication._get_all_subscription_ids -> azure-mgmt-resource SubscriptionClient).
    # That call gets the 401 first, so the error is azure-core's ClientAuthenticationError, not the
    # ProjectSystemException that a 401 on the workspace GET itself would give.
    for part in ("get_details", "workspace_get"):
        err = _error(value[part])
        assert err["classes"][0] == "azure.core.exceptions.ClientAuthenticationError", (part, err)
        assert err["status_code"] == 401, (part, err)
        assert err["error_code"] == "ExpiredAuthenticationToken", (part, err)
        assert "ExpiredAuthenticationToken" in err["message"]
        assert "The access token expiry UTC time" in err["error_message"], err
        assert 'error="invalid_token"' in (err.get("www_authenticate") or ""), err
        assert "/subscriptions?api-version=" in (err.get("request_url") or ""), err

    # A new auth object gets a new token, issued on the emulator's (moved) clock: accepted.
    assert _value(value["fresh_auth_get"]) == emu.WORKSPACE
