"""Users and interactive sign-in with the real SDKs and env exports only: msal, azure-identity and
azureml-core sign users in by ROPC, device code and the browser, refresh, and fail with Entra's codes.

The module runs its own emulator (``users_emulator``): auto sign-in and clock moves stay out of the
session emulator, and it also listens on 127.0.0.1:443 (``serve --listen-443``), where msal sends
ROPC's user-realm discovery whatever the authority's port (CI runs as root; elsewhere the ROPC tests
are skipped). The "browser" is real headless Chromium driven by playwright-core
(``client-tests/node/lib/browser-signin.js``), reached through a ``BROWSER`` hook script exactly as a
person's default browser would be.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import msal
import pytest
import requests

import emulator_support as emu

CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
OWNER = ("owner@contoso.onmicrosoft.com", "Owner-Passw0rd!", "a1d0e5f2-0c3b-4d7a-9e1f-000000000001")
CONTRIBUTOR = ("contributor@contoso.onmicrosoft.com", "Contributor-Passw0rd!")
READER = ("reader@contoso.onmicrosoft.com", "Reader-Passw0rd!")
ANALYST = ("analyst@contoso.onmicrosoft.com", "Analyst-Passw0rd!")
GROUPS = ["b7e4c2a1-9d3f-4b6e-8a2c-000000000002", "b7e4c2a1-9d3f-4b6e-8a2c-000000000001"]
ARM_SCOPE = emu.CLASSIC_ARM_SCOPE
NODE_LIB = emu.HERE.parent / "node" / "lib"
BROWSER_HOOK = NODE_LIB / "browser-hook.sh"
SIGNIN_JS = NODE_LIB / "browser-signin.js"
SCREENSHOTS = emu.HERE.parent / "output" / "screenshots"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


# The default world, but the Azure CLI's tokens live 299 s: by every client's reckoning (msal counts a
# token with under 300 s left as expired) each silent call refreshes with the refresh token.
SHORT_LIVED_CLI = 'client_id = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"\ntoken_lifetime_seconds = 299'


@pytest.fixture(scope="module")
def users_running(tmp_path_factory):
    work = tmp_path_factory.mktemp("users-emulator")
    world = emu.DEFAULT_WORLD.read_text()
    assert world.count('client_id = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"') == 1
    (work / "world.toml").write_text(world.replace('client_id = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"', SHORT_LIVED_CLI))
    running = emu.start_emulator(work, "--listen-443", "--fixtures", str(work / "world.toml"), in_memory=True)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def users_emulator(users_running):
    """The users emulator's ready-file dict."""
    return users_running.ready


@pytest.fixture(autouse=True)
def _trust_users_emulator(users_emulator, monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.setenv(name, users_emulator["ca_bundle"])
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def uadmin(users_running):
    """The users emulator's control API; afterwards auto sign-in off, clock resumed, world reset."""
    admin = emu.Admin(users_running)
    yield admin
    requests.put(f"{admin.url}/_emulator/interactive", json={"auto_sign_in": None}, verify=admin.verify, timeout=30)
    admin.clock(resume=True)
    admin.reset()


@pytest.fixture
def browser(monkeypatch, tmp_path):
    """BROWSER points at the hook (headless Chromium signs in as BROWSER_USER); returns its log path."""
    log = tmp_path / "browser.log"
    monkeypatch.setenv("BROWSER", str(BROWSER_HOOK))
    monkeypatch.setenv("BROWSER_LOG", str(log))
    return log


def _url(ready) -> str:
    return ready["url"].rstrip("/")


def _need_443(ready):
    if not ready.get("listening_on_443"):
        if os.geteuid() == 0:
            pytest.fail("serve --listen-443 did not bind 127.0.0.1:443 although running as root")
        pytest.skip("msal ROPC needs the emulator on port 443 (run as root, as CI does)")


def _approve(admin, user_code: str, user: str, action: str = "approve"):
    resp = admin.post(f"/_emulator/device-codes/{user_code}", json={"action": action, "user": user})
    assert resp.status_code == 200, resp.text


def _browser_results(log: Path) -> list[dict]:
    """The hook's Chromium runs' result lines; it prints once the browser closed, which can be just
    after the SDK already got its redirect, so wait a little for it."""
    deadline = time.monotonic() + 15
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def _scenario(ready, params, home, env=None) -> dict:
    """An azureml-core scenario's value. The vendored az core's interactive login also asks
    management.azure.com for cloud metadata and only logs a warning when that fails (observed on real
    Azure too): that one blocked lookup is azureml-core's, every other one fails the test."""
    result = emu.run_scenario(ready, "interactive_workspace", params, home=home, env=env)
    assert result.ok, f"scenario failed: {json.dumps(result.error, indent=2)}\nstderr:\n{result.stderr[-4000:]}"
    assert set(result.blocked_lookups) <= {"management.azure.com"}, result.blocked_lookups
    return result.value


# --- msal ------------------------------------------------------------------------------------------


def test_msal_ropc_with_listen_443_then_silent_refresh(users_emulator, uadmin):
    _need_443(users_emulator)
    app = msal.PublicClientApplication(CLI, authority=f"{_url(users_emulator)}/organizations", instance_discovery=False)
    result = app.acquire_token_by_username_password(OWNER[0], OWNER[1], scopes=[ARM_SCOPE])
    assert "access_token" in result, result
    claims = emu.claims(result["access_token"])
    assert (claims["upn"], claims["oid"], claims["tid"]) == (OWNER[0], OWNER[2], users_emulator["tenant_id"])
    assert result["id_token_claims"]["preferred_username"] == OWNER[0]
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{OWNER[2]}.{users_emulator['tenant_id']}"
    silent = app.acquire_token_silent([ARM_SCOPE], account=account, force_refresh=True)
    assert silent["token_source"] == "identity_provider"
    assert emu.claims(silent["access_token"])["uti"] != claims["uti"]
    wrong = app.acquire_token_by_username_password(OWNER[0], "not-the-password", scopes=[ARM_SCOPE])
    assert (wrong["error"], wrong["error_codes"]) == ("invalid_grant", [50126]), wrong
    unknown = app.acquire_token_by_username_password("nobody@contoso.onmicrosoft.com", "x", scopes=[ARM_SCOPE])
    assert unknown["error_codes"] == [50034], unknown


def test_msal_ropc_refusals_for_locked_and_mfa_users(users_emulator, uadmin):
    _need_443(users_emulator)
    for upn, flags in [("locked", {"locked": True}), ("mfa", {"mfaRequired": True})]:
        made = uadmin.post(
            "/_emulator/users",
            json={"displayName": upn, "userPrincipalName": f"{upn}@contoso.onmicrosoft.com", "password": "P-1", **flags},
        )
        assert made.status_code == 201, made.text
    app = msal.PublicClientApplication(CLI, authority=f"{_url(users_emulator)}/organizations", instance_discovery=False)
    locked = app.acquire_token_by_username_password("locked@contoso.onmicrosoft.com", "P-1", scopes=[ARM_SCOPE])
    assert locked["error_codes"] == [50053], locked
    mfa = app.acquire_token_by_username_password("mfa@contoso.onmicrosoft.com", "P-1", scopes=[ARM_SCOPE])
    assert (mfa["error"], mfa["error_codes"], mfa.get("suberror")) == ("invalid_grant", [50076], "basic_action"), mfa


def test_msal_device_flow_approved_through_the_control_api(users_emulator, uadmin):
    app = msal.PublicClientApplication(
        CLI, authority=f"{_url(users_emulator)}/{users_emulator['tenant_id']}", instance_discovery=False
    )
    flow = app.initiate_device_flow(scopes=[ARM_SCOPE])
    assert len(flow["user_code"]) == 9 and flow["interval"] == 5 and flow["expires_in"] == 900, flow
    assert flow["verification_uri"] == f"{_url(users_emulator)}/devicelogin"
    _approve(uadmin, flow["user_code"], READER[0])
    result = app.acquire_token_by_device_flow(flow)  # the first poll already finds it approved
    assert emu.claims(result["access_token"])["upn"] == READER[0], result
    declined = app.initiate_device_flow(scopes=[ARM_SCOPE])
    _approve(uadmin, declined["user_code"], "", action="deny")
    refused = app.acquire_token_by_device_flow(declined)
    assert refused["error"] == "authorization_declined", refused


def test_msal_interactive_through_the_browser_hook_then_force_refresh(users_emulator, uadmin, browser, monkeypatch):
    monkeypatch.setenv("BROWSER_USER", CONTRIBUTOR[0])
    monkeypatch.setenv("BROWSER_PASSWORD", CONTRIBUTOR[1])
    app = msal.PublicClientApplication(
        CLI, authority=f"{_url(users_emulator)}/{users_emulator['tenant_id']}", instance_discovery=False
    )
    result = app.acquire_token_interactive([ARM_SCOPE], timeout=90, prompt="select_account")
    assert "access_token" in result, result
    assert emu.claims(result["access_token"])["upn"] == CONTRIBUTOR[0]
    assert result["id_token_claims"]["nonce"]  # msal checked it against its own
    [opened] = [line for line in browser.read_text().splitlines() if line.startswith("http")]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(opened).query)
    assert query["response_mode"] == ["form_post"] and query["code_challenge_method"] == ["S256"]
    [done] = _browser_results(browser)
    assert (done["ok"], done["loopbackMethod"], done["loopbackStatus"]) == (True, "POST", 200), done
    [account] = app.get_accounts()
    silent = app.acquire_token_silent([ARM_SCOPE], account=account, force_refresh=True)
    assert silent["token_source"] == "identity_provider"
    assert emu.claims(silent["access_token"])["upn"] == CONTRIBUTOR[0]


# --- azure-identity ----------------------------------------------------------------------------------


def test_azure_identity_device_code_credential(users_emulator, uadmin):
    from azure.identity import DeviceCodeCredential

    prompts = []

    def prompt(verification_uri, user_code, expires_on):
        prompts.append(verification_uri)
        _approve(uadmin, user_code, ANALYST[0])

    cred = DeviceCodeCredential(
        tenant_id=users_emulator["tenant_id"],
        authority=_url(users_emulator),
        disable_instance_discovery=True,
        prompt_callback=prompt,
        timeout=60,
    )
    claims = emu.claims(cred.get_token(ARM_SCOPE).token)
    assert (claims["upn"], claims["groups"]) == (ANALYST[0], GROUPS)
    assert prompts == [f"{_url(users_emulator)}/devicelogin"]
    # Another resource through the refresh token: no second prompt.
    ml = emu.claims(cred.get_token(emu.AML_SCOPE).token)
    assert (ml["aud"], len(prompts)) == ("https://ml.azure.com", 1)


def test_azure_identity_interactive_browser_credential(users_emulator, uadmin, browser, monkeypatch):
    from azure.identity import InteractiveBrowserCredential

    monkeypatch.setenv("BROWSER_USER", READER[0])
    monkeypatch.setenv("BROWSER_PASSWORD", READER[1])
    cred = InteractiveBrowserCredential(
        tenant_id=users_emulator["tenant_id"], authority=_url(users_emulator), disable_instance_discovery=True, timeout=90
    )
    token = cred.get_token(emu.ARM_SCOPE).token
    assert emu.claims(token)["upn"] == READER[0]
    assert _browser_results(browser)[0]["ok"]


def test_azure_identity_username_password_credential(users_emulator, uadmin):
    _need_443(users_emulator)
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import UsernamePasswordCredential

    def cred(password):
        return UsernamePasswordCredential(
            CLI, OWNER[0], password, tenant_id=users_emulator["tenant_id"], authority=_url(users_emulator),
            disable_instance_discovery=True,
        )

    assert emu.claims(cred(OWNER[1]).get_token(ARM_SCOPE).token)["upn"] == OWNER[0]
    with pytest.raises(ClientAuthenticationError, match="AADSTS50126"):
        cred("wrong").get_token(ARM_SCOPE)


# --- azureml-core ---------------------------------------------------------------------------------


def _config_dir(tmp_path, ready) -> str:
    """A config.json as Microsoft's article writes it."""
    path = tmp_path / "config"
    path.mkdir()
    (path / "config.json").write_text(
        json.dumps(
            {"subscription_id": ready["subscription_id"], "resource_group": emu.RESOURCE_GROUP, "workspace_name": emu.WORKSPACE}
        )
    )
    return str(path)


def test_azureml_core_device_code_refresh_and_revocation(users_emulator, uadmin, tmp_path):
    """No DISPLAY: azureml-core falls back to the device code, approved on its first poll (auto sign-in).
    The Azure CLI's tokens live 299 s here, under msal's five-minute margin: every header refreshes
    with the refresh token. A revoked refresh token leads to a new sign-in, as in Azure."""
    resp = requests.put(f"{uadmin.url}/_emulator/interactive", json={"auto_sign_in": OWNER[0]}, verify=uadmin.verify)
    assert resp.status_code == 200, resp.text
    params = emu.scenario_params(users_emulator, config_dir=_config_dir(tmp_path, users_emulator), revoke_user=OWNER[0])
    value = _scenario(users_emulator, params, tmp_path / "home")
    device = "urn:ietf:params:oauth:grant-type:device_code"
    # Sign-in, then (tokens expiring at once) refreshes only: never a second device code.
    assert value["sign_in"][:2] == ["devicecode", device], value
    assert set(value["sign_in"][2:]) <= {"refresh_token"}, value
    assert value["workspace"]["name"] == emu.WORKSPACE
    assert value["claims"]["upn"] == OWNER[0] and value["claims"]["tid"] == users_emulator["tenant_id"]
    assert value["claims"]["appid"] == CLI and value["claims"]["idtyp"] == "user"
    assert (value["second_header"], value["refreshed"]) == (["refresh_token"], True)
    # The refresh is refused (AADSTS50173), so azureml-core signs in anew, as against Azure.
    assert value["after_revoke"][:3] == ["refresh_token", "devicecode", device], value
    assert set(value["after_revoke"][3:]) <= {"refresh_token"}, value
    assert value["after_revoke_workspace"] == emu.WORKSPACE
    assert "msal_token_cache.json" in value["auth_dir_files"]


def test_azureml_core_browser_path_with_headless_chromium(users_emulator, uadmin, tmp_path):
    """DISPLAY + BROWSER + chromium on PATH: azureml-core opens the browser (the hook), Chromium fills
    the sign-in page, the form post reaches the SDK's listener, the code is redeemed with PKCE."""
    log = tmp_path / "browser.log"
    env = {
        "DISPLAY": ":99",
        "BROWSER": str(BROWSER_HOOK),
        "BROWSER_LOG": str(log),
        "BROWSER_USER": READER[0],
        "BROWSER_PASSWORD": READER[1],
    }
    params = emu.scenario_params(users_emulator, config_dir=_config_dir(tmp_path, users_emulator))
    value = _scenario(users_emulator, params, tmp_path / "home", env)
    assert value["sign_in"][0] == "authorization_code" and set(value["sign_in"][1:]) <= {"refresh_token"}, value
    assert (value["claims"]["upn"], value["workspace"]["name"]) == (READER[0], emu.WORKSPACE)
    opened = [line for line in log.read_text().splitlines() if line.startswith("http")]
    assert len(opened) == 1 and "/adfs/aad/" in opened[0] and "response_mode=form_post" in opened[0], opened
    assert _browser_results(log)[0]["loopbackMethod"] == "POST"


# --- the pages in a real browser -----------------------------------------------------------------


class _Loopback(http.server.BaseHTTPRequestHandler):
    """An application's loopback redirect listener: keeps what the form post brought."""

    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        _Loopback.received.append(dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"signed in")

    def log_message(self, *args):
        pass


def _chromium(*args: str) -> dict:
    env = {**os.environ, "SCREENSHOT_DIR": str(SCREENSHOTS), "BROWSER_USER": OWNER[0], "BROWSER_PASSWORD": OWNER[1]}
    proc = subprocess.run(["node", str(SIGNIN_JS), *args], capture_output=True, text=True, timeout=120, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stderr
    return json.loads(lines[-1])


def test_chromium_fills_the_device_code_and_sign_in_pages_and_saves_screenshots(users_emulator, uadmin):
    url, tenant = _url(users_emulator), users_emulator["tenant_id"]
    verify = users_emulator["ca_bundle"]
    flow = requests.post(f"{url}/{tenant}/oauth2/v2.0/devicecode", data={"client_id": CLI, "scope": ARM_SCOPE}, verify=verify).json()
    done = _chromium("--device", flow["verification_uri"], flow["user_code"])
    assert done["ok"] and "signed in" in done["done"], done
    poll = requests.post(
        f"{url}/{tenant}/oauth2/v2.0/token",
        data={"grant_type": "device_code", "client_id": CLI, "device_code": flow["device_code"]},
        verify=verify,
    )
    assert emu.claims(poll.json()["access_token"])["upn"] == OWNER[0], poll.text

    server = http.server.HTTPServer(("127.0.0.1", 0), _Loopback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    redirect = f"http://localhost:{server.server_address[1]}"
    query = urllib.parse.urlencode({
        "client_id": CLI, "response_type": "code", "redirect_uri": redirect, "scope": f"{ARM_SCOPE} openid", "state": "st",
        "response_mode": "form_post", "code_challenge": CHALLENGE, "code_challenge_method": "S256", "nonce": "n",
    })
    try:
        signed = _chromium(f"{url}/{tenant}/oauth2/v2.0/authorize?{query}")
    finally:
        server.shutdown()
    assert (signed["ok"], signed["loopbackMethod"]) == (True, "POST"), signed
    [posted] = _Loopback.received
    assert posted["state"] == "st"
    tokens = requests.post(
        f"{url}/{tenant}/oauth2/v2.0/token",
        data={"grant_type": "authorization_code", "client_id": CLI, "code": posted["code"], "redirect_uri": redirect,
              "code_verifier": VERIFIER, "scope": f"{ARM_SCOPE} openid"},
        verify=verify,
    )
    assert emu.claims(tokens.json()["id_token"])["nonce"] == "n", tokens.text
    for name in ("device-code-page.png", "sign-in-page.png"):
        assert (SCREENSHOTS / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


# --- groups and the ad verbs ---------------------------------------------------------------------


def _device_token(ready, admin, upn: str) -> str:
    app = msal.PublicClientApplication(CLI, authority=f"{_url(ready)}/{ready['tenant_id']}", instance_discovery=False)
    flow = app.initiate_device_flow(scopes=[ARM_SCOPE])
    _approve(admin, flow["user_code"], upn)
    return app.acquire_token_by_device_flow(flow)["access_token"]


def test_a_groups_reader_role_reaches_a_member_until_removed(users_emulator, uadmin):
    ready = users_emulator
    cli = lambda *args: emu.run_cli(ready, *args).json()  # noqa: E731
    upn = "gina@contoso.onmicrosoft.com"
    user = cli("ad", "user", "create", "--display-name", "Gina Group", "--user-principal-name", upn, "--password", "Gina-Passw0rd!")
    assert (user["userPrincipalName"], user["displayName"]) == (upn, "Gina Group")
    group = cli("ad", "group", "create", "--display-name", "ml-viewers", "--mail-nickname", "mlviewers")
    scope = emu.workspace_scope(ready["subscription_id"])
    assigned = cli("role", "assignment", "create", "--assignee", group["id"], "--role", "Reader", "--scope", scope)
    assert assigned["properties"]["principalType"] == "Group"
    assert emu.run_cli(ready, "ad", "group", "member", "add", "--group", "ml-viewers", "--member-id", user["id"]).returncode == 0
    assert [m["id"] for m in cli("ad", "group", "member", "list", "--group", group["id"])] == [user["id"]]
    token = _device_token(ready, uadmin, upn)
    get = lambda: requests.get(  # noqa: E731
        f"{_url(ready)}{scope}", params={"api-version": "2024-10-01"}, headers={"Authorization": f"Bearer {token}"},
        verify=ready["ca_bundle"], timeout=30,
    )
    assert get().status_code == 200, get().text
    assert emu.run_cli(ready, "ad", "group", "member", "remove", "--group", group["id"], "--member-id", upn).returncode == 0
    denied = get()
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "AuthorizationFailed"
    assert f"The client '{upn}'" in denied.json()["error"]["message"]
    shared = emu.run_cli(ready, "ml", "workspace", "share", "-w", emu.WORKSPACE, "-g", emu.RESOURCE_GROUP, "--user", upn, "--role", "reader")
    assert shared.returncode == 0, shared.stderr
    assert get().status_code == 200
    assert cli("ad", "user", "show", "--id", upn)["id"] == user["id"]
