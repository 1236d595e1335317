"""A user's test suite: nothing but `pip install azureml-emulator azure-identity requests` and the plugin.

The plugin's session fixture `azureml_emulator` starts the emulator and puts its variables in
os.environ (CA bundle, AZURE_AUTHORITY_HOST, AZURE_TENANT_ID/CLIENT_ID/CLIENT_SECRET, ...), so the
SDK and requests below are configured by the environment alone, as they would be against Azure.
"""

import base64
import json

from azureml_emulator import EmulatorError
import pytest
import requests
from azure.identity import EnvironmentCredential

ARM_SCOPE = "https://management.azure.com/.default"


def claims(token: str) -> dict:
    """A JWT's claims, unverified (the emulator verifies signatures; this only reads them)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def arm_get(url: str, path: str, token: str) -> requests.Response:
    # No verify=: REQUESTS_CA_BUNDLE from the plugin makes requests trust the emulator.
    return requests.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
def credential(azureml_emulator):
    return EnvironmentCredential()  # AZURE_AUTHORITY_HOST=<emulator>/adfs: no instance discovery


def test_token_from_environment(azureml_emulator, credential):
    token = credential.get_token(ARM_SCOPE)
    c = claims(token.token)
    assert c["tid"] == azureml_emulator.credentials.tenant_id
    assert c["appid"] == azureml_emulator.credentials.client_id
    assert c["aud"] == "https://management.azure.com"


def test_arm_call_with_the_token(azureml_emulator, credential):
    token = credential.get_token(ARM_SCOPE).token
    resp = arm_get(azureml_emulator.url, "/subscriptions?api-version=2022-12-01", token)
    assert resp.status_code == 200, resp.text
    ids = [s["subscriptionId"] for s in resp.json()["value"]]
    assert azureml_emulator.credentials.subscription_id in ids

    resp = arm_get(azureml_emulator.url, "/subscriptions?api-version=2022-12-01", token + "x")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_clock_move_expires_the_token_on_both_sides(azureml_emulator, azureml_emulator_clock, credential):
    first = credential.get_token(ARM_SCOPE).token
    path = "/subscriptions?api-version=2022-12-01"
    assert arm_get(azureml_emulator.url, path, first).status_code == 200

    azureml_emulator_clock.advance(3600, client=True)  # the emulator's clock and this process's

    expired = arm_get(azureml_emulator.url, path, first)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "ExpiredAuthenticationToken"
    second = credential.get_token(ARM_SCOPE).token  # the SDK's cache saw the expiry too
    assert second != first
    assert arm_get(azureml_emulator.url, path, second).status_code == 200


def test_server_only_clock_move_leaves_the_sdk_holding_an_expired_token(
    azureml_emulator, azureml_emulator_clock, credential
):
    # What real clients do when their clock and the server's disagree: the cached token is reused.
    first = credential.get_token(ARM_SCOPE).token
    azureml_emulator_clock.advance(3600)
    assert credential.get_token(ARM_SCOPE).token == first
    resp = arm_get(azureml_emulator.url, "/subscriptions?api-version=2022-12-01", first)
    assert resp.json()["error"]["code"] == "ExpiredAuthenticationToken"


def test_reset_undoes_world_changes(azureml_emulator, azureml_emulator_reset):
    # azureml_emulator_reset would also reset after the test; here the reset is checked in place.
    created = azureml_emulator.api("POST", "/service-principals", {"displayName": "sample-bot"})
    assert azureml_emulator.api("GET", f"/service-principals/{created['appId']}")["appId"] == created["appId"]
    azureml_emulator.reset()
    with pytest.raises(EmulatorError, match="404"):
        azureml_emulator.api("GET", f"/service-principals/{created['appId']}")
