"""msal (Python) ConfidentialClientApplication client-credentials flow against the emulator."""

from __future__ import annotations

import ssl
import time

import jwt
import msal
import pytest
import requests

import emulator_support as emu


def _app(authority: str, client_id: str, secret: str) -> msal.ConfidentialClientApplication:
    # instance_discovery=False: otherwise msal asks login.microsoftonline.com about our host.
    return msal.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=authority, instance_discovery=False
    )


def _assert_arm_token_claims(token: str, tenant_id: str, client_id: str, audience: str = emu.ARM_AUDIENCE):
    c = emu.claims(token)
    assert c["aud"] == audience
    assert c["tid"] == tenant_id
    assert c["appid"] == client_id
    assert c["iss"] == f"https://sts.windows.net/{tenant_id}/"
    assert c["ver"] == "1.0"
    now = time.time()
    assert c["iat"] <= now + 5
    assert c["nbf"] <= now + 5
    assert now + 3000 < c["exp"] <= now + 3700
    return c


def _assert_aad_error(result: dict, error: str, code: int):
    assert "access_token" not in result, result
    assert result.get("error") == error, result
    assert code in result.get("error_codes", []), result
    desc = result.get("error_description", "")
    assert desc.startswith(f"AADSTS{code}:"), desc
    for part in ("\r\nTrace ID: ", "\r\nCorrelation ID: ", "\r\nTimestamp: "):
        assert part in desc, desc
    for key in ("timestamp", "trace_id", "correlation_id", "error_uri"):
        assert result.get(key), (key, result)


def test_client_credentials_guid_authority(url, tenant_id, sp, default_app):
    app = _app(f"{url}/{tenant_id}", sp["clientId"], sp["clientSecret"])
    result = app.acquire_token_for_client([emu.ARM_SCOPE])

    assert "error" not in result, result
    assert result["access_token"]
    assert result["token_type"] == "Bearer"
    assert 3590 <= int(result["expires_in"]) <= 3599
    assert result.get("token_source") == "identity_provider"
    c = _assert_arm_token_claims(result["access_token"], tenant_id, sp["clientId"])
    assert c["oid"] == default_app["object_id"]
    assert c["sub"] == default_app["object_id"]

    # The second identical call is answered from msal's in-memory cache, no HTTP.
    again = app.acquire_token_for_client([emu.ARM_SCOPE])
    assert again.get("token_source") == "cache", again
    assert again["access_token"] == result["access_token"]


@pytest.mark.parametrize(
    "authority_suffix",
    ["{domain}", "{tenant}/", "{domain}/"],
    ids=["domain", "guid-trailing-slash", "domain-trailing-slash"],
)
def test_client_credentials_authority_variants(emulator, url, tenant_id, sp, authority_suffix):
    suffix = authority_suffix.format(domain=emulator["tenant_domain"], tenant=tenant_id)
    app = _app(f"{url}/{suffix}", sp["clientId"], sp["clientSecret"])
    result = app.acquire_token_for_client([emu.ARM_SCOPE])
    assert "error" not in result, result
    # Whatever the tenant was called in the authority, the token carries the tenant GUID.
    _assert_arm_token_claims(result["access_token"], tenant_id, sp["clientId"])


def test_client_credentials_rotated_secret(url, tenant_id, sp, default_app):
    rotated = default_app["secrets"][1]["value"]
    assert rotated != sp["clientSecret"]
    result = _app(f"{url}/{tenant_id}", sp["clientId"], rotated).acquire_token_for_client([emu.ARM_SCOPE])
    assert "error" not in result, result
    _assert_arm_token_claims(result["access_token"], tenant_id, sp["clientId"])


def test_client_credentials_classic_management_scope(url, tenant_id, sp):
    result = _app(f"{url}/{tenant_id}", sp["clientId"], sp["clientSecret"]).acquire_token_for_client(
        [emu.CLASSIC_ARM_SCOPE]
    )
    assert "error" not in result, result
    _assert_arm_token_claims(result["access_token"], tenant_id, sp["clientId"], emu.CLASSIC_ARM_AUDIENCE)


def test_token_signature_verifies_against_jwks(emulator, url, tenant_id, sp):
    result = _app(f"{url}/{tenant_id}", sp["clientId"], sp["clientSecret"]).acquire_token_for_client(
        [emu.ARM_SCOPE]
    )
    token = result["access_token"]
    hdr = emu.header(token)
    assert hdr["alg"] == "RS256"
    assert hdr.get("kid")

    # PyJWKClient uses urllib, not requests: give it an SSL context trusting the emulator CA.
    ctx = ssl.create_default_context(cafile=emulator["ca_bundle"])
    jwks_client = jwt.PyJWKClient(f"{url}/{tenant_id}/discovery/v2.0/keys", cache_keys=False, ssl_context=ctx)
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    verified = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=emu.ARM_AUDIENCE,
        issuer=f"https://sts.windows.net/{tenant_id}/",
        leeway=60,
    )
    assert verified["appid"] == sp["clientId"]

    # The tenant-independent JWKS has the same key.
    common_client = jwt.PyJWKClient(f"{url}/common/discovery/keys", cache_keys=False, ssl_context=ctx)
    assert common_client.get_signing_key(hdr["kid"]).key_id == hdr["kid"]

    # A tampered token does not verify.
    head, body, sig = token.split(".")
    tampered_sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{head}.{body}.{tampered_sig}", signing_key.key, algorithms=["RS256"],
                   audience=emu.ARM_AUDIENCE, leeway=60)


def test_wrong_secret(url, tenant_id, sp):
    result = _app(f"{url}/{tenant_id}", sp["clientId"], "not-the-secret").acquire_token_for_client([emu.ARM_SCOPE])
    _assert_aad_error(result, "invalid_client", 7000215)


def test_expired_secret(url, tenant_id, expired_app):
    result = _app(f"{url}/{tenant_id}", expired_app["clientId"], expired_app["clientSecret"]).acquire_token_for_client(
        [emu.ARM_SCOPE]
    )
    _assert_aad_error(result, "invalid_client", 7000222)


def test_disabled_app(url, tenant_id, disabled_app):
    result = _app(
        f"{url}/{tenant_id}", disabled_app["clientId"], disabled_app["clientSecret"]
    ).acquire_token_for_client([emu.ARM_SCOPE])
    _assert_aad_error(result, "unauthorized_client", 7000112)


def test_unknown_client_id(url, tenant_id, unknown_guid):
    result = _app(f"{url}/{tenant_id}", unknown_guid, "whatever").acquire_token_for_client([emu.ARM_SCOPE])
    _assert_aad_error(result, "unauthorized_client", 700016)


def test_unknown_scope(url, tenant_id, sp):
    result = _app(f"{url}/{tenant_id}", sp["clientId"], sp["clientSecret"]).acquire_token_for_client(
        [emu.UNKNOWN_SCOPE]
    )
    _assert_aad_error(result, "invalid_resource", 500011)


def test_unknown_tenant(url, sp, unknown_guid):
    # msal fetches the OIDC document in the constructor. The emulator answers 400 AADSTS90002;
    # msal (1.39.0) turns any 4xx there into ValueError("Unable to get authority configuration ..."),
    # chained from a ValueError that carries the HTTP status and the body as-is.
    with pytest.raises(ValueError, match="Unable to get authority configuration") as excinfo:
        _app(f"{url}/{unknown_guid}", sp["clientId"], sp["clientSecret"])
    cause = excinfo.value.__context__
    assert isinstance(cause, ValueError)
    assert "HTTP status: 400" in str(cause)
    assert "AADSTS90002" in str(cause)
    # Like real AAD, the discovery document answers `invalid_tenant` (the token endpoint says
    # `invalid_request` for the same AADSTS90002).
    assert '"error":"invalid_tenant"' in str(cause).replace(" ", "")


def test_instance_discovery_left_on_goes_to_the_public_cloud(url, tenant_id, sp, offline_guard):
    # Without instance_discovery=False (or validate_authority=False) msal asks
    # login.microsoftonline.com about our host in the constructor; offline that is a ConnectionError.
    seen = len(offline_guard)
    with pytest.raises(requests.exceptions.ConnectionError, match="login.microsoftonline.com"):
        msal.ConfidentialClientApplication(
            sp["clientId"], client_credential=sp["clientSecret"], authority=f"{url}/{tenant_id}"
        )
    assert "login.microsoftonline.com" in offline_guard[seen:]
