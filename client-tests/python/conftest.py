"""Fixtures for the real-SDK Python client tests, built on the azureml-emulator package's pytest plugin
(installed from the local wheel by client-tests/run), so the suite uses what users get.

* ``emulator`` (session): the plugin's ``azureml_emulator`` (``serve --port 0``, temp data dir, ready
  file) as the ready-file dict (url, port, ca_bundle, tenant_id, service_principal, env, ...). If it
  cannot start, the session stops with one message.
* ``admin`` (session): helper for the /_emulator admin API (clock, reset, health).
* ``restore_clock`` / ``reset_world``: the plugin's ``azureml_emulator_reset``: the emulator is put back
  (clock resume + POST /_emulator/reset) after a test that moves the clock or changes the world.
* ``admin_sp`` / ``subscription_id`` / ``ws_scope``: the default world's Owner service principal
  (ml-admin), subscription and workspace scope, for the ARM + RBAC tests.
* ``region_outage``: for tests that mark the workspace region down; turns the outage off, resumes
  the clock and resets the world afterwards.
* ``reader_principal``: a new service principal with Reader on the default workspace
  (``sp create-for-rbac --role Reader``), plus its object id; the world is reset afterwards.
* An autouse fixture gives each test the environment these tests were written for: the TLS trust
  variables point at the emulator's CA bundle (the machine presets REQUESTS_CA_BUNDLE /
  CURL_CA_BUNDLE / SSL_CERT_FILE to the system bundle, which lacks the emulator CA), and every other
  SDK variable, from outside or from the plugin's session env, is removed, so each test configures
  the SDKs itself and asserts what that configuration does.
* An autouse session guard refuses DNS lookups of anything but loopback names, so an SDK that
  tries to reach the real cloud (instance discovery, IMDS by name, ...) fails fast and visibly.
"""

from __future__ import annotations

import socket
import uuid

import azureml_emulator
import pytest

import emulator_support as emu

# Variables from the outer environment (or the plugin's session env) that would change how the SDKs behave.
_SDK_ENV_VARS = [
    "AZURE_AUTHORITY_HOST",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_REGIONAL_AUTHORITY_NAME",
    "AZURE_CORE_INSTANCE_DISCOVERY",
    "AZURE_SUBSCRIPTION_ID",
    "ARM_CLOUD_METADATA_URL",
    "AZUREML_EMULATOR_URL",
    "NODE_EXTRA_CA_CERTS",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "DEFAULT_IDENTITY_CLIENT_ID",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
]

BLOCKED_LOOKUPS: list[str] = []


def _is_loopback_name(host: str) -> bool:
    return host in ("localhost", "ip6-localhost", "::1") or host.startswith("127.")


@pytest.fixture(scope="session", autouse=True)
def offline_guard():
    """Refuse DNS for non-loopback hosts: the tests must never leave 127.0.0.1."""
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback_name(name):
            BLOCKED_LOOKUPS.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"client-tests offline guard refused DNS for {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = guarded
    try:
        yield BLOCKED_LOOKUPS
    finally:
        socket.getaddrinfo = real_getaddrinfo


@pytest.fixture(scope="session")
def emulator(request):
    """The shared emulator instance for the session (the plugin's): yields its ready-file dict."""
    try:
        running = request.getfixturevalue("azureml_emulator")
    except azureml_emulator.EmulatorError as exc:
        # Every test needs it: stop the whole session with one clear message.
        pytest.exit(f"cannot start the emulator: {exc}", returncode=1)
    return running.ready


@pytest.fixture(scope="session")
def admin(emulator, azureml_emulator):
    return emu.Admin(azureml_emulator)


@pytest.fixture(autouse=True)
def emulator_env(request, monkeypatch):
    """Trust the emulator CA (overriding the machine's presets) and drop every other SDK variable."""
    for name in _SDK_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    if "emulator" not in request.fixturenames:
        return  # e.g. lifecycle tests that run private instances and set their own env
    ready = request.getfixturevalue("emulator")
    for name in ready["env"]:
        monkeypatch.delenv(name, raising=False)
    bundle = ready["ca_bundle"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", bundle)
    monkeypatch.setenv("SSL_CERT_FILE", bundle)


@pytest.fixture
def restore_clock(admin, azureml_emulator_reset):
    """For tests that move the emulator clock: put it back (resume + reset) afterwards."""
    return admin


@pytest.fixture
def reset_world(admin, azureml_emulator_reset):
    """For tests that change the world (new service principals, role assignments, workspaces)."""
    return admin


@pytest.fixture
def region_outage(admin, azureml_emulator_reset):
    """For tests that switch a region outage on: off again (then clock resume + reset) afterwards."""
    yield admin
    admin.outage(emu.WORKSPACE_REGION, False)


@pytest.fixture
def reader_principal(emulator, ws_scope, reset_world):
    """A new service principal holding only Reader on ml-example: appId, password, tenant, objectId."""
    created = emu.run_cli(
        emulator, "sp", "create-for-rbac", "--name", f"reader-{uuid.uuid4().hex[:8]}", "--role", "Reader",
        "--scopes", ws_scope,
    ).json()
    shown = emu.run_cli(emulator, "sp", "show", "--id", created["appId"]).json()
    return {**created, "objectId": shown["id"]}


@pytest.fixture(scope="session")
def world():
    return emu.load_world()


@pytest.fixture(scope="session")
def sp(emulator):
    """The default service principal as printed in the ready file."""
    return emulator["service_principal"]


@pytest.fixture(scope="session")
def tenant_id(emulator):
    return emulator["tenant_id"]


@pytest.fixture(scope="session")
def url(emulator):
    return emulator["url"].rstrip("/")


@pytest.fixture(scope="session")
def expired_app(world):
    app = emu.application(world, "ml-auth-expired")
    return {"clientId": app["client_id"], "clientSecret": app["secrets"][0]["value"]}


@pytest.fixture(scope="session")
def disabled_app(world):
    app = emu.application(world, "ml-auth-disabled")
    return {"clientId": app["client_id"], "clientSecret": app["secrets"][0]["value"]}


@pytest.fixture(scope="session")
def default_app(world):
    return emu.application(world, "ml-auth")


@pytest.fixture(scope="session")
def admin_sp(world):
    """ml-admin: Owner of the subscription, so it may grant roles (the default SP may not)."""
    app = emu.application(world, "ml-admin")
    return {"clientId": app["client_id"], "clientSecret": app["secrets"][0]["value"], "objectId": app["object_id"]}


@pytest.fixture(scope="session")
def subscription_id(emulator):
    return emulator["subscription_id"]


@pytest.fixture(scope="session")
def ws_scope(subscription_id):
    return emu.workspace_scope(subscription_id)


@pytest.fixture
def unknown_guid():
    return str(uuid.uuid4())
