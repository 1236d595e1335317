"""Scoring with plain ``requests``: every way the Authorization header can be wrong, and what works.

The scoring routes share the emulator's origin: AKS ``/api/v1/service/{name}/score``, ACI
``/aci/{name}/score``, online endpoints ``/online/{name}/score``. A caller sends ``Bearer <key>``
(key auth), ``Bearer <Azure ML token>`` (AKS token auth, AMLToken endpoints) or ``Bearer <Entra token
for https://ml.azure.com>`` (AADToken endpoints). Refusals are ``401 {"message": ...}`` with
``WWW-Authenticate: Bearer``; an AADToken caller without the score action gets 403; an
``azureml-model-deployment`` header naming an unknown deployment gets 404. Keys and tokens are fetched
the way the SDKs do (model-management ``listkeys``/``token``, ARM ``listKeys``/``token``/``regenerateKeys``),
as plain HTTP with ml-auth's tokens.
"""

from __future__ import annotations

import pytest
import requests

import emulator_support as emu

INPUT = {"data": [[0.1, 0.2, 0.3]]}
AML_TOKEN_ISSUER = "azureml"  # iss = aud = "azureml", as Azure ML tokens say
OTHER_AKS = "aks-service-2"
OTHER_AMLTOKEN = "ep-amltoken-2"

TARGETS = {
    "aci": f"/aci/{emu.ACI_SERVICE}/score",
    "aks": f"/api/v1/service/{emu.AKS_SERVICE}/score",
    "ep-key": f"/online/{emu.EP_KEY}/score",
    "ep-amltoken": f"/online/{emu.EP_AMLTOKEN}/score",
    "ep-aad": f"/online/{emu.EP_AAD}/score",
}


class Scoring:
    """Plain-HTTP helpers bound to the session's emulator (ml-auth's credentials by default)."""

    def __init__(self, ready, admin):
        self.url = ready["url"].rstrip("/")
        self.verify = ready["ca_bundle"]
        self.tenant_id = ready["tenant_id"]
        self.subscription_id = ready["subscription_id"]
        self.sp = ready["service_principal"]
        self.admin = admin

    def score(self, target: str, bearer: str | None = None, **kw) -> dict:
        path = TARGETS.get(target, target)
        return emu.score(self.url + path, verify=self.verify, bearer=bearer, body=kw.pop("body", INPUT), **kw)

    def entra_token(self, scope: str, client_id: str | None = None, secret: str | None = None) -> str:
        return self.admin.client_token(
            self.tenant_id, client_id or self.sp["clientId"], secret or self.sp["clientSecret"], scope
        )

    # model-management (SDK v1 web services), called with the classic ARM audience as azureml-core does
    def mms(self, method: str, path: str, **kw) -> requests.Response:
        token = self.entra_token(emu.CLASSIC_ARM_SCOPE)
        return requests.request(
            method,
            emu.mms_base(self.url, self.subscription_id) + path,
            headers={"Authorization": f"Bearer {token}"},
            verify=self.verify,
            timeout=30,
            **kw,
        )

    def service_token(self, name: str) -> str:
        resp = self.mms("POST", f"/services/{name}/token")
        assert resp.status_code == 200, resp.text
        return resp.json()["accessToken"]

    def service_keys(self, name: str) -> tuple[str, str]:
        resp = self.mms("POST", f"/services/{name}/listkeys")
        assert resp.status_code == 200, resp.text
        return resp.json()["primaryKey"], resp.json()["secondaryKey"]

    # ARM online endpoints (SDK v2)
    def endpoint(self, method: str, name: str, suffix: str = "", **kw) -> requests.Response:
        token = self.entra_token(emu.ARM_SCOPE)
        path = f"{emu.workspace_scope(self.subscription_id)}/onlineEndpoints/{name}{suffix}"
        return self.admin.arm(method, path, token, emu.ONLINE_ENDPOINTS_API_VERSION, **kw)

    def endpoint_token(self, name: str) -> str:
        resp = self.endpoint("POST", name, "/token")
        assert resp.status_code == 200, resp.text
        return resp.json()["accessToken"]

    def endpoint_keys(self, name: str) -> tuple[str, str]:
        resp = self.endpoint("POST", name, "/listKeys")
        assert resp.status_code == 200, resp.text
        return resp.json()["primaryKey"], resp.json()["secondaryKey"]


@pytest.fixture
def scoring(emulator, admin):
    return Scoring(emulator, admin)


def _refused(resp: dict, *fragments: str) -> str:
    """A 401 with WWW-Authenticate: Bearer and a {"message": ...} body; returns the message."""
    assert resp["status"] == 401, resp
    assert (resp["www_authenticate"] or "").startswith("Bearer"), resp
    assert isinstance(resp["body"], dict) and list(resp["body"]) == ["message"], resp
    message = resp["body"]["message"]
    assert isinstance(message, str) and message, resp
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def _accepted(resp: dict, body=None) -> None:
    assert resp["status"] == 200, resp
    assert resp["body"] == (INPUT if body is None else body), resp


# --- 401: the header is missing or not Bearer ----------------------------------------------------


@pytest.mark.parametrize("target", list(TARGETS))
def test_missing_authorization_header(scoring, target):
    _refused(scoring.score(target), "No usable Authorization header")


@pytest.mark.parametrize("header", [emu.EP_KEY_PRIMARY, f"Basic {emu.EP_KEY_PRIMARY}"], ids=["bare-key", "basic"])
def test_authorization_without_bearer_scheme(scoring, header):
    _refused(scoring.score("ep-key", headers={"Authorization": header}))


# --- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, key",
    [
        ("aci", emu.ACI_PRIMARY_KEY),
        ("aci", emu.ACI_SECONDARY_KEY),
        ("ep-key", emu.EP_KEY_PRIMARY),
        ("ep-key", emu.EP_KEY_SECONDARY),
    ],
    ids=["aci-primary", "aci-secondary", "ep-key-primary", "ep-key-secondary"],
)
def test_both_keys_open_key_services(scoring, target, key):
    _accepted(scoring.score(target, key))


@pytest.mark.parametrize("target", ["aci", "ep-key"])
def test_wrong_key(scoring, target):
    _refused(scoring.score(target, "not-the-key-000000000000000000000000000000="), "not valid")


@pytest.mark.parametrize(
    "target, key",
    [
        ("aci", emu.EP_KEY_PRIMARY),
        ("ep-key", emu.ACI_PRIMARY_KEY),
        ("ep-amltoken", emu.EP_KEY_PRIMARY),
        ("ep-aad", emu.EP_KEY_PRIMARY),
        ("aks", emu.ACI_PRIMARY_KEY),
    ],
)
def test_key_of_another_service_or_mode(scoring, target, key):
    _refused(scoring.score(target, key))


def test_keys_do_not_open_a_token_auth_service(scoring):
    # aks-service-1 has key auth off (token auth replaces it): whatever listkeys gives does not score.
    primary, secondary = scoring.service_keys(emu.AKS_SERVICE)
    _refused(scoring.score("aks", primary))
    _refused(scoring.score("aks", secondary))


def test_regenerated_away_service_key(scoring, reset_world):
    # POST regenerateKeys as azureml-core's regen_key sends it: 202 + Operation-Location, then the operation.
    body = {"keyType": "Primary", "keyValue": None}
    resp = scoring.mms("POST", f"/services/{emu.ACI_SERVICE}/regenerateKeys", json=body)
    assert resp.status_code == 202, resp.text
    location = resp.headers["Operation-Location"]
    op_prefix = emu.mms_base(scoring.url, scoring.subscription_id) + "/operations/"
    assert location.startswith(op_prefix), location
    op = scoring.mms("GET", "/operations/" + location.rsplit("/", 1)[1])
    assert op.status_code == 200, op.text
    assert op.json()["state"] == "Succeeded"

    primary, secondary = scoring.service_keys(emu.ACI_SERVICE)
    assert primary != emu.ACI_PRIMARY_KEY and secondary == emu.ACI_SECONDARY_KEY
    _refused(scoring.score("aci", emu.ACI_PRIMARY_KEY), "not valid")
    _accepted(scoring.score("aci", primary))
    _accepted(scoring.score("aci", emu.ACI_SECONDARY_KEY))


def test_regenerated_away_endpoint_key(scoring, reset_world):
    def regenerate(body: dict) -> tuple[str, str]:
        resp = scoring.endpoint("POST", emu.EP_KEY, "/regenerateKeys", json=body)
        # Azure's long-running answer (New-AzMLWorkspaceOnlineEndpointKey.Recording.json): 202, body
        # null, Location on mfeOperationResults; the key is already replaced.
        assert resp.status_code == 202, resp.text
        assert resp.content == b"null"
        assert "/mfeOperationResults/" in resp.headers["Location"]
        return scoring.endpoint_keys(emu.EP_KEY)

    # keyValue equal to the current key (what azure-ai-ml sends): a new random key.
    primary, secondary = regenerate({"keyType": "Primary", "keyValue": emu.EP_KEY_PRIMARY})
    assert primary != emu.EP_KEY_PRIMARY and secondary == emu.EP_KEY_SECONDARY
    _refused(scoring.score("ep-key", emu.EP_KEY_PRIMARY), "not valid")
    _accepted(scoring.score("ep-key", primary))
    _accepted(scoring.score("ep-key", emu.EP_KEY_SECONDARY))

    # Another keyValue: the key is set to it.
    custom = "my-own-primary-key-000000000000000000000000="
    assert regenerate({"keyType": "Primary", "keyValue": custom}) == (custom, emu.EP_KEY_SECONDARY)
    _refused(scoring.score("ep-key", primary))
    _accepted(scoring.score("ep-key", custom))

    # null or absent keyValue: a new random key.
    null_primary, _ = regenerate({"keyType": "Primary", "keyValue": None})
    assert null_primary not in (custom, primary, emu.EP_KEY_PRIMARY)
    _, new_secondary = regenerate({"keyType": "Secondary"})
    assert new_secondary != emu.EP_KEY_SECONDARY
    _refused(scoring.score("ep-key", emu.EP_KEY_SECONDARY))
    _accepted(scoring.score("ep-key", new_secondary))


# --- Azure ML tokens -----------------------------------------------------------------------------


def test_service_and_endpoint_tokens_open_their_own_target(scoring):
    _accepted(scoring.score("aks", scoring.service_token(emu.AKS_SERVICE)), emu.AKS_STATIC_BODY)
    _accepted(scoring.score("ep-amltoken", scoring.endpoint_token(emu.EP_AMLTOKEN)))


def test_expired_tokens(scoring, restore_clock):
    aks_token = scoring.service_token(emu.AKS_SERVICE)
    ep_token = scoring.endpoint_token(emu.EP_AMLTOKEN)
    entra = scoring.entra_token(emu.AML_SCOPE)
    _accepted(scoring.score("aks", aks_token), emu.AKS_STATIC_BODY)
    _accepted(scoring.score("ep-amltoken", ep_token))
    _accepted(scoring.score("ep-aad", entra))

    # Azure ML tokens live 24 h (Entra tokens about 1 h): 24 h 10 min on, all three are expired.
    restore_clock.clock(advance_seconds=86_400 + 600)
    _refused(scoring.score("aks", aks_token), "expired")
    _refused(scoring.score("ep-amltoken", ep_token), "expired")
    _refused(scoring.score("ep-aad", entra))

    # New tokens, issued on the moved clock, work.
    _accepted(scoring.score("aks", scoring.service_token(emu.AKS_SERVICE)), emu.AKS_STATIC_BODY)
    _accepted(scoring.score("ep-amltoken", scoring.endpoint_token(emu.EP_AMLTOKEN)))
    _accepted(scoring.score("ep-aad", scoring.entra_token(emu.AML_SCOPE)))


def test_token_for_another_service(scoring, reset_world):
    spec = {"name": OTHER_AKS, "computeType": "AKS", "authEnabled": False, "aadAuthEnabled": True}
    created = scoring.mms("POST", "/services", json=spec)
    assert created.status_code == 202, created.text
    assert "Operation-Location" in created.headers
    put = scoring.endpoint(
        "PUT", OTHER_AMLTOKEN, json={"location": emu.WORKSPACE_REGION, "properties": {"authMode": "AMLToken"}}
    )
    assert put.status_code in (200, 201), put.text

    aks_token = scoring.service_token(emu.AKS_SERVICE)
    other_aks_token = scoring.service_token(OTHER_AKS)
    ep_token = scoring.endpoint_token(emu.EP_AMLTOKEN)
    other_ep_token = scoring.endpoint_token(OTHER_AMLTOKEN)
    other_aks = f"/api/v1/service/{OTHER_AKS}/score"
    other_ep = f"/online/{OTHER_AMLTOKEN}/score"

    assert scoring.score(other_aks, other_aks_token)["status"] == 200
    assert scoring.score(other_ep, other_ep_token)["status"] == 200
    # Same kind, other target: the token names its service/endpoint (aud) and is refused elsewhere.
    _refused(scoring.score(other_aks, aks_token), "another service or endpoint")
    _refused(scoring.score("aks", other_aks_token), "another service or endpoint")
    _refused(scoring.score(other_ep, ep_token), "another service or endpoint")
    _refused(scoring.score("ep-amltoken", other_ep_token), "another service or endpoint")
    # Across kinds.
    _refused(scoring.score("ep-amltoken", aks_token))
    _refused(scoring.score("aks", ep_token))
    _refused(scoring.score("aci", aks_token))
    _refused(scoring.score("ep-key", ep_token))
    _refused(scoring.score("ep-aad", ep_token))


# --- Entra tokens (AADToken endpoints) -----------------------------------------------------------


def test_entra_token_opens_aad_endpoint(scoring):
    _accepted(scoring.score("ep-aad", scoring.entra_token(emu.AML_SCOPE)))


@pytest.mark.parametrize("scope", [emu.ARM_SCOPE, emu.CLASSIC_ARM_SCOPE], ids=["arm", "classic-arm"])
def test_entra_token_with_wrong_audience(scoring, scope):
    _refused(scoring.score("ep-aad", scoring.entra_token(scope)), "https://ml.azure.com")


@pytest.mark.parametrize("target", ["aci", "aks", "ep-key", "ep-amltoken"])
def test_entra_token_on_key_and_aml_token_targets(scoring, target):
    _refused(scoring.score(target, scoring.entra_token(emu.AML_SCOPE)))


def test_aad_caller_without_score_action_is_forbidden(scoring, reader_principal):
    # Reader of the workspace: a valid Entra token for https://ml.azure.com, but Reader lacks
    # Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action.
    token = scoring.entra_token(emu.AML_SCOPE, reader_principal["appId"], reader_principal["password"])
    assert emu.claims(token)["oid"] == reader_principal["objectId"]
    resp = scoring.score("ep-aad", token)
    assert resp["status"] == 403, resp
    message = resp["body"]["message"]
    assert reader_principal["objectId"] in message
    assert "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action" in message
    assert f"{emu.workspace_scope(scoring.subscription_id)}/onlineEndpoints/{emu.EP_AAD}" in message


# --- deployments ---------------------------------------------------------------------------------


def _endpoint_credential(scoring, target):
    if target == "ep-key":
        return emu.EP_KEY_PRIMARY
    if target == "ep-amltoken":
        return scoring.endpoint_token(emu.EP_AMLTOKEN)
    return scoring.entra_token(emu.AML_SCOPE)


@pytest.mark.parametrize(
    "target, deployment",
    [("ep-key", "blue"), ("ep-amltoken", "blue"), ("ep-aad", "blue"), ("ep-aad", "green")],
)
def test_known_deployment_header(scoring, target, deployment):
    bearer = _endpoint_credential(scoring, target)
    _accepted(scoring.score(target, bearer, headers={"azureml-model-deployment": deployment}))


@pytest.mark.parametrize("target, deployment", [("ep-key", "green"), ("ep-amltoken", "purple"), ("ep-aad", "purple")])
def test_unknown_deployment_header(scoring, target, deployment):
    bearer = _endpoint_credential(scoring, target)
    resp = scoring.score(target, bearer, headers={"azureml-model-deployment": deployment})
    assert resp["status"] == 404, resp
    assert resp["body"] == {"message": f"Deployment '{deployment}' does not exist in endpoint '{target}'."}


# --- other routes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, name",
    [
        (f"/api/v1/service/{emu.AKS_SERVICE}/swagger.json", emu.AKS_SERVICE),
        (f"/aci/{emu.ACI_SERVICE}/swagger.json", emu.ACI_SERVICE),
    ],
)
def test_swagger_json(scoring, path, name):
    resp = requests.get(scoring.url + path, verify=scoring.verify, timeout=30)
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["swagger"] == "2.0"
    assert doc["info"]["title"] == name
    assert "/score" in doc["paths"]


@pytest.mark.parametrize("path", ["/aci/nope/score", "/api/v1/service/nope/score", "/online/nope/score"])
def test_unknown_scoring_target(scoring, path):
    resp = scoring.score(path, emu.ACI_PRIMARY_KEY)
    assert resp["status"] == 404, resp
    assert "nope" in resp["body"]["message"]


# --- model-management errors and the region outage -----------------------------------------------


def _mms_error(resp: requests.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"code", "statusCode", "message", "details"}, body
    assert (body["code"], body["statusCode"]) == (code, status), body
    return body["message"]


def test_model_management_errors(scoring, reset_world):
    message = _mms_error(scoring.mms("GET", "/services/nope", params={"expand": "true"}), 404, "NotFound")
    assert "nope" in message
    _mms_error(scoring.mms("POST", "/services/nope/listkeys"), 404, "NotFound")
    _mms_error(scoring.mms("POST", "/services/nope/token"), 404, "NotFound")
    # Token auth only on AKS, and never together with key auth.
    _mms_error(scoring.mms("POST", f"/services/{emu.ACI_SERVICE}/token"), 400, "BadArgument")
    both = {"name": "aks-both", "computeType": "AKS", "authEnabled": True, "aadAuthEnabled": True}
    _mms_error(scoring.mms("POST", "/services", json=both), 400, "BadArgument")
    aci_token = {"name": "aci-token", "computeType": "ACI", "aadAuthEnabled": True}
    _mms_error(scoring.mms("POST", "/services", json=aci_token), 400, "BadArgument")
    # Nothing was created by the refused requests.
    listed = scoring.mms("GET", "/services")
    assert listed.status_code == 200, listed.text
    assert sorted(s["name"] for s in listed.json()["value"]) == [emu.ACI_SERVICE, emu.AKS_SERVICE]
    aks_only = scoring.mms("GET", "/services", params={"computeType": "AKS"})
    assert [s["name"] for s in aks_only.json()["value"]] == [emu.AKS_SERVICE]


def test_region_outage_stops_token_issuance_not_keys(scoring, region_outage):
    entra = scoring.entra_token(emu.AML_SCOPE)
    state = region_outage.outage(emu.WORKSPACE_REGION, True)
    assert state == {"available": False, "region": emu.WORKSPACE_REGION, "unavailable_regions": [emu.WORKSPACE_REGION]}

    message = _mms_error(scoring.mms("POST", f"/services/{emu.AKS_SERVICE}/token"), 503, "ServiceUnavailable")
    assert emu.WORKSPACE_REGION in message
    arm = scoring.endpoint("POST", emu.EP_AMLTOKEN, "/token")
    assert arm.status_code == 503, arm.text
    assert arm.json()["error"]["code"] == "ServiceUnavailable"

    # Keys keep working: listing them and scoring with them.
    assert scoring.service_keys(emu.ACI_SERVICE) == (emu.ACI_PRIMARY_KEY, emu.ACI_SECONDARY_KEY)
    _accepted(scoring.score("aci", emu.ACI_PRIMARY_KEY))
    assert scoring.endpoint_keys(emu.EP_KEY) == (emu.EP_KEY_PRIMARY, emu.EP_KEY_SECONDARY)
    _accepted(scoring.score("ep-key", emu.EP_KEY_PRIMARY))
    # Entra itself is not the region's service: AADToken scoring still works.
    _accepted(scoring.score("ep-aad", entra))

    state = region_outage.outage(emu.WORKSPACE_REGION, False)
    assert state == {"available": True, "region": emu.WORKSPACE_REGION, "unavailable_regions": []}
    _accepted(scoring.score("aks", scoring.service_token(emu.AKS_SERVICE)), emu.AKS_STATIC_BODY)
