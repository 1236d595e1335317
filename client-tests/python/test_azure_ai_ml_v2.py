"""azure-ai-ml (SDK v2) with azure-identity credentials against the emulator's ARM surface.

Env only: ARM_CLOUD_METADATA_URL selects the emulator's cloud (azure-ai-ml picks the first metadata
entry whose resourceManager occurs in that URL and writes AZUREML_CURRENT_CLOUD into os.environ
while building an MLClient), AZURE_AUTHORITY_HOST=<url>/adfs points azure-identity at the emulator
without instance discovery, and the CA variables make it trusted. Each scenario runs in a fresh
interpreter (sdk_scenarios.py) with the ready file's env, so nothing leaks between tests.
"""

from __future__ import annotations

import pytest

import emulator_support as emu

OTHER_WORKSPACE = "ml-other-v2"
MISSING_WORKSPACE = "ml-missing"
HTTP_RESPONSE_ERROR = "azure.core.exceptions.HttpResponseError"
CLIENT_AUTH_ERROR = "azure.core.exceptions.ClientAuthenticationError"
NOT_FOUND_ERROR = "azure.core.exceptions.ResourceNotFoundError"


_params = emu.scenario_params


_ok = emu.scenario_value  # the scenario ran, and never left 127.0.0.1
_value = emu.part_value
_error = emu.part_error


def _assert_authorization_failed(err: dict, object_id: str, action: str, scope: str):
    # Exactly HttpResponseError (azure-core maps only 401/404/409/304 to subclasses).
    assert err["classes"][0] == HTTP_RESPONSE_ERROR, err
    assert err["status_code"] == 403, err
    assert err["error_code"] == "AuthorizationFailed", err
    assert err["error_message"].startswith(
        f"The client '{object_id}' with object id '{object_id}' does not have authorization to perform "
        f"action '{action}' over scope '{scope}' or the scope is invalid."
    ), err["error_message"]


@pytest.fixture(scope="module")
def v2_reads(emulator, admin, admin_sp, tmp_path_factory):
    sub = emulator["subscription_id"]
    token = admin.client_token(emulator["tenant_id"], admin_sp["clientId"], admin_sp["clientSecret"])
    other = admin.arm(
        "PUT", emu.workspace_scope(sub, workspace=OTHER_WORKSPACE), token, "2024-10-01", json={"location": "westus2"}
    )
    # Workspace PUT is Azure's long-running operation: 202, the workspace written (New-AzMLWorkspace.Recording.json).
    assert other.status_code == 202, other.text
    params = _params(
        emulator,
        admin={"clientId": admin_sp["clientId"], "clientSecret": admin_sp["clientSecret"]},
        no_access_workspace=OTHER_WORKSPACE,
        missing_workspace=MISSING_WORKSPACE,
    )
    try:
        result = emu.run_scenario(emulator, "v2_workspace_reads", params, home=tmp_path_factory.mktemp("v2-home"))
    finally:
        admin.clock(resume=True)
        admin.reset()
    return _ok(result)


def test_workspaces_get(v2_reads, emulator, subscription_id):
    ws = _value(v2_reads["get"])
    assert ws["type"] == "azure.ai.ml.entities._workspace.workspace.Workspace"
    assert ws["name"] == emu.WORKSPACE
    assert ws["location"] == "eastus"
    assert ws["resource_group"] == emu.RESOURCE_GROUP
    assert ws["id"] == emu.workspace_scope(subscription_id)
    assert ws["display_name"] == emu.WORKSPACE
    assert ws["discovery_url"].startswith(emulator["url"].rstrip("/") + "/"), ws
    # azure-ai-ml reads managedNetwork (2024-10-01-preview): Azure sends isolationMode Disabled.
    assert ws["managed_network_isolation_mode"] == "Disabled"
    # The metadata URL alone selected the emulator's (non-AzureCloud) cloud.
    assert v2_reads["current_cloud"] == "Emulator"


def test_workspaces_list(v2_reads):
    assert _value(v2_reads["list"]) == [emu.WORKSPACE]
    assert _value(v2_reads["list_subscription"]) == [emu.WORKSPACE]
    # ml-admin (Owner of the subscription) also sees the workspace ml-auth cannot read.
    assert _value(v2_reads["admin_list"]) == sorted([emu.WORKSPACE, OTHER_WORKSPACE])


def test_workspace_without_role_is_authorization_failed(v2_reads, subscription_id, default_app):
    _assert_authorization_failed(
        _error(v2_reads["no_access"]),
        default_app["object_id"],
        "Microsoft.MachineLearningServices/workspaces/read",
        emu.workspace_scope(subscription_id, workspace=OTHER_WORKSPACE),
    )


def test_missing_workspace_is_resource_not_found(v2_reads):
    err = _error(v2_reads["missing_as_admin"])
    assert err["classes"][0] == NOT_FOUND_ERROR, err
    assert err["status_code"] == 404
    assert err["error_code"] == "ResourceNotFound", err
    assert f"workspaces/{MISSING_WORKSPACE}" in err["error_message"], err
    assert err["message"].startswith("(ResourceNotFound) "), err["message"]


def test_reader_cannot_update_workspace(emulator, ws_scope, reset_world, tmp_path):
    reader = emu.run_cli(
        emulator, "sp", "create-for-rbac", "--name", "v2-reader", "--role", "Reader", "--scopes", ws_scope
    ).json()
    shown = emu.run_cli(emulator, "sp", "show", "--id", reader["appId"]).json()
    value = _ok(
        emu.run_scenario(emulator, "v2_reader_update_forbidden", _params(emulator, reader=reader), home=tmp_path)
    )
    assert _value(value["get"])["name"] == emu.WORKSPACE
    _assert_authorization_failed(
        _error(value["update"]), shown["id"], "Microsoft.MachineLearningServices/workspaces/write", ws_scope
    )
    assert _value(value["after"])["description"] != "changed by a reader"


def test_expired_token_after_clock_advance(emulator, restore_clock, tmp_path):
    value = _ok(emu.run_scenario(emulator, "v2_expired_token", _params(emulator, advance_seconds=7200), home=tmp_path))
    assert _value(value["before"]) == emu.WORKSPACE
    assert value["clock"]["offset_seconds"] >= 7200
    # azure-identity still holds the token (expires_on is ~1 h away on the local clock); ARM rejects
    # it on the emulator's clock and azure-ai-ml does not retry or refresh.
    for part in ("after", "list_after"):
        err = _error(value[part])
        assert err["classes"][0] == CLIENT_AUTH_ERROR, (part, err)
        assert err["status_code"] == 401, (part, err)
        assert err["error_code"] == "ExpiredAuthenticationToken", (part, err)
        assert "is earlier than current UTC time" in err["error_message"], err
        assert 'error="invalid_token"' in (err.get("www_authenticate") or ""), err
    # A new credential fetches a new token on the emulator's clock.
    assert _value(value["fresh_credential"]) == emu.WORKSPACE


def test_role_change_applies_to_next_request(emulator, admin_sp, ws_scope, subscription_id, reset_world, tmp_path):
    created = emu.run_cli(emulator, "sp", "create-for-rbac", "--name", "v2-role-change").json()
    principal = {**created, "objectId": emu.run_cli(emulator, "sp", "show", "--id", created["appId"]).json()["id"]}
    value = _ok(
        emu.run_scenario(
            emulator,
            "v2_role_change_next_request",
            _params(
                emulator,
                principal=principal,
                admin={"clientId": admin_sp["clientId"], "clientSecret": admin_sp["clientSecret"]},
                scope=ws_scope,
                role_definition_id=emu.role_definition_id(subscription_id, "Reader"),
                arm_scope=emu.ARM_SCOPE,
            ),
            home=tmp_path,
        )
    )
    read = "Microsoft.MachineLearningServices/workspaces/read"
    # One MLClient (and so one cached token) throughout: no role, Reader granted, Reader revoked.
    _assert_authorization_failed(_error(value["before_grant"]), principal["objectId"], read, ws_scope)
    assert _value(value["after_grant"]) == emu.WORKSPACE
    _assert_authorization_failed(_error(value["after_revoke"]), principal["objectId"], read, ws_scope)
