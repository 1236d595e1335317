"""Credentials without secrets, with real SDKs and env exports only.

azure-identity CertificateCredential (the PEM `sp create-for-rbac --create-cert` writes, also with
``send_certificate_chain=True``), ClientAssertionCredential, WorkloadIdentityCredential,
ManagedIdentityCredential through IMDS, App Service and Azure ML (system- and user-assigned), and
DefaultAzureCredential picking each; msal with a private key and thumbprint; azureml-core
MsiAuthentication then Workspace.get. Each with a failure case: the SDK's own exception and code.
"""

from __future__ import annotations

import uuid

import msal
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    CertificateCredential,
    ClientAssertionCredential,
    CredentialUnavailableError,
    DefaultAzureCredential,
    EnvironmentCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes

import emulator_support as emu

COMPUTE = "cpu-cluster"
COMPUTE_CLIENT = "7c3d2e1f-4a5b-4c6d-8e7f-00000000c001"
UAMI = "ml-uami"
UAMI_CLIENT = "7c3d2e1f-4a5b-4c6d-8e7f-00000000aa01"
UAMI_PRINCIPAL = "5e2f1a0b-6c7d-4e8f-9a0b-00000000aa01"
UNKNOWN = "https://unknown.example.com/.default"


def _env(emulator, *args) -> dict[str, str]:
    return emu.run_cli(emulator, "env", *args, "--format", "json").json()


def _apply(monkeypatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))


@pytest.fixture
def cert_apps(emulator, tmp_path, monkeypatch, reset_world):
    """Two new service principals with certificates (create-for-rbac --create-cert, HOME in tmp)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    make = lambda: emu.run_cli(emulator, "sp", "create-for-rbac", "--name", f"py-cert-{uuid.uuid4().hex[:8]}", "--create-cert").json()
    return make(), make()


def test_certificate_credential_with_the_create_cert_pem(monkeypatch, url, tenant_id, cert_apps):
    mine, other = cert_apps
    assert mine["password"] is None
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"{url}/adfs")
    for chain in (False, True):
        cred = CertificateCredential(tenant_id, mine["appId"], mine["fileWithCertAndPrivateKey"], send_certificate_chain=chain)
        c = emu.claims(cred.get_token(emu.ARM_SCOPE).token)
        assert (c["appid"], c["appidacr"]) == (mine["appId"], "2")
    wrong = CertificateCredential(tenant_id, mine["appId"], other["fileWithCertAndPrivateKey"])
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        wrong.get_token(emu.ARM_SCOPE)


def test_environment_and_default_credential_pick_the_certificate(monkeypatch, emulator, cert_apps):
    mine, _ = cert_apps
    env = {k: v for k, v in emulator["env"].items() if k != "AZURE_CLIENT_SECRET"}
    env.update(AZURE_CLIENT_ID=mine["appId"], AZURE_CLIENT_CERTIFICATE_PATH=mine["fileWithCertAndPrivateKey"])
    _apply(monkeypatch, env)
    for cred in (EnvironmentCredential(), DefaultAzureCredential()):
        assert emu.claims(cred.get_token(emu.ARM_SCOPE).token)["appid"] == mine["appId"]


def _key_and_thumbprint(pem_path: str) -> tuple[str, str]:
    text = open(pem_path).read()
    cert = x509.load_pem_x509_certificate(text[text.index("-----BEGIN CERTIFICATE-----"):].encode())
    return text[: text.index("-----BEGIN CERTIFICATE-----")], cert.fingerprint(hashes.SHA1()).hex()


def test_msal_with_a_private_key_and_thumbprint(url, tenant_id, cert_apps):
    mine, other = cert_apps
    key, thumbprint = _key_and_thumbprint(mine["fileWithCertAndPrivateKey"])
    app = msal.ConfidentialClientApplication(
        mine["appId"], client_credential={"private_key": key, "thumbprint": thumbprint},
        authority=f"{url}/{tenant_id}", instance_discovery=False,
    )
    result = app.acquire_token_for_client([emu.ARM_SCOPE])
    assert emu.claims(result["access_token"])["appid"] == mine["appId"], result
    _, other_thumbprint = _key_and_thumbprint(other["fileWithCertAndPrivateKey"])
    wrong = msal.ConfidentialClientApplication(
        mine["appId"], client_credential={"private_key": key, "thumbprint": other_thumbprint},
        authority=f"{url}/{tenant_id}", instance_discovery=False,
    )
    failed = wrong.acquire_token_for_client([emu.ARM_SCOPE])
    assert (failed.get("error"), failed.get("error_codes")) == ("invalid_client", [700027]), failed


def _subject_token(emulator, sub: str | None = None) -> str:
    args = ["token"] + (["--sub", sub] if sub else [])
    out = emu.run_cli(emulator, "federation", *args)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_client_assertion_credential_with_a_federated_token(monkeypatch, emulator, url, tenant_id, sp):
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"{url}/adfs")
    token = _subject_token(emulator)
    cred = ClientAssertionCredential(tenant_id, sp["clientId"], lambda: token)
    assert emu.claims(cred.get_token(emu.ARM_SCOPE).token)["appid"] == sp["clientId"]
    other = _subject_token(emulator, "repo:contoso/other:ref:refs/heads/main")
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        ClientAssertionCredential(tenant_id, sp["clientId"], lambda: other).get_token(emu.ARM_SCOPE)


def test_workload_identity_credential_and_default_credential_from_env(monkeypatch, emulator, sp, tmp_path):
    env = _env(emulator, "--workload-identity", "ml-auth")
    assert "AZURE_CLIENT_SECRET" not in env
    _apply(monkeypatch, env)
    for cred in (WorkloadIdentityCredential(), DefaultAzureCredential()):
        assert emu.claims(cred.get_token(emu.ARM_SCOPE).token)["appid"] == sp["clientId"]
    wrong = tmp_path / "token"
    wrong.write_text(_subject_token(emulator, "repo:contoso/other:ref:refs/heads/main") + "\n")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(wrong))
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        WorkloadIdentityCredential().get_token(emu.ARM_SCOPE)


@pytest.mark.parametrize("endpoint", ["imds", "app-service", "azure-ml"])
def test_managed_identity_credential_through_each_endpoint(monkeypatch, emulator, endpoint):
    _apply(monkeypatch, _env(emulator, "--managed-identity", COMPUTE, "--endpoint", endpoint))
    system = emu.claims(ManagedIdentityCredential().get_token(emu.ARM_SCOPE).token)
    assert (system["appid"], system["xms_mirid"].split("/")[-1]) == (COMPUTE_CLIENT, COMPUTE)
    user = emu.claims(ManagedIdentityCredential(client_id=UAMI_CLIENT).get_token(emu.AML_SCOPE).token)
    assert user["oid"] == UAMI_PRINCIPAL
    # An unknown resource: the endpoint's 400 carries AAD's code; azure-identity raises its own.
    with pytest.raises((CredentialUnavailableError, ClientAuthenticationError), match="AADSTS500011") as excinfo:
        ManagedIdentityCredential().get_token(UNKNOWN)
    expected = CredentialUnavailableError if endpoint == "imds" else ClientAuthenticationError
    assert isinstance(excinfo.value, expected), type(excinfo.value)


@pytest.mark.parametrize("endpoint", ["imds", "app-service", "azure-ml"])
def test_managed_identity_credential_refuses_an_unknown_identity(monkeypatch, emulator, endpoint):
    _apply(monkeypatch, _env(emulator, "--managed-identity", COMPUTE, "--endpoint", endpoint))
    stranger = "00000000-0000-4000-8000-000000000000"
    with pytest.raises((CredentialUnavailableError, ClientAuthenticationError), match="(?i)identity not found") as excinfo:
        ManagedIdentityCredential(client_id=stranger).get_token(emu.ARM_SCOPE)
    # IMDS answers 400 and azure-identity reads it as "unavailable"; the hosts with a secret raise.
    expected = CredentialUnavailableError if endpoint == "imds" else ClientAuthenticationError
    assert isinstance(excinfo.value, expected), type(excinfo.value)


@pytest.mark.parametrize(("endpoint", "secret_var"), [("app-service", "IDENTITY_HEADER"), ("azure-ml", "MSI_SECRET")])
def test_managed_identity_credential_with_a_wrong_host_secret(monkeypatch, emulator, endpoint, secret_var):
    env = _env(emulator, "--managed-identity", COMPUTE, "--endpoint", endpoint)
    assert secret_var in env, env
    env[secret_var] = "not-the-secret"
    _apply(monkeypatch, env)
    # azure-identity (through msal's managed-identity client) reads the host's refusal as the
    # source being unavailable, and carries the emulator's reason naming the variable.
    with pytest.raises(CredentialUnavailableError, match=secret_var):
        ManagedIdentityCredential().get_token(emu.ARM_SCOPE)


@pytest.mark.parametrize("endpoint", ["imds", "app-service", "azure-ml"])
def test_default_credential_picks_the_managed_identity(monkeypatch, emulator, endpoint):
    env = _env(emulator, "--managed-identity", COMPUTE, "--endpoint", endpoint, "--user-assigned", UAMI)
    assert env["AZURE_CLIENT_ID"] == UAMI_CLIENT and "AZURE_CLIENT_SECRET" not in env
    _apply(monkeypatch, env)
    assert emu.claims(DefaultAzureCredential().get_token(emu.ARM_SCOPE).token)["oid"] == UAMI_PRINCIPAL


def test_azureml_core_msi_authentication_then_workspace_get(emulator, tmp_path):
    env = _env(emulator, "--managed-identity", COMPUTE)
    params = emu.scenario_params(emulator, uami_client_id=UAMI_CLIENT)
    result = emu.scenario_value(emu.run_scenario(emulator, "v1_msi_workspace_get", params, home=tmp_path, env=env))
    user = emu.part_value(result["user_assigned"])
    assert (user["name"], user["oid"]) == (emu.WORKSPACE, UAMI_PRINCIPAL)
    # The compute's own identity holds AzureML Data Scientist, whose workspaces/*/read does not
    # cover reading the workspace itself: 403, as in Azure.
    error = emu.part_error(result["system_assigned"])
    assert "AuthorizationFailed" in error["message"], error
