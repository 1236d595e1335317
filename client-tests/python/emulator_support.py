"""Start/stop the azureml-emulator binary, talk to its admin API, run its CLI verbs and SDK scenarios.

Used by conftest.py (session fixture) and by the lifecycle tests, which start private instances.
Nothing in here knows about any Azure SDK: the tests drive the real, unmodified SDKs, either in
the pytest process or (azureml-core, azure-ai-ml) in a fresh interpreter via ``run_scenario``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azureml_emulator
import jwt
import requests

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_WORLD = REPO_ROOT / "fixtures" / "default.toml"
READY_TIMEOUT_SECONDS = float(os.environ.get("AZUREML_EMULATOR_READY_TIMEOUT", "20"))

ARM_SCOPE = "https://management.azure.com/.default"
ARM_RESOURCE = "https://management.azure.com/"
ARM_AUDIENCE = "https://management.azure.com"
CLASSIC_ARM_SCOPE = "https://management.core.windows.net//.default"
CLASSIC_ARM_AUDIENCE = "https://management.core.windows.net/"
UNKNOWN_SCOPE = "https://unknown.example.com/.default"

# The default world's ARM resources (fixtures/default.toml).
RESOURCE_GROUP = "ml-example-rg"
WORKSPACE = "ml-example"
WORKSPACE_ID = "3c9a7d1e-2b4f-4e6a-8d0c-5f1e2a3b4c5d"
WORKSPACES_PROVIDER = "Microsoft.MachineLearningServices/workspaces"

# Built-in role definition GUIDs (the same on every subscription, as in Azure).
ROLE_IDS = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
}

# The default world's web services (SDK v1, model-management) and online endpoints (SDK v2).
ACI_SERVICE = "aci-service-1"
ACI_PRIMARY_KEY = "aci-service-1-primary-dev-key-00000000000000="
ACI_SECONDARY_KEY = "aci-service-1-secondary-dev-key-0000000000000="
AKS_SERVICE = "aks-service-1"
AKS_STATIC_BODY = [217.67978776218715, 224.78937091757172]
EP_KEY = "ep-key"
EP_KEY_PRIMARY = "ep-key-primary-dev-key-000000000000000000000="
EP_KEY_SECONDARY = "ep-key-secondary-dev-key-0000000000000000000="
EP_AMLTOKEN = "ep-amltoken"
EP_AAD = "ep-aad"
WORKSPACE_REGION = "eastus"
AML_SCOPE = "https://ml.azure.com/.default"
MMS_API = "/modelmanagement/v1.0"
ONLINE_ENDPOINTS_API_VERSION = "2024-10-01"

SCENARIO_TIMEOUT_SECONDS = float(os.environ.get("AZUREML_SCENARIO_TIMEOUT", "300"))
SCENARIO_RESULT_MARKER = "@@SCENARIO_RESULT@@"
CLI_TIMEOUT_SECONDS = 60.0


EmulatorError = azureml_emulator.EmulatorError


def require_binary() -> Path:
    """The binary the azureml-emulator package starts (AZUREML_EMULATOR_BIN, else the wheel's, else PATH)."""
    return Path(azureml_emulator.find_binary())


def start_emulator(workdir: Path | None = None, *extra_args: str, in_memory: bool = False) -> azureml_emulator.Emulator:
    """A private emulator (port 0, ready file), started by the azureml-emulator package as users start it.

    ``workdir`` (optional) holds the data dir; extra ``serve`` arguments go last.
    """
    data_dir = None if in_memory or workdir is None else Path(workdir) / "data"
    return azureml_emulator.start(
        data_dir=data_dir, in_memory=in_memory, ready_timeout=READY_TIMEOUT_SECONDS, args=list(extra_args)
    )


class Admin:
    """The emulator's /_emulator admin API: clock and reset through the azureml-emulator package,
    raw calls with plain requests and the emulator CA bundle."""

    def __init__(self, emulator: azureml_emulator.Emulator):
        self.emulator = emulator
        self.url = emulator.url
        self.verify = emulator.ca_bundle

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, verify=self.verify, timeout=30, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, verify=self.verify, timeout=30, **kw)

    def health(self) -> requests.Response:
        return self.get("/_emulator/health")

    def clock(self, **payload) -> dict[str, Any]:
        """POST /_emulator/clock, e.g. clock(advance_seconds=3600), clock(freeze=True)."""
        return self.emulator.api("POST", "/clock", payload)

    def get_clock(self) -> dict[str, Any]:
        return self.emulator.clock.state()

    def reset(self) -> None:
        """POST /_emulator/reset (the world only: the clock is left as it is)."""
        self.emulator.reset(clock=False)

    def outage(self, region: str, on: bool) -> dict[str, Any]:
        """POST /_emulator/regions/{region}/outage {"on": on}: tokens cannot be issued there while on."""
        resp = self.post(f"/_emulator/regions/{region}/outage", json={"on": on})
        assert resp.status_code == 200, f"outage {region} {on} -> {resp.status_code} {resp.text}"
        return resp.json()

    def client_token(self, tenant_id: str, client_id: str, secret: str, scope: str = ARM_SCOPE) -> str:
        """A client-credentials access token straight from the token endpoint (test setup, no SDK)."""
        resp = self.post(
            f"/{tenant_id}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": scope},
        )
        assert resp.status_code == 200, f"token for {client_id} -> {resp.status_code} {resp.text}"
        return resp.json()["access_token"]

    def arm(self, method: str, path: str, token: str, api_version: str, **kw) -> requests.Response:
        """A raw ARM request (test setup: e.g. a second workspace the default SP has no role on)."""
        return requests.request(
            method,
            self.url + path,
            params={"api-version": api_version},
            headers={"Authorization": f"Bearer {token}"},
            verify=self.verify,
            timeout=30,
            **kw,
        )


def score(
    uri: str,
    *,
    verify: str,
    bearer: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST to a scoring URI with plain requests (a str body is sent as is, anything else as JSON).

    Returns the answer as plain data: status, parsed JSON body (or text), WWW-Authenticate, Content-Type.
    """
    all_headers = {"Content-Type": "application/json"}
    if bearer is not None:
        all_headers["Authorization"] = f"Bearer {bearer}"
    all_headers.update(headers or {})
    data = body if isinstance(body, (str, bytes)) else json.dumps(body if body is not None else {})
    resp = requests.post(uri, data=data, headers=all_headers, verify=verify, timeout=30)
    try:
        parsed: Any = resp.json()
    except ValueError:
        parsed = resp.text
    return {
        "status": resp.status_code,
        "body": parsed,
        "www_authenticate": resp.headers.get("WWW-Authenticate"),
        "content_type": resp.headers.get("Content-Type"),
    }


def load_world(path: Path = DEFAULT_WORLD) -> dict[str, Any]:
    with open(path, "rb") as f:
        return tomllib.load(f)


def application(world: dict[str, Any], display_name: str) -> dict[str, Any]:
    for app in world.get("applications", []):
        if app["display_name"] == display_name:
            return app
    raise KeyError(f"application {display_name!r} not in {DEFAULT_WORLD}")


def claims(token: str) -> dict[str, Any]:
    """Decode a JWT's claims WITHOUT verifying it (signature checks are done separately, against JWKS)."""
    return jwt.decode(token, options={"verify_signature": False})


def header(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def subscription_scope(subscription_id: str) -> str:
    return f"/subscriptions/{subscription_id}"


def resource_group_scope(subscription_id: str, resource_group: str = RESOURCE_GROUP) -> str:
    return f"{subscription_scope(subscription_id)}/resourceGroups/{resource_group}"


def workspace_scope(subscription_id: str, resource_group: str = RESOURCE_GROUP, workspace: str = WORKSPACE) -> str:
    return f"{resource_group_scope(subscription_id, resource_group)}/providers/{WORKSPACES_PROVIDER}/{workspace}"


def mms_base(url: str, subscription_id: str, resource_group: str = RESOURCE_GROUP, workspace: str = WORKSPACE) -> str:
    """The model-management (SDK v1 web services) base URL of a workspace."""
    return f"{url.rstrip('/')}{MMS_API}{workspace_scope(subscription_id, resource_group, workspace)}"


def role_definition_id(subscription_id: str, role: str) -> str:
    """The subscription-qualified id ARM returns for a built-in role at any scope under the subscription."""
    return f"{subscription_scope(subscription_id)}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_IDS[role]}"


# --- the binary's CLI verbs (sp, role assignment, ml workspace share) ---------------------------


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.returncode == 0, f"{' '.join(self.args)} -> exit {self.returncode}\n{self.stderr}"
        return json.loads(self.stdout)


def run_cli(ready: dict[str, Any], group: str, *args: str, locate: str = "data-dir") -> CliResult:
    """Run `azureml-emulator GROUP <locate options> ARGS...` against a running emulator.

    ``locate`` picks how the verb finds the emulator: "data-dir" (the ready file in --data-dir)
    or "url" (--url + --ca-cert). They go right after GROUP, the place every version of the verbs accepts.
    """
    if locate == "data-dir":
        target = ["--data-dir", ready["data_dir"]]
    elif locate == "url":
        target = ["--url", ready["url"], "--ca-cert", ready["ca_cert"]]
    else:
        raise ValueError(locate)
    argv = [str(require_binary()), group, *target, *args]
    env = dict(os.environ)
    env.pop("AZUREML_EMULATOR_URL", None)  # only the explicit target counts
    proc = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, env=env
    )
    return CliResult(argv, proc.returncode, proc.stdout, proc.stderr)


# --- SDK scenarios in a fresh interpreter ---------------------------------------------------------

# Outer variables that change what azureml-core / azure-ai-ml / azure-identity do; the scenario
# child gets the emulator's printed env instead.
_CHILD_ENV_DROP_PREFIXES = ("AZURE_", "AZUREML_", "ARM_", "MSI_", "IDENTITY_", "MSAL_")
_CHILD_ENV_DROP = {"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"}


def scenario_env(ready: dict[str, Any], home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ minus outer Azure/proxy settings, plus the ready file's env and a private HOME.

    azureml-core reads ARM_CLOUD_METADATA_URL (trust from SSL_CERT_FILE) when it is imported and
    caches workspace discovery under ~/.azureml; azure-ai-ml sets AZUREML_CURRENT_CLOUD in
    os.environ. A fresh interpreter with its own HOME keeps every scenario independent.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_CHILD_ENV_DROP_PREFIXES) and k.upper() not in _CHILD_ENV_DROP
    }
    env.update({k: str(v) for k, v in ready["env"].items()})
    home = Path(home)
    (home / ".azure").mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    env["AZURE_CONFIG_DIR"] = str(home / ".azure")
    env["PYTHONPATH"] = str(HERE)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class ScenarioResult:
    ok: bool
    value: Any
    error: dict[str, Any] | None
    blocked_lookups: list[str]
    stdout: str
    stderr: str


def scenario_params(emulator, **extra) -> dict[str, Any]:
    """What every SDK scenario needs to find the emulator and the default workspace, plus ``extra``."""
    return {
        "url": emulator["url"].rstrip("/"),
        "ca_bundle": emulator["ca_bundle"],
        "tenant_id": emulator["tenant_id"],
        "subscription_id": emulator["subscription_id"],
        "resource_group": RESOURCE_GROUP,
        "workspace": WORKSPACE,
        **extra,
    }


def run_scenario(
    ready: dict[str, Any],
    name: str,
    params: dict[str, Any] | None = None,
    *,
    home: Path,
    env: dict[str, str] | None = None,
) -> ScenarioResult:
    """Run sdk_scenarios.<name>(params) in a fresh `python` (this venv's) and return its JSON result."""
    argv = [sys.executable, str(HERE / "scenario_runner.py"), name]
    child_env = scenario_env(ready, home, env)
    child_env["EMULATOR_SCENARIO_PARAMS"] = json.dumps(params or {})
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT_SECONDS,
            env=child_env,
            cwd=home,
        )
    except subprocess.TimeoutExpired as exc:
        raise EmulatorError(
            f"scenario {name} did not finish within {SCENARIO_TIMEOUT_SECONDS:.0f}s\n"
            f"stdout:\n{exc.stdout}\nstderr:\n{exc.stderr}"
        ) from None
    lines = [line for line in proc.stdout.splitlines() if line.startswith(SCENARIO_RESULT_MARKER)]
    if not lines:
        raise EmulatorError(
            f"scenario {name} produced no result (exit {proc.returncode}).\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    out = json.loads(lines[-1][len(SCENARIO_RESULT_MARKER):])
    return ScenarioResult(
        ok=out["ok"],
        value=out.get("value"),
        error=out.get("error"),
        blocked_lookups=out.get("blocked_lookups", []),
        stdout=proc.stdout,
        stderr=proc.stderr,
    )


def scenario_value(result: ScenarioResult) -> Any:
    """The scenario's return value; fails the test if it raised or tried to leave 127.0.0.1."""
    assert result.ok, f"scenario failed: {json.dumps(result.error, indent=2)}\nstderr:\n{result.stderr[-4000:]}"
    assert result.blocked_lookups == [], result.blocked_lookups
    return result.value


def part_value(part: dict[str, Any]) -> Any:
    """One ``sdk_scenarios.outcome`` that must have succeeded."""
    assert part["ok"], json.dumps(part["error"], indent=2)
    return part["value"]


def part_error(part: dict[str, Any]) -> dict[str, Any]:
    """One ``sdk_scenarios.outcome`` that must have raised: its ``describe_error`` dict."""
    assert not part["ok"], f"expected an exception, got {part['value']!r}"
    return part["error"]
