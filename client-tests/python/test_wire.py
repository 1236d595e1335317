"""Raw HTTP checks of the AAD endpoints the SDKs depend on (discovery, token shapes, JWKS, errors).

These pin down the response fields the SDK tests rely on, so that an SDK failure can be told
apart from a wire-format change.
"""

from __future__ import annotations

import time

import pytest
import requests

import emulator_support as emu


def _get(emulator, path: str) -> requests.Response:
    return requests.get(emulator["url"].rstrip("/") + path, verify=emulator["ca_bundle"], timeout=30)


def _post(emulator, path: str, data: dict) -> requests.Response:
    return requests.post(emulator["url"].rstrip("/") + path, data=data, verify=emulator["ca_bundle"], timeout=30)


def _tenants(emulator):
    return {
        "guid": emulator["tenant_id"],
        "domain": emulator["tenant_domain"],
        "common": "common",
        "organizations": "organizations",
    }


TENANT_KINDS = ["guid", "domain", "common", "organizations"]
PREFIXES = ["", "/adfs"]


def test_health(emulator):
    assert _get(emulator, "/_emulator/health").status_code == 200


@pytest.mark.parametrize("prefix", PREFIXES, ids=["root", "adfs"])
@pytest.mark.parametrize("kind", TENANT_KINDS)
@pytest.mark.parametrize("version", ["v2.0", "v1"])
def test_openid_configuration(emulator, prefix, kind, version):
    tenant = _tenants(emulator)[kind]
    version_part = "/v2.0" if version == "v2.0" else ""
    resp = _get(emulator, f"{prefix}/{tenant}{version_part}/.well-known/openid-configuration")
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    # msal-python needs authorization_endpoint + token_endpoint; msal-node also issuer + jwks_uri.
    for key in ("authorization_endpoint", "token_endpoint", "issuer", "jwks_uri"):
        assert doc.get(key), (key, doc)
    base = emulator["url"].rstrip("/")
    assert doc["token_endpoint"].startswith(base + "/"), doc["token_endpoint"]
    assert doc["jwks_uri"].startswith(base + "/"), doc["jwks_uri"]
    jwks = requests.get(doc["jwks_uri"], verify=emulator["ca_bundle"], timeout=30)
    assert jwks.status_code == 200, (doc["jwks_uri"], jwks.text)
    assert jwks.json()["keys"]
    if version == "v2.0":
        assert doc["token_endpoint"].endswith("/oauth2/v2.0/token"), doc["token_endpoint"]
    elif prefix == "":
        assert doc["token_endpoint"].endswith("/oauth2/token"), doc["token_endpoint"]
    else:
        # /adfs/{tenant}/.well-known/openid-configuration is what msal (is_adfs) fetches for
        # AZURE_AUTHORITY_HOST=<url>/adfs; it then posts v2-style (scope=) to this endpoint.
        assert doc["token_endpoint"].endswith(("/oauth2/token", "/oauth2/v2.0/token")), doc["token_endpoint"]


@pytest.mark.parametrize("prefix", PREFIXES, ids=["root", "adfs"])
@pytest.mark.parametrize("version_part", ["/v2.0", ""], ids=["v2", "v1"])
def test_openid_configuration_unknown_tenant(emulator, unknown_guid, prefix, version_part):
    resp = _get(emulator, f"{prefix}/{unknown_guid}{version_part}/.well-known/openid-configuration")
    assert resp.status_code == 400, resp.text
    body = resp.json()
    # Real AAD answers a discovery document request for an unknown tenant with `invalid_tenant`.
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002:")


@pytest.mark.parametrize("path", ["/{tenant}/discovery/v2.0/keys", "/common/discovery/keys"])
def test_jwks(emulator, path):
    resp = _get(emulator, path.format(tenant=emulator["tenant_id"]))
    assert resp.status_code == 200, resp.text
    keys = resp.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "RSA"
        assert key["kid"]
        assert key["n"] and key["e"]
        assert key.get("use", "sig") == "sig"


def test_v1_token_response_shape(emulator, sp):
    resp = _post(
        emulator,
        f"/{emulator['tenant_id']}/oauth2/token",
        {
            "grant_type": "client_credentials",
            "client_id": sp["clientId"],
            "client_secret": sp["clientSecret"],
            "resource": emu.ARM_RESOURCE,
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["resource"] == emu.ARM_RESOURCE
    # v1 AAD sends numbers as strings.
    for key in ("expires_in", "ext_expires_in", "expires_on", "not_before"):
        assert isinstance(body[key], str) and body[key].isdigit(), (key, body[key])
    assert body["expires_in"] == "3599"
    now = time.time()
    assert abs(int(body["expires_on"]) - (now + 3599)) < 30
    assert abs(int(body["not_before"]) - now) < 330
    assert emu.claims(body["access_token"])["aud"] == emu.ARM_RESOURCE


def test_v2_token_response_shape(emulator, sp):
    resp = _post(
        emulator,
        f"/{emulator['tenant_id']}/oauth2/v2.0/token",
        {
            "grant_type": "client_credentials",
            "client_id": sp["clientId"],
            "client_secret": sp["clientSecret"],
            "scope": emu.ARM_SCOPE,
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert isinstance(body["ext_expires_in"], int)
    # Entra ID's v2 client-credentials answer has no scope (openapi/fidelity/aad/token-v2-client-credentials.json).
    assert "scope" not in body, body
    assert "refresh_token" not in body
    assert emu.claims(body["access_token"])["aud"] == emu.ARM_AUDIENCE


def test_error_shape_wrong_secret(emulator, sp):
    resp = _post(
        emulator,
        f"/{emulator['tenant_id']}/oauth2/v2.0/token",
        {
            "grant_type": "client_credentials",
            "client_id": sp["clientId"],
            "client_secret": "nope",
            "scope": emu.ARM_SCOPE,
        },
    )
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    lines = body["error_description"].split("\r\n")
    assert lines[0].startswith("AADSTS7000215: ")
    assert lines[1] == f"Trace ID: {body['trace_id']}"
    assert lines[2] == f"Correlation ID: {body['correlation_id']}"
    assert lines[3] == f"Timestamp: {body['timestamp']}"
    assert body["error_uri"]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_unknown_tenant_token_endpoint(emulator, sp, unknown_guid, version):
    if version == "v1":
        path, extra = f"/{unknown_guid}/oauth2/token", {"resource": emu.ARM_RESOURCE}
    else:
        path, extra = f"/{unknown_guid}/oauth2/v2.0/token", {"scope": emu.ARM_SCOPE}
    resp = _post(
        emulator,
        path,
        {"grant_type": "client_credentials", "client_id": sp["clientId"], "client_secret": sp["clientSecret"], **extra},
    )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error"] == "invalid_request"
    assert body["error_codes"] == [90002]
