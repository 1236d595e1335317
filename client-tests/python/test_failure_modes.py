"""The failure-mode toolkit through real SDKs: faults in Azure's exact shape, as the SDKs meet them.

* azure-core's retry policy (under azure-mgmt-resource) honours ARM's 429 Retry-After, then succeeds;
* msal surfaces AAD's 429 (plain-text body: msal cannot parse it and raises) and keeps its own
  throttle state per application instance: a new instance is how a test resets it; user flows get
  invalid_grant AADSTS50196;
* azure-identity surfaces the 429 after its own retries, and raises ClientAuthenticationError with
  AADSTS7000222 once a secret is expired at run time (and with AADSTS50196 for a user flow: an authorization code redeemed);
* azureml-core's get_token is slower the farther the service's cluster is from the workspace's
  region, and fails during a region outage fault.
Every test puts the emulator back (faults, clock, settings, world) through ``reset_world``.
"""

from __future__ import annotations

import json
import time

import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import AuthorizationCodeCredential, ClientSecretCredential
from azure.mgmt.resource import ResourceManagementClient

import emulator_support as emu


@pytest.fixture
def toolkit(reset_world):
    """The admin API with an empty journal; faults, clock and settings are put back afterwards."""
    cleared = requests.delete(reset_world.url + "/_emulator/journal", verify=reset_world.verify, timeout=30)
    assert cleared.status_code == 200, cleared.text
    return reset_world


def _fault(admin, **rule) -> str:
    r = admin.post("/_emulator/faults", json=rule)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _journal(admin, **query) -> list[dict]:
    r = admin.get("/_emulator/journal", params=query)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_azure_core_retry_honours_arms_429_retry_after_then_succeeds(toolkit, url, tenant_id, admin_sp, subscription_id, monkeypatch):
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"{url}/adfs")
    credential = ClientSecretCredential(tenant_id, admin_sp["clientId"], admin_sp["clientSecret"])
    client = ResourceManagementClient(credential, subscription_id, base_url=url, credential_scopes=[emu.ARM_SCOPE])
    credential.get_token(emu.ARM_SCOPE)  # the token first: only ARM's answer is timed
    rule = _fault(toolkit, surface="arm", kind="throttle", retry_after=2, when={"count": 1})
    start = time.monotonic()
    rg = client.resource_groups.get(emu.RESOURCE_GROUP)
    elapsed = time.monotonic() - start
    assert rg.name == emu.RESOURCE_GROUP
    assert elapsed >= 2.0, f"the retry waited Retry-After: {elapsed:.2f}s"
    fired = _journal(toolkit, kind="fault")
    assert [f["fault"] for f in fired] == [rule]
    arm = [e for e in _journal(toolkit, surface="arm") if e["kind"] != "fault"]
    assert arm and all(e["decision"] == "allow" for e in arm), "the retried request was served"


def test_msal_surfaces_aads_429_and_keeps_throttle_state_per_app(toolkit, url, tenant_id, sp):
    authority = f"{url}/{tenant_id}"
    app = msal.ConfidentialClientApplication(sp["clientId"], client_credential=sp["clientSecret"], authority=authority, instance_discovery=False)
    app.get_authorization_request_url  # discovery happens on first use; do it before the fault
    _fault(toolkit, surface="aad", kind="throttle", retry_after=30, when={"count": 1})
    with pytest.raises(json.JSONDecodeError):
        app.acquire_token_for_client([emu.ARM_SCOPE])  # AAD's 429 body is plain text: msal raises
    assert len(_journal(toolkit, kind="fault")) == 1
    with pytest.raises(json.JSONDecodeError):
        app.acquire_token_for_client([emu.ARM_SCOPE])  # msal's own throttle cache: no request sent
    assert len(_journal(toolkit, kind="fault")) == 1
    assert not _journal(toolkit, kind="token"), "the emulator saw no second token request"
    # A new application instance has a fresh throttle cache: that is how a test resets it.
    fresh = msal.ConfidentialClientApplication(sp["clientId"], client_credential=sp["clientSecret"], authority=authority, instance_discovery=False)
    assert "access_token" in fresh.acquire_token_for_client([emu.ARM_SCOPE])


def test_msal_user_flow_gets_aadsts50196(toolkit, url, tenant_id, sp):
    app = msal.ConfidentialClientApplication(sp["clientId"], client_credential=sp["clientSecret"], authority=f"{url}/{tenant_id}", instance_discovery=False)
    _fault(toolkit, surface="aad", kind="throttle", match={"grant": "refresh_token"})
    result = app.acquire_token_by_refresh_token("an-old-refresh-token", [emu.ARM_SCOPE])
    assert result["error"] == "invalid_grant", result
    assert result["error_codes"] == [50196]
    assert result["error_description"].startswith("AADSTS50196:")


def test_azure_identity_surfaces_the_429_after_its_retries(toolkit, url, tenant_id, sp):
    _fault(toolkit, surface="aad", kind="throttle", retry_after=1)
    credential = ClientSecretCredential(tenant_id, sp["clientId"], sp["clientSecret"], authority=url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(emu.ARM_SCOPE)
    # AAD's 429 body is plain text: msal (under azure-identity) cannot read it as a token answer.
    assert "Expecting value" in str(caught.value), str(caught.value)
    fired = _journal(toolkit, kind="fault")
    assert len(fired) == 4, "the first request and azure-core's three retries, each after Retry-After"
    assert all(f["reason"].endswith("429 with Retry-After 1") for f in fired)


def test_azure_identity_user_flow_raises_aadsts50196(toolkit, url, tenant_id, sp):
    # AuthorizationCodeCredential redeems a code at the token endpoint: a user flow.
    _fault(toolkit, surface="aad", kind="throttle", match={"grant": "authorization_code"})
    credential = AuthorizationCodeCredential(
        tenant_id, sp["clientId"], "a-code", "http://localhost:8400", client_secret=sp["clientSecret"],
        authority=url, disable_instance_discovery=True,
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(emu.ARM_SCOPE)
    assert "AADSTS50196" in str(caught.value)


def test_azure_identity_raises_aadsts7000222_after_a_secret_expires_at_run_time(toolkit, url, tenant_id, sp):
    added = toolkit.post(f"/_emulator/service-principals/{sp['clientId']}/secrets", json={"displayName": "rotating"})
    assert added.status_code == 201, added.text
    secret, key = added.json()["secretText"], added.json()["keyId"]

    def credential():
        return ClientSecretCredential(tenant_id, sp["clientId"], secret, authority=url, disable_instance_discovery=True)

    assert credential().get_token(emu.ARM_SCOPE).token
    expired = toolkit.post(f"/_emulator/service-principals/{sp['clientId']}/secrets/{key}/expire", json={})
    assert expired.status_code == 200, expired.text
    with pytest.raises(ClientAuthenticationError) as caught:
        credential().get_token(emu.ARM_SCOPE)
    assert "AADSTS7000222" in str(caught.value)
    denied = _journal(toolkit, kind="token", decision="deny")
    assert denied[-1]["reason"].startswith("refused: AADSTS7000222")
    assert secret not in json.dumps(denied), "no secret in the journal"


def test_azureml_core_get_token_slows_with_region_distance_and_fails_in_an_outage(emulator, toolkit, tmp_path):
    sp = emulator["service_principal"]
    params = emu.scenario_params(
        emulator, sp={"clientId": sp["clientId"], "clientSecret": sp["clientSecret"]}, aks=emu.AKS_SERVICE, per_1000km=[0, 150, 300]
    )
    value = emu.scenario_value(
        emu.run_scenario(emulator, "v1_token_region_distance", params, home=tmp_path, env={"AZUREML_DEFAULT_503_BACKOFF": "0"})
    )
    # aks-service-1 runs in westus2, its workspace in eastus: about 3,400 km apart.
    t0, t1, t2 = value["seconds"]
    assert t1 - t0 >= 0.45 and t2 - t0 >= 0.9, value["seconds"]
    assert t2 > t1 > t0, value["seconds"]
    assert "ServiceUnavailable" in value["outage_error"]["message"], value["outage_error"]
    assert "region 'eastus'" in value["outage_error"]["message"]
