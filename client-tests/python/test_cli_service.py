"""The binary's `service` and `region outage` verbs, run against the session's emulator.

`azureml-emulator service list|show|keys|regen-key|token` and `region outage --region R --on|--off`
find the emulator through --data-dir (its ready file) or --url + --ca-cert, print JSON on stdout, and
fail with a non-zero exit, one message on stderr and nothing on stdout. What they print is checked
against what scoring then accepts (plain requests).
"""

from __future__ import annotations

import pytest

import emulator_support as emu

INPUT = {"cli": [1, 2, 3]}
UNKNOWN = "no-such-service"
NOT_FOUND = f"no web service or online endpoint is named '{UNKNOWN}'"


def _fails(result: emu.CliResult, message: str, code: int | None = None) -> None:
    assert result.returncode != 0, (result.args, result.stdout)
    if code is not None:
        assert result.returncode == code, (result.args, result.returncode, result.stderr)
    assert result.stdout == "", result.stdout
    assert message in result.stderr, result.stderr


def _score(emulator, uri: str, bearer: str | None) -> dict:
    return emu.score(uri, verify=emulator["ca_bundle"], bearer=bearer, body=INPUT)


@pytest.mark.parametrize("locate", ["data-dir", "url"])
def test_service_list(emulator, locate):
    url = emulator["url"].rstrip("/")
    ws = emu.workspace_scope(emulator["subscription_id"])
    listed = emu.run_cli(emulator, "service", "list", locate=locate).json()
    by_name = {item["name"]: item for item in listed}
    assert sorted(by_name) == sorted([emu.ACI_SERVICE, emu.AKS_SERVICE, emu.EP_KEY, emu.EP_AMLTOKEN, emu.EP_AAD])
    assert all(item["workspace"] == ws for item in listed)

    aci, aks = by_name[emu.ACI_SERVICE], by_name[emu.AKS_SERVICE]
    assert (aci["kind"], aci["computeType"], aci["authEnabled"], aci["tokenAuthEnabled"]) == (
        "webservice", "ACI", True, False,
    )
    assert aci["scoringUri"] == f"{url}/aci/{emu.ACI_SERVICE}/score"
    assert (aks["kind"], aks["computeType"], aks["authEnabled"], aks["tokenAuthEnabled"]) == (
        "webservice", "AKS", False, True,
    )
    assert aks["scoringUri"] == f"{url}/api/v1/service/{emu.AKS_SERVICE}/score"
    for name, mode, deployments in (
        (emu.EP_KEY, "Key", ["blue"]),
        (emu.EP_AMLTOKEN, "AMLToken", ["blue"]),
        (emu.EP_AAD, "AADToken", ["blue", "green"]),
    ):
        ep = by_name[name]
        assert (ep["kind"], ep["authMode"], ep["deployments"]) == ("onlineEndpoint", mode, deployments), ep
        assert ep["scoringUri"] == f"{url}/online/{name}/score"


def test_service_show(emulator):
    shown = emu.run_cli(emulator, "service", "show", emu.AKS_SERVICE).json()
    assert shown["name"] == emu.AKS_SERVICE
    # The model-management payload azureml-core receives.
    service = shown["service"]
    assert (service["computeType"], service["authEnabled"], service["aadAuthEnabled"]) == ("AKS", False, True)
    assert service["scoringUri"] == shown["scoringUri"]

    ep = emu.run_cli(emulator, "service", "show", emu.EP_AAD).json()
    assert (ep["kind"], ep["authMode"], ep["deployments"]) == ("onlineEndpoint", "AADToken", ["blue", "green"])


@pytest.mark.parametrize("locate", ["data-dir", "url"])
def test_service_keys(emulator, locate):
    assert emu.run_cli(emulator, "service", "keys", emu.ACI_SERVICE, locate=locate).json() == {
        "primaryKey": emu.ACI_PRIMARY_KEY,
        "secondaryKey": emu.ACI_SECONDARY_KEY,
    }
    assert emu.run_cli(emulator, "service", "keys", emu.EP_KEY, locate=locate).json() == {
        "primaryKey": emu.EP_KEY_PRIMARY,
        "secondaryKey": emu.EP_KEY_SECONDARY,
    }


@pytest.mark.parametrize(
    "name, uri_path, expected",
    [
        (emu.AKS_SERVICE, f"/api/v1/service/{emu.AKS_SERVICE}/score", emu.AKS_STATIC_BODY),
        (emu.EP_AMLTOKEN, f"/online/{emu.EP_AMLTOKEN}/score", INPUT),
    ],
)
def test_service_token_scores(emulator, name, uri_path, expected):
    token = emu.run_cli(emulator, "service", "token", name).json()
    assert set(token) == {"accessToken", "tokenType", "expiryOn", "refreshAfter"}
    assert token["tokenType"] == "Bearer"
    claims = emu.claims(token["accessToken"])
    assert claims["exp"] == token["expiryOn"]
    # 24 h, refresh after 12 h (Azure ML tokens carry no iat).
    assert token["expiryOn"] - token["refreshAfter"] == 43_200
    resp = _score(emulator, emulator["url"].rstrip("/") + uri_path, token["accessToken"])
    assert resp["status"] == 200, resp
    assert resp["body"] == expected


@pytest.mark.parametrize("name", [emu.ACI_SERVICE, emu.EP_KEY, emu.EP_AAD])
def test_service_token_needs_token_auth(emulator, name):
    _fails(emu.run_cli(emulator, "service", "token", name), f"'{name}' does not use Azure ML token auth")


def test_service_regen_key(emulator, reset_world):
    url = emulator["url"].rstrip("/")
    aci_uri = f"{url}/aci/{emu.ACI_SERVICE}/score"
    keys = emu.run_cli(emulator, "service", "regen-key", emu.ACI_SERVICE, "--key", "primary").json()
    assert keys["primaryKey"] not in (emu.ACI_PRIMARY_KEY, emu.ACI_SECONDARY_KEY)
    assert keys["secondaryKey"] == emu.ACI_SECONDARY_KEY
    assert emu.run_cli(emulator, "service", "keys", emu.ACI_SERVICE).json() == keys
    assert _score(emulator, aci_uri, emu.ACI_PRIMARY_KEY)["status"] == 401
    assert _score(emulator, aci_uri, keys["primaryKey"])["status"] == 200

    custom = "cli-chosen-secondary-key-000000000000000000="
    keys = emu.run_cli(
        emulator, "service", "regen-key", emu.ACI_SERVICE, "--key", "secondary", "--value", custom
    ).json()
    assert keys["secondaryKey"] == custom
    assert _score(emulator, aci_uri, emu.ACI_SECONDARY_KEY)["status"] == 401
    assert _score(emulator, aci_uri, custom)["status"] == 200

    # Online endpoint, default --key primary.
    ep_uri = f"{url}/online/{emu.EP_KEY}/score"
    keys = emu.run_cli(emulator, "service", "regen-key", emu.EP_KEY, locate="url").json()
    assert keys["primaryKey"] != emu.EP_KEY_PRIMARY and keys["secondaryKey"] == emu.EP_KEY_SECONDARY
    assert _score(emulator, ep_uri, emu.EP_KEY_PRIMARY)["status"] == 401
    assert _score(emulator, ep_uri, keys["primaryKey"])["status"] == 200


def test_service_regen_key_rejects_unknown_key_type(emulator):
    _fails(
        emu.run_cli(emulator, "service", "regen-key", emu.ACI_SERVICE, "--key", "tertiary"),
        "invalid value 'tertiary' for '--key <KEY>'",
        code=2,
    )


@pytest.mark.parametrize(
    "verb",
    [["show", UNKNOWN], ["keys", UNKNOWN], ["regen-key", UNKNOWN], ["token", UNKNOWN]],
    ids=lambda v: v[0],
)
@pytest.mark.parametrize("locate", ["data-dir", "url"])
def test_service_unknown_name(emulator, verb, locate):
    _fails(emu.run_cli(emulator, "service", *verb, locate=locate), NOT_FOUND)


def test_region_outage_verb(emulator, region_outage):
    region = emu.WORKSPACE_REGION
    on = emu.run_cli(emulator, "region", "outage", "--region", region, "--on").json()
    assert on == {"available": False, "region": region, "unavailable_regions": [region]}
    # Token issuance stops (the CLI's own token verb too); keys keep working.
    _fails(emu.run_cli(emulator, "service", "token", emu.AKS_SERVICE), f"region '{region}' is unavailable")
    _fails(emu.run_cli(emulator, "service", "token", emu.EP_AMLTOKEN), f"region '{region}' is unavailable")
    keys = emu.run_cli(emulator, "service", "keys", emu.ACI_SERVICE).json()
    aci_uri = f"{emulator['url'].rstrip('/')}/aci/{emu.ACI_SERVICE}/score"
    assert _score(emulator, aci_uri, keys["primaryKey"])["status"] == 200

    off = emu.run_cli(emulator, "region", "outage", "--region", region, "--off", locate="url").json()
    assert off == {"available": True, "region": region, "unavailable_regions": []}
    assert emu.run_cli(emulator, "service", "token", emu.AKS_SERVICE).json()["accessToken"]


def test_region_outage_needs_on_or_off(emulator):
    _fails(emu.run_cli(emulator, "region", "outage", "--region", emu.WORKSPACE_REGION), "--on", code=2)
    _fails(
        emu.run_cli(emulator, "region", "outage", "--region", emu.WORKSPACE_REGION, "--on", "--off"),
        "the argument '--on' cannot be used with '--off'",
        code=2,
    )
