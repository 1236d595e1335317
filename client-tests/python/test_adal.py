"""adal (Python, legacy v1 endpoint) client-credentials flow against the emulator."""

from __future__ import annotations

import datetime as dt

import adal
import pytest

import emulator_support as emu


def _context(url: str, tenant: str) -> adal.AuthenticationContext:
    # validate_authority=False: no instance discovery and no OIDC request, just the token POST.
    return adal.AuthenticationContext(f"{url}/{tenant}", validate_authority=False)


def _assert_token_dict(result: dict, resource: str, tenant_id: str, client_id: str):
    assert result["tokenType"] == "Bearer"
    assert result["expiresIn"] == 3599
    assert result["resource"] == resource
    assert result["accessToken"]
    assert result.get("isMRRT") is True  # only set when the server echoes `resource`
    # expiresOn is a local-time string computed by adal from expires_in.
    expires_on = dt.datetime.strptime(result["expiresOn"], "%Y-%m-%d %H:%M:%S.%f")
    remaining = (expires_on - dt.datetime.now()).total_seconds()
    assert 3500 < remaining <= 3600, result["expiresOn"]
    c = emu.claims(result["accessToken"])
    assert c["aud"] == resource  # v1: the audience is the resource exactly as requested
    assert c["tid"] == tenant_id
    assert c["appid"] == client_id
    assert c["iss"] == f"https://sts.windows.net/{tenant_id}/"
    assert c["ver"] == "1.0"
    return c


@pytest.mark.parametrize("tenant_kind", ["guid", "domain"])
def test_client_credentials(emulator, url, tenant_id, sp, tenant_kind):
    tenant = tenant_id if tenant_kind == "guid" else emulator["tenant_domain"]
    result = _context(url, tenant).acquire_token_with_client_credentials(
        emu.ARM_RESOURCE, sp["clientId"], sp["clientSecret"]
    )
    _assert_token_dict(result, emu.ARM_RESOURCE, tenant_id, sp["clientId"])


def test_client_credentials_classic_management_resource(url, tenant_id, sp):
    result = _context(url, tenant_id).acquire_token_with_client_credentials(
        emu.CLASSIC_ARM_AUDIENCE, sp["clientId"], sp["clientSecret"]
    )
    _assert_token_dict(result, emu.CLASSIC_ARM_AUDIENCE, tenant_id, sp["clientId"])


def test_adfs_prefixed_authority_is_rejected_by_adal(url, tenant_id):
    # adal (1.2.7) only accepts a single path segment (the tenant) unless the host is whitelisted,
    # so the AZURE_AUTHORITY_HOST=<url>/adfs style cannot be combined with a tenant in adal.
    with pytest.raises(ValueError, match="The path of authority_url .* is invalid"):
        _context(url, f"adfs/{tenant_id}")


def test_cached_second_call(url, tenant_id, sp):
    ctx = _context(url, tenant_id)
    first = ctx.acquire_token_with_client_credentials(emu.ARM_RESOURCE, sp["clientId"], sp["clientSecret"])
    second = ctx.acquire_token_with_client_credentials(emu.ARM_RESOURCE, sp["clientId"], sp["clientSecret"])
    assert second["accessToken"] == first["accessToken"]


def _acquire_error(url: str, tenant: str, resource: str, client_id: str, secret: str) -> adal.AdalError:
    with pytest.raises(adal.AdalError) as excinfo:
        _context(url, tenant).acquire_token_with_client_credentials(resource, client_id, secret)
    return excinfo.value


def _assert_adal_error(err: adal.AdalError, status: int, error: str, code: int):
    assert f"http error: {status}" in str(err), str(err)
    body = err.error_response
    assert isinstance(body, dict), body
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")


def test_wrong_secret(url, tenant_id, sp):
    err = _acquire_error(url, tenant_id, emu.ARM_RESOURCE, sp["clientId"], "not-the-secret")
    _assert_adal_error(err, 401, "invalid_client", 7000215)


def test_expired_secret(url, tenant_id, expired_app):
    err = _acquire_error(url, tenant_id, emu.ARM_RESOURCE, expired_app["clientId"], expired_app["clientSecret"])
    _assert_adal_error(err, 401, "invalid_client", 7000222)


def test_disabled_app(url, tenant_id, disabled_app):
    err = _acquire_error(url, tenant_id, emu.ARM_RESOURCE, disabled_app["clientId"], disabled_app["clientSecret"])
    _assert_adal_error(err, 400, "unauthorized_client", 7000112)


def test_unknown_client(url, tenant_id, unknown_guid):
    err = _acquire_error(url, tenant_id, emu.ARM_RESOURCE, unknown_guid, "whatever")
    _assert_adal_error(err, 400, "unauthorized_client", 700016)


def test_unknown_resource(url, tenant_id, sp):
    err = _acquire_error(url, tenant_id, "https://unknown.example.com/", sp["clientId"], sp["clientSecret"])
    _assert_adal_error(err, 400, "invalid_resource", 500011)


def test_unknown_tenant(url, sp, unknown_guid):
    err = _acquire_error(url, unknown_guid, emu.ARM_RESOURCE, sp["clientId"], sp["clientSecret"])
    _assert_adal_error(err, 400, "invalid_request", 90002)
