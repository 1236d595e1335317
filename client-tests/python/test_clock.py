"""The emulator's controllable clock (/_emulator/clock) as seen through real SDK tokens.

Each test uses the ``restore_clock`` fixture, which resumes and resets the clock afterwards so
the rest of the session sees real time again.
"""

from __future__ import annotations

import calendar
import time

import adal
import msal

import emulator_support as emu


def _msal_token(url: str, tenant_id: str, client_id: str, secret: str) -> dict:
    # A new app object every time: a fresh msal cache, so the token really comes from the emulator.
    app = msal.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=f"{url}/{tenant_id}", instance_discovery=False
    )
    result = app.acquire_token_for_client([emu.ARM_SCOPE])
    assert "access_token" in result, result
    assert result.get("token_source") == "identity_provider"
    return emu.claims(result["access_token"])


def test_advance_moves_token_times(url, tenant_id, sp, restore_clock):
    admin = restore_clock
    before = _msal_token(url, tenant_id, sp["clientId"], sp["clientSecret"])

    admin.clock(advance_seconds=3600)
    state = admin.get_clock()
    assert 3600 <= state["offset_seconds"] < 3600 + 5, state
    assert state["frozen"] is False

    after = _msal_token(url, tenant_id, sp["clientId"], sp["clientSecret"])
    assert 3600 <= after["iat"] - before["iat"] <= 3600 + 30
    assert 3600 <= after["exp"] - before["exp"] <= 3600 + 30
    assert 3600 <= after["nbf"] - before["nbf"] <= 3600 + 30

    admin.clock(resume=True)
    assert admin.get_clock()["frozen"] is False


def test_freeze_stops_time(url, tenant_id, sp, restore_clock):
    admin = restore_clock
    admin.clock(freeze=True)
    state = admin.get_clock()
    assert state["frozen"] is True, state
    first = _msal_token(url, tenant_id, sp["clientId"], sp["clientSecret"])
    time.sleep(1.5)
    assert admin.get_clock()["now"] == state["now"]
    second = _msal_token(url, tenant_id, sp["clientId"], sp["clientSecret"])
    assert second["iat"] == first["iat"]
    assert second["exp"] == first["exp"]

    admin.clock(resume=True)
    assert admin.get_clock()["frozen"] is False


def test_set_clock_absolute(url, tenant_id, sp, restore_clock):
    admin = restore_clock
    target = "2030-01-02T03:04:05Z"
    target_epoch = calendar.timegm((2030, 1, 2, 3, 4, 5, 0, 0, 0))
    admin.clock(freeze=True)
    admin.clock(set=target)
    state = admin.get_clock()
    assert state["now"].startswith("2030-01-02T03:04:05"), state

    c = _msal_token(url, tenant_id, sp["clientId"], sp["clientSecret"])
    # Like real AAD, iat/nbf may be backdated (AAD uses issue time - 5 min); exp is issue + lifetime.
    assert target_epoch - 300 <= c["iat"] <= target_epoch
    assert target_epoch - 300 <= c["nbf"] <= target_epoch
    assert c["exp"] == target_epoch + 3599

    # adal's v1 flow sees the same clock (expiresOn is client-computed, so check the token claims).
    result = adal.AuthenticationContext(f"{url}/{tenant_id}", validate_authority=False).acquire_token_with_client_credentials(
        emu.ARM_RESOURCE, sp["clientId"], sp["clientSecret"]
    )
    v1 = emu.claims(result["accessToken"])
    assert (v1["iat"], v1["nbf"], v1["exp"]) == (c["iat"], c["nbf"], c["exp"])


def test_clock_drives_secret_expiry(url, tenant_id, expired_app, restore_clock):
    # The ml-auth-expired secret expires 2024-01-01T00:00:00Z. Before that instant it is valid.
    admin = restore_clock
    app_args = (expired_app["clientId"],)
    kwargs = dict(client_credential=expired_app["clientSecret"], authority=f"{url}/{tenant_id}", instance_discovery=False)

    admin.clock(set="2023-06-01T00:00:00Z")
    ok = msal.ConfidentialClientApplication(*app_args, **kwargs).acquire_token_for_client([emu.ARM_SCOPE])
    assert "access_token" in ok, ok

    admin.clock(set="2024-01-01T00:00:01Z")
    failed = msal.ConfidentialClientApplication(*app_args, **kwargs).acquire_token_for_client([emu.ARM_SCOPE])
    assert failed.get("error") == "invalid_client", failed
    assert 7000222 in failed.get("error_codes", []), failed


def test_reset_restores_real_time(admin, restore_clock):
    admin.clock(advance_seconds=7200)
    admin.clock(resume=True)
    admin.reset()
    state = admin.get_clock()
    assert abs(state["offset_seconds"]) < 2, state
    assert state["frozen"] is False
