"""azure-identity (Python) ClientSecretCredential / EnvironmentCredential against the emulator."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential, EnvironmentCredential

import emulator_support as emu


def _assert_access_token(tok, tenant_id: str, client_id: str):
    assert tok.token
    now = time.time()
    assert now + 3500 < tok.expires_on <= now + 3600
    c = emu.claims(tok.token)
    assert c["aud"] == emu.ARM_AUDIENCE
    assert c["tid"] == tenant_id
    assert c["appid"] == client_id
    assert c["iss"] == f"https://sts.windows.net/{tenant_id}/"
    return c


def test_env_authority_host_adfs_trick(monkeypatch, url, tenant_id, sp):
    # Only AZURE_AUTHORITY_HOST=<url>/adfs, no code option: msal treats an authority whose first
    # path segment is "adfs" as ADFS and skips instance discovery, so this works offline without
    # disable_instance_discovery=True.
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"{url}/adfs")
    cred = ClientSecretCredential(tenant_id, sp["clientId"], sp["clientSecret"])
    tok = cred.get_token(emu.ARM_SCOPE)
    _assert_access_token(tok, tenant_id, sp["clientId"])


@pytest.mark.parametrize("tenant_kind", ["guid", "domain"])
def test_authority_kwarg_with_instance_discovery_disabled(emulator, url, tenant_id, sp, tenant_kind):
    tenant = tenant_id if tenant_kind == "guid" else emulator["tenant_domain"]
    cred = ClientSecretCredential(
        tenant, sp["clientId"], sp["clientSecret"], authority=url, disable_instance_discovery=True
    )
    tok = cred.get_token(emu.ARM_SCOPE)
    _assert_access_token(tok, tenant_id, sp["clientId"])

    info = cred.get_token_info(emu.ARM_SCOPE)
    assert info.token_type == "Bearer"
    assert info.token == tok.token  # served from the msal cache of this credential


def test_environment_credential_with_printed_env(monkeypatch, emulator, tenant_id, sp):
    env = emulator["env"]
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    # The printed env must make the TLS trust work for requests-based SDKs.
    assert env["REQUESTS_CA_BUNDLE"] == emulator["ca_bundle"]
    assert env["AZURE_AUTHORITY_HOST"].endswith("/adfs")
    cred = EnvironmentCredential()
    tok = cred.get_token(emu.ARM_SCOPE)
    _assert_access_token(tok, tenant_id, sp["clientId"])


def test_wrong_secret(url, tenant_id, sp):
    cred = ClientSecretCredential(
        tenant_id, sp["clientId"], "not-the-secret", authority=url, disable_instance_discovery=True
    )
    with pytest.raises(ClientAuthenticationError) as excinfo:
        cred.get_token(emu.ARM_SCOPE)
    assert "AADSTS7000215" in excinfo.value.message
    assert "AADSTS7000215" in str(excinfo.value)


def test_wrong_secret_via_adfs_env(monkeypatch, url, tenant_id, sp):
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"{url}/adfs")
    cred = ClientSecretCredential(tenant_id, sp["clientId"], "not-the-secret")
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        cred.get_token(emu.ARM_SCOPE)


def test_expired_secret(url, tenant_id, expired_app):
    cred = ClientSecretCredential(
        tenant_id, expired_app["clientId"], expired_app["clientSecret"], authority=url, disable_instance_discovery=True
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000222"):
        cred.get_token(emu.ARM_SCOPE)


def test_disabled_app(url, tenant_id, disabled_app):
    cred = ClientSecretCredential(
        tenant_id, disabled_app["clientId"], disabled_app["clientSecret"], authority=url, disable_instance_discovery=True
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000112"):
        cred.get_token(emu.ARM_SCOPE)


def test_unknown_scope(url, tenant_id, sp):
    cred = ClientSecretCredential(
        tenant_id, sp["clientId"], sp["clientSecret"], authority=url, disable_instance_discovery=True
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS500011"):
        cred.get_token(emu.UNKNOWN_SCOPE)


def test_authority_kwarg_without_disabling_instance_discovery_fails_offline(url, tenant_id, sp, offline_guard):
    # authority=<url> alone is not enough: msal's instance discovery goes to login.microsoftonline.com.
    # (AZURE_AUTHORITY_HOST=<url>/adfs avoids it, see test_env_authority_host_adfs_trick.)
    seen = len(offline_guard)
    cred = ClientSecretCredential(tenant_id, sp["clientId"], sp["clientSecret"], authority=url)
    with pytest.raises(ClientAuthenticationError, match="login.microsoftonline.com"):
        cred.get_token(emu.ARM_SCOPE)
    assert "login.microsoftonline.com" in offline_guard[seen:]
