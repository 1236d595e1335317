"""azureml-core (SDK v1) web services against the emulator's model-management service and scoring.

Microsoft's "Set up authentication for web services" flow with unmodified azureml-core: get an ACI
(key auth) or AKS (token auth) service (``Webservice`` / ``AciWebservice`` / ``AksWebservice``), get
its keys or token, regenerate a key, call ``run()``. Each scenario runs in a fresh interpreter
(``sdk_scenarios.py``) with the ready file's env and a private HOME, and records the HTTP requests
azureml-core makes (``recorded``), so the tests can assert what the SDK sent, not only what it returned.

Read-only calls share one child (module fixture ``v1_services``). Key regeneration, the clock move
and the region outage each get their own child and put the world back afterwards.

Regression guards: the service JSON must not carry ``"imageDetails": null`` (every constructor would
choke on it) and the list answer must not carry ``"nextLink": null`` (``Webservice.list`` would follow
it); the tests below fail with ``KnownEmulatorBug`` if either comes back.
"""

from __future__ import annotations

import pytest

import emulator_support as emu

UNKNOWN_SERVICE = "no-such-service"
INPUT = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}
SET_SECONDARY = "my-own-secondary-key-value-0000000000000000="
WEBSERVICE_EXCEPTION = "azureml.exceptions._azureml_exception.WebserviceException"
ACI_CLASS = "azureml.core.webservice.aci.AciWebservice"
AKS_CLASS = "azureml.core.webservice.aks.AksWebservice"
# Azure ML tokens say iss = aud = "azureml" (the recorded online-endpoint token); v1 service tokens get the
# same shape and the same 24 h / 12 h lifetime, by choice (README: no source shows v1's).
AML_TOKEN_ISSUER = "azureml"
TOKEN_REFRESH_BEFORE_EXPIRY = 43_200  # exp - refreshAfter

IMAGE_DETAILS_NULL = (
    "emulator bug: GET {mms}/services/{name}?expand=true answers \"imageDetails\": null; azureml-core "
    "Webservice._initialize (azureml/core/webservice/webservice.py:302) runs Image.deserialize(ws, "
    "obj_dict['imageDetails']) whenever the key is present and raises TypeError: 'NoneType' object is not "
    "subscriptable (azureml/core/image/image.py:798). The key must be left out (or be an image object)."
)
NEXT_LINK_NULL = (
    "emulator bug: GET {mms}/services answers \"nextLink\": null; azureml-core get_paginated_results "
    "(azureml/_model_management/_util.py:301) loops `while 'nextLink' in payload` and GETs None -> "
    "requests MissingSchema. The last page must omit nextLink. (Each item also has imageDetails: null.)"
)


def _params(emulator, **extra):
    sp = emulator["service_principal"]
    return emu.scenario_params(
        emulator,
        sp={"clientId": sp["clientId"], "clientSecret": sp["clientSecret"]},
        aci=emu.ACI_SERVICE,
        aks=emu.AKS_SERVICE,
        unknown=UNKNOWN_SERVICE,
        input=INPUT,
        **extra,
    )


_ok = emu.scenario_value  # the scenario ran, and never left 127.0.0.1
_value = emu.part_value
_error = emu.part_error

# What the SDK raises on each known emulator bug: a test xfails only on exactly that failure.
TYPE_ERROR_ON_NULL_IMAGE = ("builtins.TypeError", "'NoneType' object is not subscriptable")
MISSING_SCHEMA_ON_NULL_NEXT_LINK = ("requests.exceptions.MissingSchema", "Invalid URL 'None'")


class KnownEmulatorBug(AssertionError):
    """The part failed exactly the way a known emulator bug makes the SDK fail."""


def _value_unless(part: dict, *bugs: tuple[str, str]):
    """``part_value``, but raise KnownEmulatorBug when the part failed with one of the bugs' signatures."""
    err = part.get("error") or {}
    for cls, fragment in bugs:
        if not part["ok"] and err.get("classes", [None])[0] == cls and fragment in err.get("message", ""):
            raise KnownEmulatorBug(f"{cls}: {err['message']}")
    return _value(part)


def _calls(part: dict) -> list[tuple[str, str, int]]:
    return [(h["method"], h["path"], h["status"]) for h in part["http"]]


def _service_id(subscription_id: str, name: str) -> str:
    return f"{emu.workspace_scope(subscription_id)}/services/{name}"


def _scoring_uri(url: str, compute_type: str, name: str) -> str:
    return f"{url}/aci/{name}/score" if compute_type == "ACI" else f"{url}/api/v1/service/{name}/score"


def _assert_aci(svc: dict, url: str):
    assert svc["class"] == ACI_CLASS, svc
    assert svc["name"] == emu.ACI_SERVICE
    assert svc["compute_type"] == "ACI"
    assert svc["auth_enabled"] is True
    assert svc["token_auth_enabled"] is False
    assert svc["scoring_uri"] == _scoring_uri(url, "ACI", emu.ACI_SERVICE)
    assert svc["swagger_uri"] == f"{url}/aci/{emu.ACI_SERVICE}/swagger.json"
    assert svc["state"] == "Healthy"


def _assert_aks(svc: dict, url: str):
    assert svc["class"] == AKS_CLASS, svc
    assert svc["name"] == emu.AKS_SERVICE
    assert svc["compute_type"] == "AKS"
    assert svc["auth_enabled"] is False  # token auth replaces key auth
    assert svc["token_auth_enabled"] is True  # from aadAuthEnabled on the wire
    assert svc["scoring_uri"] == _scoring_uri(url, "AKS", emu.AKS_SERVICE)
    assert svc["swagger_uri"] == f"{url}/api/v1/service/{emu.AKS_SERVICE}/swagger.json"
    assert svc["state"] == "Healthy"


def _assert_service_token_claims(claims: dict, subscription_id: str, tenant_id: str, object_id: str, name: str):
    assert claims["iss"] == claims["aud"] == AML_TOKEN_ISSUER
    assert claims["endpointName"] == name
    assert claims["tid"] == tenant_id
    assert claims["oid"] == object_id
    assert "iat" not in claims and "nbf" not in claims


def _assert_bad_mms_response(err: dict, status: int, *fragments: str):
    assert err["classes"][0] == WEBSERVICE_EXCEPTION, err
    assert "Received bad response from Model Management Service" in err["message"], err["message"]
    assert f"Response Code: {status}" in err["message"], err["message"]
    for fragment in fragments:
        assert fragment in err["message"], (fragment, err["message"])


@pytest.fixture(scope="module")
def v1_services(emulator, admin, tmp_path_factory):
    """One child for the read-only calls, as ml-auth (Contributor) and as a new Reader of the workspace."""
    ws_scope = emu.workspace_scope(emulator["subscription_id"])
    try:
        reader = emu.run_cli(
            emulator, "sp", "create-for-rbac", "--name", "v1-services-reader", "--role", "Reader", "--scopes", ws_scope
        ).json()
        reader_object_id = emu.run_cli(emulator, "sp", "show", "--id", reader["appId"]).json()["id"]
        params = _params(emulator, reader={"clientId": reader["appId"], "clientSecret": reader["password"]})
        result = emu.run_scenario(emulator, "v1_webservice_reads", params, home=tmp_path_factory.mktemp("v1-svc"))
    finally:
        admin.clock(resume=True)
        admin.reset()
    value = _ok(result)
    value["reader_object_id"] = reader_object_id
    return value


# --- getting a service ---------------------------------------------------------------------------


def test_service_get_requests(v1_services, emulator):
    # Discovery (unauthenticated, once per workspace), then the MMS GET with ?expand=true and the
    # v1 ARM token (classic audience): the wire part of Webservice(ws, name), bug or not.
    calls = v1_services["webservice_aci"]["http"]
    assert [(h["method"], h["path"], h["query"], h["status"]) for h in calls] == [
        ("GET", "/discovery", "", 200),
        ("GET", f"{{mms}}/services/{emu.ACI_SERVICE}", "expand=true", 200),
    ]
    assert calls[0]["bearer"] is None
    claims = emu.claims(calls[1]["bearer"])
    assert claims["aud"] == emu.CLASSIC_ARM_AUDIENCE
    assert claims["appid"] == emulator["service_principal"]["clientId"]


def test_service_payloads_build_the_right_classes(v1_services, url):
    # The objects every later test uses (built through the fallback while IMAGE_DETAILS_NULL lasts).
    _assert_aci(v1_services["aci"], url)
    _assert_aks(v1_services["aks"], url)


def test_webservice_picks_class_by_compute_type(v1_services, url):
    _assert_aci(_value_unless(v1_services["webservice_aci"], TYPE_ERROR_ON_NULL_IMAGE), url)
    _assert_aks(_value_unless(v1_services["webservice_aks"], TYPE_ERROR_ON_NULL_IMAGE), url)


def test_aci_and_aks_classes(v1_services, url):
    _assert_aci(_value_unless(v1_services["aci_class"], TYPE_ERROR_ON_NULL_IMAGE), url)
    _assert_aks(_value_unless(v1_services["aks_class"], TYPE_ERROR_ON_NULL_IMAGE), url)


def test_aks_class_on_an_aci_service_gives_aci(v1_services, url):
    # Webservice.__new__ chooses the class from the payload's computeType whatever class was called:
    # AksWebservice(ws, "aci-service-1") returns an AciWebservice and raises nothing (SDK source,
    # webservice.py:173-206; confirmed against the emulator with the null imageDetails removed).
    _assert_aci(_value_unless(v1_services["aks_class_on_aci"], TYPE_ERROR_ON_NULL_IMAGE), url)


def test_unknown_service_is_webservice_not_found(v1_services):
    for part in ("unknown", "unknown_aks_class"):
        err = _error(v1_services[part])
        assert err["classes"][0] == WEBSERVICE_EXCEPTION, (part, err)
        assert (
            f"WebserviceNotFound: Webservice with name {UNKNOWN_SERVICE} not found in provided workspace"
            in err["message"]
        ), err["message"]
    assert _calls(v1_services["unknown"]) == [("GET", f"{{mms}}/services/{UNKNOWN_SERVICE}", 404)]


def test_webservice_list(v1_services):
    # Once nextLink is fixed, the null imageDetails of each item is the next failure: either is known.
    bugs = (MISSING_SCHEMA_ON_NULL_NEXT_LINK, TYPE_ERROR_ON_NULL_IMAGE)
    expected = sorted([f"{ACI_CLASS}:{emu.ACI_SERVICE}", f"{AKS_CLASS}:{emu.AKS_SERVICE}"])
    assert _value_unless(v1_services["list"], *bugs) == expected
    assert _value_unless(v1_services["list_aks"], *bugs) == [emu.AKS_SERVICE]


def test_webservice_list_request(v1_services):
    (first, *_) = v1_services["list"]["http"]
    assert (first["method"], first["path"], first["query"], first["status"]) == (
        "GET",
        "{mms}/services",
        "expand=true",
        200,
    )


# --- ACI: keys -----------------------------------------------------------------------------------


def test_aci_get_keys(v1_services):
    part = v1_services["aci_keys"]
    assert _value(part) == [emu.ACI_PRIMARY_KEY, emu.ACI_SECONDARY_KEY]
    assert _calls(part) == [("POST", f"{{mms}}/services/{emu.ACI_SERVICE}/listkeys", 200)]


def test_aci_run_lists_keys_then_scores_with_primary(v1_services):
    part = v1_services["aci_run"]
    assert _value(part) == INPUT  # echo scoring
    assert _calls(part) == [
        ("POST", f"{{mms}}/services/{emu.ACI_SERVICE}/listkeys", 200),
        ("POST", f"/aci/{emu.ACI_SERVICE}/score", 200),
    ]
    assert part["http"][1]["bearer"] == emu.ACI_PRIMARY_KEY


def test_aci_get_token_is_not_implemented(v1_services):
    # Raised by the SDK itself (builtins.NotImplementedError, not an azureml exception), no request.
    err = _error(v1_services["aci_get_token"])
    assert err["classes"][0] == "builtins.NotImplementedError", err
    assert err["message"] == "ACI webservices do not support Token Authentication."
    assert v1_services["aci_get_token"]["http"] == []


# --- AKS: token auth -----------------------------------------------------------------------------


def test_aks_get_token(v1_services, emulator, default_app):
    tok = _value(v1_services["aks_token"])
    assert tok["warnings"] == [
        "DeprecationWarning: get_token() method has been deprecated and will be removed in a future release. "
        "Please migrate to get_access_token() method."
    ]
    assert tok["refresh_by_type"] == "datetime"
    claims = tok["claims"]
    _assert_service_token_claims(
        claims, emulator["subscription_id"], emulator["tenant_id"], default_app["object_id"], emu.AKS_SERVICE
    )
    # refresh_by (refreshAfter) comes before the token's expiry; expiryOn is the token's exp.
    assert abs(claims["exp"] - tok["refresh_by"] - TOKEN_REFRESH_BEFORE_EXPIRY) <= 1
    # get_token() and get_access_token() each fetch a token: a second may pass between the two.
    assert 0 <= tok["access_refresh_after"] - tok["refresh_by"] <= 1
    assert tok["access_expiry_on"] == tok["access_token_claims"]["exp"]
    assert tok["access_token_type"] == "Bearer"
    # get_access_token() deserializes through the base class: not an AksServiceAccessToken.
    assert tok["access_token_class"] == "azureml.core.webservice.webservice.WebServiceAccessToken"
    assert _calls(v1_services["aks_token"]) == [("POST", f"{{mms}}/services/{emu.AKS_SERVICE}/token", 200)] * 2


def test_aks_token_opens_only_its_service(v1_services):
    assert v1_services["aks_token_scoring"]["status"] == 200
    assert v1_services["aks_token_scoring"]["body"] == emu.AKS_STATIC_BODY
    refused = v1_services["aks_token_on_aci"]
    assert refused["status"] == 401, refused
    assert refused["www_authenticate"].startswith("Bearer")


def test_aks_run_fetches_token_then_scores(v1_services):
    part = v1_services["aks_run"]
    assert _value(part) == emu.AKS_STATIC_BODY
    assert _calls(part) == [
        ("POST", f"{{mms}}/services/{emu.AKS_SERVICE}/token", 200),
        ("POST", f"/api/v1/service/{emu.AKS_SERVICE}/score", 200),
    ]
    assert emu.claims(part["http"][1]["bearer"])["iss"] == AML_TOKEN_ISSUER


# --- a Reader of the workspace -------------------------------------------------------------------


def test_reader_reads_service_and_gets_token(v1_services, emulator, url):
    _assert_aks(_value(v1_services["reader_aks"]), url)
    _assert_service_token_claims(
        _value(v1_services["reader_aks_token"]),
        emulator["subscription_id"],
        emulator["tenant_id"],
        v1_services["reader_object_id"],
        emu.AKS_SERVICE,
    )
    assert _value(v1_services["reader_aks_run"]) == emu.AKS_STATIC_BODY


def test_reader_cannot_list_keys(v1_services, emulator):
    scope = _service_id(emulator["subscription_id"], emu.ACI_SERVICE)
    action = "Microsoft.MachineLearningServices/workspaces/services/aci/listkeys/action"
    # get_keys() raises on the 403; run() calls listkeys first, so it fails the same way.
    for part in ("reader_aci_keys", "reader_aci_run"):
        _assert_bad_mms_response(
            _error(v1_services[part]),
            403,
            "AuthorizationFailed",
            f"does not have authorization to perform action \\'{action}\\' over scope \\'{scope}\\'",
        )
    assert _calls(v1_services["reader_aci_keys"]) == [("POST", f"{{mms}}/services/{emu.ACI_SERVICE}/listkeys", 403)]


# --- key regeneration ----------------------------------------------------------------------------


def test_regen_primary_key(emulator, reset_world, tmp_path):
    value = _ok(
        emu.run_scenario(emulator, "v1_regen_key", _params(emulator, set_secondary=SET_SECONDARY), home=tmp_path)
    )
    assert value["class"] == ACI_CLASS
    assert value["old_keys"] == [emu.ACI_PRIMARY_KEY, emu.ACI_SECONDARY_KEY]
    assert value["old_primary_before"]["status"] == 200

    # regen_key('Primary'): POST regenerateKeys {"keyType": "Primary", "keyValue": null} -> 202 with
    # Operation-Location; the SDK sleeps 5 s, then one GET of the operation is enough (Succeeded).
    part = value["regen_primary"]
    assert _value(part) is None
    calls = _calls(part)
    assert calls[0] == ("POST", f"{{mms}}/services/{emu.ACI_SERVICE}/regenerateKeys", 202)
    assert part["http"][0]["body"] == '{"keyType": "Primary", "keyValue": null}'
    assert len(calls) == 2 and calls[1][0] == "GET" and calls[1][1].startswith("{mms}/operations/"), calls
    assert calls[1][2] == 200
    assert value["regen_seconds"] >= 5

    new_primary, new_secondary = value["new_keys"]
    assert new_primary not in (emu.ACI_PRIMARY_KEY, emu.ACI_SECONDARY_KEY)
    assert new_secondary == emu.ACI_SECONDARY_KEY

    # The regenerated-away primary is refused; the new primary and the untouched secondary work.
    old = value["old_primary_after"]
    assert old["status"] == 401, old
    assert old["www_authenticate"].startswith("Bearer")
    assert isinstance(old["body"]["message"], str) and old["body"]["message"]
    assert value["new_primary_after"]["status"] == 200
    assert value["secondary_after"]["status"] == 200
    assert value["secondary_after"]["body"] == INPUT

    # run() lists the keys again before scoring, so it uses the new primary (no 401, no retry).
    run = value["run_after"]
    assert _value(run) == INPUT
    assert _calls(run) == [
        ("POST", f"{{mms}}/services/{emu.ACI_SERVICE}/listkeys", 200),
        ("POST", f"/aci/{emu.ACI_SERVICE}/score", 200),
    ]
    assert run["http"][1]["bearer"] == new_primary

    # Only Primary/Secondary, checked client-side (no request).
    err = _error(value["regen_invalid_type"])
    assert err["classes"][0] == WEBSERVICE_EXCEPTION
    assert "Error, invalid value provided for key: Tertiary." in err["message"]
    assert value["regen_invalid_type"]["http"] == []

    # regen_key('secondary', set_key=V) sends keyType "Secondary" and the value, which becomes the key.
    part = value["regen_secondary_set"]
    assert _value(part) is None
    assert part["http"][0]["body"] == f'{{"keyType": "Secondary", "keyValue": "{SET_SECONDARY}"}}'
    assert value["keys_after_set"] == [new_primary, SET_SECONDARY]
    assert value["set_secondary_scoring"]["status"] == 200
    assert value["old_secondary_after_set"]["status"] == 401


# --- an AKS token past its expiry ----------------------------------------------------------------


def test_aks_token_expiry_and_run(emulator, default_app, restore_clock, tmp_path):
    # Azure ML tokens live 24 h: move the clock 25 h on.
    params = _params(emulator, advance_seconds=90_000)
    value = _ok(emu.run_scenario(emulator, "v1_aks_token_expiry", params, home=tmp_path))
    claims = value["claims"]
    assert abs(claims["exp"] - value["refresh_by"] - TOKEN_REFRESH_BEFORE_EXPIRY) <= 1
    assert value["before"]["status"] == 200
    assert value["clock"]["offset_seconds"] >= 90_000

    # The old service token, 25 h on: refused.
    old = value["old_token_after"]
    assert old["status"] == 401, old
    assert old["www_authenticate"].startswith("Bearer")
    assert "expired" in old["body"]["message"], old

    # run() never sends the old token: every call first POSTs /token (Webservice._webservice_session),
    # so the retry-on-401 branch is not reached. With the same Workspace, the ARM token azureml-core
    # cached is expired on the emulator clock too: MMS answers 401 ExpiredAuthenticationToken, and
    # since the SDK does not check that status, it fails on the body ("missing accessToken") before scoring.
    same = value["run_same_workspace"]
    err = _error(same)
    assert err["classes"][0] == WEBSERVICE_EXCEPTION, err
    assert "Invalid webservice payload, missing accessToken for WebServiceAccessToken" in err["message"]
    assert "ExpiredAuthenticationToken" in err["message"]
    assert _calls(same) == [("POST", f"{{mms}}/services/{emu.AKS_SERVICE}/token", 401)]

    # A new Workspace object (new ARM token): one /token, then scoring with the new service token.
    fresh = value["run_fresh_workspace"]
    assert _value(fresh) == emu.AKS_STATIC_BODY
    assert _calls(fresh) == [
        ("POST", f"{{mms}}/services/{emu.AKS_SERVICE}/token", 200),
        ("POST", f"/api/v1/service/{emu.AKS_SERVICE}/score", 200),
    ]
    new_claims = emu.claims(fresh["http"][1]["bearer"])
    assert new_claims["exp"] >= claims["exp"] + 3600  # issued on the moved clock, 24 h from then
    assert new_claims["oid"] == default_app["object_id"]


# --- region outage -------------------------------------------------------------------------------


def test_region_outage_stops_tokens_not_keys(emulator, region_outage, tmp_path):
    # MMS answers 503 while the region is down. azureml-core retries 503 three times (ClientBase,
    # back-off AZUREML_DEFAULT_503_BACKOFF seconds, default random 2-10; set to 0 here to keep the
    # test fast), then parses the error body as a token: WebserviceException "missing accessToken".
    value = _ok(
        emu.run_scenario(
            emulator,
            "v1_region_outage",
            _params(emulator, region=emu.WORKSPACE_REGION),
            home=tmp_path,
            env={"AZUREML_DEFAULT_503_BACKOFF": "0"},
        )
    )
    assert value["outage_on"]["available"] is False
    token_call = ("POST", f"{{mms}}/services/{emu.AKS_SERVICE}/token", 503)
    for part in ("aks_get_token", "aks_run"):
        err = _error(value[part])
        assert err["classes"][0] == WEBSERVICE_EXCEPTION, (part, err)
        assert "Invalid webservice payload, missing accessToken for WebServiceAccessToken" in err["message"]
        assert "'code': 'ServiceUnavailable'" in err["message"], err["message"]
        assert f"region '{emu.WORKSPACE_REGION}' is unavailable" in err["message"]
        assert _calls(value[part]) == [token_call] * 4, part  # 1 + 3 retries, never scored

    # Reading the service and key auth are not affected.
    assert _value(value["aks_get"])["name"] == emu.AKS_SERVICE
    assert _value(value["aci_keys"]) == [emu.ACI_PRIMARY_KEY, emu.ACI_SECONDARY_KEY]
    assert _value(value["aci_run"]) == INPUT

    # Back up: tokens again.
    assert value["outage_off"]["available"] is True
    assert _value(value["aks_get_token_after"])["iss"] == AML_TOKEN_ISSUER
    assert _value(value["aks_run_after"]) == emu.AKS_STATIC_BODY
