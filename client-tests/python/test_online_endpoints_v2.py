"""azure-ai-ml (SDK v2) online endpoints: credentials per auth mode, key regeneration and invoke.

``ml_client.online_endpoints.get_keys / begin_regenerate_keys / invoke`` against the emulator's ARM
online endpoints and scoring, one endpoint per auth mode in the default world (ep-key: Key,
ep-amltoken: AMLToken, ep-aad: AADToken). Each scenario runs in a fresh interpreter with the ready
file's env (EnvironmentCredential = ml-auth, Contributor on the workspace) and records the requests
the SDK makes, so the tests assert what was sent as well as what came back.
"""

from __future__ import annotations

import json
import time

import pytest

import emulator_support as emu

INPUT = {"input_data": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}
OTHER_AMLTOKEN = "ep-amltoken-2"  # created in the fixture, so a token of ep-amltoken has a neighbour to fail on
VALIDATION_EXCEPTION = "azure.ai.ml.exceptions.ValidationException"
HTTP_RESPONSE_ERROR = "azure.core.exceptions.HttpResponseError"
NOT_FOUND_ERROR = "azure.core.exceptions.ResourceNotFoundError"
# Azure ML tokens say iss = aud = "azureml" (the recorded token: Azure/azure-powershell
# Get-AzMLWorkspaceOnlineEndpointToken.Recording.json); they live 24 h, refresh after 12 h.
AML_TOKEN_ISSUER = "azureml"
AML_TOKEN_LIFETIME = 86_400
AML_TOKEN_REFRESH = 43_200
AML_AUDIENCE = "https://ml.azure.com"


def _params(emulator, **extra):
    # polling_interval: Azure's online-endpoint 201/202 carry no Retry-After, so azure-ai-ml would wait
    # its 30 s default before the first poll (README, long-running operations).
    return emu.scenario_params(
        emulator,
        ep_key=emu.EP_KEY,
        ep_amltoken=emu.EP_AMLTOKEN,
        ep_aad=emu.EP_AAD,
        input=INPUT,
        polling_interval=0.2,
        **extra,
    )


_ok = emu.scenario_value
_value = emu.part_value
_error = emu.part_error


def _calls(part: dict) -> list[tuple[str, str, int]]:
    return [(h["method"], h["path"], h["status"]) for h in part["http"]]


def _endpoint_id(subscription_id: str, name: str) -> str:
    return f"{emu.workspace_scope(subscription_id)}/onlineEndpoints/{name}"


def _ep(name: str, suffix: str = "") -> str:
    return f"{{ws}}/onlineEndpoints/{name}{suffix}"


def _assert_polled_to_done(part: dict, start: int, url: str, route: str) -> list[dict]:
    """From ``start`` on, the SDK GETs ``url`` (an operation route of this emulator): 202 while it
    runs, then one 200. Returns the polls."""
    assert route in url, url
    polls = part["http"][start:]
    path = url.split("?")[0].split("://", 1)[1]
    path = path[path.index("/"):]
    statuses = [h["status"] for h in polls if h["path"] == path]
    assert statuses and statuses[-1] == 200 and all(s == 202 for s in statuses[:-1]), (statuses, part["http"])
    return [h for h in polls if h["path"] == path]


def _score_call(part: dict) -> dict:
    (call,) = [h for h in part["http"] if h["path"].startswith("/online/")]
    return call


def _wait_until_succeeded(admin, token: str, endpoint_id: str, seconds: float = 30) -> None:
    """The endpoint's creation (a 1 s operation on the emulator clock) has finished: the scenario reads
    its scoring URI, which Azure (and the emulator) leave out while it is Creating."""
    deadline = time.monotonic() + seconds
    while True:
        got = admin.arm("GET", endpoint_id, token, emu.ONLINE_ENDPOINTS_API_VERSION)
        state = got.json().get("properties", {}).get("provisioningState") if got.ok else got.status_code
        if state == "Succeeded":
            return
        assert time.monotonic() < deadline, f"{endpoint_id} still {state}; clock: {admin.get_clock()}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def v2_endpoints(emulator, admin, tmp_path_factory):
    sp = emulator["service_principal"]
    token = admin.client_token(emulator["tenant_id"], sp["clientId"], sp["clientSecret"])
    try:
        created = admin.arm(
            "PUT",
            _endpoint_id(emulator["subscription_id"], OTHER_AMLTOKEN),
            token,
            emu.ONLINE_ENDPOINTS_API_VERSION,
            json={"location": emu.WORKSPACE_REGION, "properties": {"authMode": "AMLToken"}},
        )
        assert created.status_code in (200, 201), created.text
        _wait_until_succeeded(admin, token, _endpoint_id(emulator["subscription_id"], OTHER_AMLTOKEN))
        result = emu.run_scenario(
            emulator,
            "v2_endpoint_keys_and_invoke",
            _params(emulator, other_amltoken=OTHER_AMLTOKEN),
            home=tmp_path_factory.mktemp("v2-endpoints"),
        )
    finally:
        admin.clock(resume=True)
        admin.reset()
    return _ok(result)


# --- get_keys per auth mode ----------------------------------------------------------------------


def test_auth_modes(v2_endpoints):
    assert _value(v2_endpoints["get"]) == {emu.EP_KEY: "key", emu.EP_AMLTOKEN: "aml_token", emu.EP_AAD: "aad_token"}


def test_get_keys_key_mode(v2_endpoints):
    part = v2_endpoints["keys_key"]
    keys = _value(part)
    assert keys["class"] == "azure.ai.ml.entities._endpoint.online_endpoint.EndpointAuthKeys"
    assert (keys["primary_key"], keys["secondary_key"]) == (emu.EP_KEY_PRIMARY, emu.EP_KEY_SECONDARY)
    assert _calls(part) == [("GET", _ep(emu.EP_KEY), 200), ("POST", _ep(emu.EP_KEY, "/listKeys"), 200)]


def test_get_keys_amltoken_mode(v2_endpoints, emulator, default_app):
    part = v2_endpoints["keys_amltoken"]
    tok = _value(part)
    assert tok["class"] == "azure.ai.ml.entities._endpoint.online_endpoint.EndpointAuthToken"
    assert tok["token_type"] == "Bearer"
    claims = tok["claims"]
    assert claims["iss"] == claims["aud"] == AML_TOKEN_ISSUER
    assert claims["endpointName"] == emu.EP_AMLTOKEN
    assert claims["actions"] == '["Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"]'
    assert "iat" not in claims and "nbf" not in claims
    assert claims["oid"] == default_app["object_id"]
    assert claims["tid"] == emulator["tenant_id"]
    assert tok["expiry_time_utc"] == claims["exp"]
    assert tok["expiry_time_utc"] - tok["refresh_after_time_utc"] == AML_TOKEN_LIFETIME - AML_TOKEN_REFRESH
    assert _calls(part) == [("GET", _ep(emu.EP_AMLTOKEN), 200), ("POST", _ep(emu.EP_AMLTOKEN, "/token"), 200)]


def test_get_keys_aad_mode(v2_endpoints, emulator, sp):
    part = v2_endpoints["keys_aad"]
    tok = _value(part)
    assert tok["class"] == "azure.ai.ml.entities._endpoint.online_endpoint.EndpointAadToken"
    claims = tok["claims"]
    assert claims["aud"] == AML_AUDIENCE
    assert claims["appid"] == sp["clientId"]
    assert claims["tid"] == emulator["tenant_id"]
    # azure-identity computes expires_on from expires_in and its own clock: within a few seconds of exp.
    assert abs(tok["expiry_time_utc"] - claims["exp"]) <= 5, (tok["expiry_time_utc"], claims["exp"])
    # No ARM call for the credential: azure-identity asks Entra for https://ml.azure.com/.default.
    calls = _calls(part)
    assert calls[0] == ("GET", _ep(emu.EP_AAD), 200)
    assert calls[1:] == [("POST", f"/adfs/{emulator['tenant_id']}/oauth2/v2.0/token", 200)]
    assert "scope=https%3A%2F%2Fml.azure.com%2F.default" in part["http"][1]["body"]


# --- invoke per auth mode ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "part, credential_call",
    [
        ("invoke_key", ("POST", _ep(emu.EP_KEY, "/listKeys"), 200)),
        ("invoke_amltoken", ("POST", _ep(emu.EP_AMLTOKEN, "/token"), 200)),
        ("invoke_aad", None),
    ],
)
def test_invoke_echoes_request(v2_endpoints, part, credential_call):
    name = {"invoke_key": emu.EP_KEY, "invoke_amltoken": emu.EP_AMLTOKEN, "invoke_aad": emu.EP_AAD}[part]
    result = v2_endpoints[part]
    assert json.loads(_value(result)) == INPUT  # invoke returns the response text
    calls = _calls(result)
    assert calls[0] == ("GET", _ep(name), 200)
    if credential_call:
        assert credential_call in calls
    assert calls[-1] == ("POST", f"/online/{name}/score", 200)
    score = _score_call(result)
    assert score["deployment"] is None
    assert json.loads(score["body"]) == INPUT


def test_invoke_sends_the_credential_get_keys_gives(v2_endpoints):
    assert _score_call(v2_endpoints["invoke_key"])["bearer"] == emu.EP_KEY_PRIMARY
    assert emu.claims(_score_call(v2_endpoints["invoke_amltoken"])["bearer"])["iss"] == AML_TOKEN_ISSUER
    assert emu.claims(_score_call(v2_endpoints["invoke_aad"])["bearer"])["aud"] == AML_AUDIENCE


@pytest.mark.parametrize("part, name", [("invoke_aad_blue", emu.EP_AAD), ("invoke_key_blue", emu.EP_KEY)])
def test_invoke_with_deployment_name(v2_endpoints, part, name):
    result = v2_endpoints[part]
    assert json.loads(_value(result)) == INPUT
    # The SDK first checks the name against the deployment list, then sends it as a header.
    assert _calls(result)[0] == ("GET", _ep(name, "/deployments"), 200)
    assert _score_call(result)["deployment"] == "blue"


def test_invoke_green_deployment(v2_endpoints):
    result = v2_endpoints["invoke_aad_green"]
    assert json.loads(_value(result)) == INPUT
    assert _score_call(result)["deployment"] == "green"


def test_invoke_unknown_deployment_is_refused_by_the_sdk(v2_endpoints):
    part = v2_endpoints["invoke_unknown_deployment"]
    err = _error(part)
    assert err["classes"][0] == VALIDATION_EXCEPTION, err
    assert err["message"] == "Deployment name purple not found for this endpoint"
    assert _calls(part) == [("GET", _ep(emu.EP_AAD, "/deployments"), 200)]


def test_deployment_header_leaks_into_later_invoke(v2_endpoints):
    # azure-ai-ml keeps invoke's headers in a class-level dict (EndpointInvokeFields.DEFAULT_HEADER) and
    # never removes azureml-model-deployment: after invoke(ep-aad, deployment_name="green"), a plain
    # invoke(ep-key) still sends "green". ep-key has no such deployment, so scoring answers 404, which
    # invoke raises as ResourceNotFoundError (validate_response, azure/ai/ml/_utils/_endpoint_utils.py).
    part = v2_endpoints["invoke_key_after_green"]
    assert _score_call(part)["deployment"] == "green"
    assert _score_call(part)["status"] == 404
    err = _error(part)
    assert err["classes"][0] == NOT_FOUND_ERROR, err
    assert err["status_code"] == 404
    assert f"Deployment 'green' does not exist in endpoint '{emu.EP_KEY}'" in err["message"]


# --- tokens of one endpoint are not for another --------------------------------------------------


def test_amltoken_of_another_endpoint_is_refused(v2_endpoints, emulator):
    other = _value(v2_endpoints["other_amltoken_keys"])
    assert other["claims"]["endpointName"] == OTHER_AMLTOKEN
    assert v2_endpoints["amltoken_on_own_endpoint"]["status"] == 200
    refused = v2_endpoints["amltoken_on_other_endpoint"]
    assert refused["status"] == 401, refused
    assert refused["www_authenticate"].startswith("Bearer")
    assert isinstance(refused["body"]["message"], str) and refused["body"]["message"]


def test_regenerate_keys_needs_key_mode(v2_endpoints):
    part = v2_endpoints["regenerate_amltoken"]
    err = _error(part)
    assert err["classes"][0] == VALIDATION_EXCEPTION, err
    assert err["message"] == f"Endpoint '{emu.EP_AMLTOKEN}' does not use keys for authentication."
    assert _calls(part) == [("GET", _ep(emu.EP_AMLTOKEN), 200)]


# --- key regeneration ----------------------------------------------------------------------------


def test_begin_regenerate_keys(emulator, reset_world, tmp_path):
    value = _ok(emu.run_scenario(emulator, "v2_regenerate_keys", _params(emulator), home=tmp_path))
    before = value["before"]
    assert (before["primary_key"], before["secondary_key"]) == (emu.EP_KEY_PRIMARY, emu.EP_KEY_SECONDARY)

    # GET endpoint, listKeys, then regenerateKeys carrying the CURRENT primary key as keyValue; the
    # emulator reads that as "make a new one". As Azure (New-AzMLWorkspaceOnlineEndpointKey.Recording.json):
    # 202, body null, Location on mfeOperationResults only; .result() polls it until 200.
    part = value["regen_primary"]
    assert _value(part) is None
    assert _calls(part)[:3] == [
        ("GET", _ep(emu.EP_KEY), 200),
        ("POST", _ep(emu.EP_KEY, "/listKeys"), 200),
        ("POST", _ep(emu.EP_KEY, "/regenerateKeys"), 202),
    ]
    accepted = part["http"][2]
    assert accepted["response"] == "null"
    assert accepted["async_operation"] is None
    _assert_polled_to_done(part, 3, accepted["location"], "/mfeOperationResults/")
    assert json.loads(part["http"][2]["body"]) == {"keyType": "Primary", "keyValue": emu.EP_KEY_PRIMARY}

    after = value["after_primary"]
    assert after["primary_key"] not in (emu.EP_KEY_PRIMARY, emu.EP_KEY_SECONDARY)
    assert after["secondary_key"] == emu.EP_KEY_SECONDARY

    old = value["old_primary_scoring"]
    assert old["status"] == 401, old
    assert old["www_authenticate"].startswith("Bearer")
    assert value["new_primary_scoring"]["status"] == 200
    assert value["new_primary_scoring"]["body"] == INPUT
    assert value["secondary_scoring"]["status"] == 200

    # invoke fetches the keys on every call: it uses the new primary.
    invoke = value["invoke_after"]
    assert json.loads(_value(invoke)) == INPUT
    assert _score_call(invoke)["bearer"] == after["primary_key"]

    part = value["regen_secondary"]
    assert _value(part) is None
    assert json.loads(part["http"][2]["body"]) == {"keyType": "Secondary", "keyValue": emu.EP_KEY_SECONDARY}
    again = value["after_secondary"]
    assert again["primary_key"] == after["primary_key"]
    assert again["secondary_key"] not in (emu.EP_KEY_SECONDARY, after["primary_key"])
    assert value["old_secondary_scoring"]["status"] == 401

    err = _error(value["regen_bad_type"])
    assert err["classes"][0] == VALIDATION_EXCEPTION
    assert err["message"] == "Key type must be 'primary' or 'secondary'."


# --- a Reader of the workspace -------------------------------------------------------------------


def test_reader_credentials_and_invoke(emulator, reader_principal, tmp_path):
    value = _ok(emu.run_scenario(emulator, "v2_reader_endpoints", _params(emulator, reader=reader_principal),
                                 home=tmp_path))
    assert _value(value["get"]) == emu.EP_AAD
    oid = reader_principal["objectId"]
    # listKeys and token are actions Reader lacks: ARM 403 AuthorizationFailed, from get_keys and invoke.
    for mode, name, action in (("key", emu.EP_KEY, "listKeys"), ("amltoken", emu.EP_AMLTOKEN, "token")):
        for part in (f"keys_{mode}", f"invoke_{mode}"):
            err = _error(value[part])
            assert err["classes"][0] == HTTP_RESPONSE_ERROR, (part, err)
            assert err["status_code"] == 403
            assert err["error_code"] == "AuthorizationFailed"
            assert err["error_message"].startswith(
                f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
                f"'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/{action}/action' over scope "
                f"'{_endpoint_id(emulator['subscription_id'], name)}'"
            ), err["error_message"]
    # AADToken: the Entra token needs no ARM action, but scoring needs onlineEndpoints/score/action.
    assert _value(value["keys_aad"])["claims"]["oid"] == oid
    err = _error(value["invoke_aad"])
    assert err["classes"][0] == HTTP_RESPONSE_ERROR, err
    assert err["status_code"] == 403
    assert "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action" in err["message"]
    assert _calls(value["invoke_aad"])[-1] == ("POST", f"/online/{emu.EP_AAD}/score", 403)


# --- long-running operations -------------------------------------------------------------------


def test_endpoint_create_and_delete_are_long_running_operations(emulator, reset_world, tmp_path):
    """begin_create_or_update / begin_delete see Azure's answers (New-AzMLWorkspaceOnlineEndpoint.Recording.json):
    PUT 201 Creating with Azure-AsyncOperation (mfeOperationsStatus), polls until Succeeded, then the
    endpoint; DELETE 202 (body null) with both URLs, polls until done. poller.status() goes from
    InProgress to Succeeded."""
    name = "ep-lro-1"
    value = _ok(emu.run_scenario(emulator, "v2_endpoint_long_running", _params(emulator, new_endpoint=name),
                                 home=tmp_path))
    create = value["create"]
    made = _value(create)
    assert made["states"] == ["InProgress", "Succeeded"], made
    assert made["provisioning_state"] == "Succeeded"
    assert made["scoring_uri"] == f"{emulator['url'].rstrip('/')}/online/{name}/score"
    calls = _calls(create)
    put = next(i for i, c in enumerate(calls) if c[0] == "PUT")
    assert calls[put] == ("PUT", _ep(name), 201)
    answer = create["http"][put]
    assert json.loads(answer["response"])["properties"]["provisioningState"] == "Creating"
    assert answer["location"].split("?")[0].endswith(f"/onlineEndpoints/{name}")
    assert answer["retry_after"] is None
    polls = _assert_status_polled(create, put + 1, answer["async_operation"])
    assert json.loads(polls[-1]["response"])["status"] == "Succeeded"
    assert calls[-1] == ("GET", _ep(name), 200), "final state via the original URI"
    assert _value(value["get_after_create"]) == "Succeeded"

    delete = value["delete"]
    gone = _value(delete)
    assert gone["states"] == ["InProgress", "Succeeded"], gone
    calls = _calls(delete)
    assert calls[0] == ("DELETE", _ep(name), 202)
    answer = delete["http"][0]
    assert answer["response"] == "null"
    assert "/mfeOperationResults/" in answer["location"]
    _assert_status_polled(delete, 1, answer["async_operation"])
    err = _error(value["get_after_delete"])
    assert err["classes"][0] == NOT_FOUND_ERROR, err


def _assert_status_polled(part: dict, start: int, url: str) -> list[dict]:
    """From ``start`` on the SDK GETs the mfeOperationsStatus ``url``: always 200, InProgress until the
    last, which says Succeeded."""
    assert "/mfeOperationsStatus/" in url, url
    path = url.split("?")[0].split("://", 1)[1]
    path = path[path.index("/"):]
    polls = [h for h in part["http"][start:] if h["path"] == path]
    states = [json.loads(h["response"])["status"] for h in polls]
    assert polls and all(h["status"] == 200 for h in polls), part["http"]
    assert states[-1] == "Succeeded" and all(s == "InProgress" for s in states[:-1]), states
    return polls
