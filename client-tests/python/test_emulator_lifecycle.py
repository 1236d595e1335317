"""The binary's start/stop contract that every client test relies on: ready file, env, SIGTERM."""

from __future__ import annotations

import json
import subprocess

import requests

import emulator_support as emu

ENV_KEYS = {
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "AZURE_AUTHORITY_HOST",
    "ARM_CLOUD_METADATA_URL",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CORE_INSTANCE_DISCOVERY",
    "AZUREML_EMULATOR_URL",
}


def test_ready_file_contents(emulator, world, default_app):
    r = emulator
    assert r["url"] == f"https://127.0.0.1:{r['port']}"
    assert isinstance(r["port"], int) and r["port"] > 0
    assert isinstance(r["pid"], int)
    tenant = world["tenants"][0]
    assert r["tenant_id"] == tenant["id"]
    assert r["tenant_domain"] == tenant["domains"][0]
    assert r["subscription_id"] == world["subscriptions"][0]["id"]
    assert r["service_principal"] == {
        "clientId": default_app["client_id"],
        "clientSecret": default_app["secrets"][0]["value"],
        "tenantId": tenant["id"],
        "subscriptionId": world["subscriptions"][0]["id"],
    }
    ca = open(r["ca_cert"]).read()
    bundle = open(r["ca_bundle"]).read()
    assert "BEGIN CERTIFICATE" in ca
    assert ca.strip() in bundle
    assert bundle.count("BEGIN CERTIFICATE") > 1  # system CAs + the emulator CA

    env = r["env"]
    assert set(env) >= ENV_KEYS, sorted(ENV_KEYS - set(env))
    assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"] == env["CURL_CA_BUNDLE"] == r["ca_bundle"]
    assert env["NODE_EXTRA_CA_CERTS"] in (r["ca_bundle"], r["ca_cert"])
    assert env["AZURE_AUTHORITY_HOST"] == f"{r['url']}/adfs"
    assert env["ARM_CLOUD_METADATA_URL"] == f"{r['url']}/metadata/endpoints"
    assert env["AZURE_TENANT_ID"] == r["tenant_id"]
    assert env["AZURE_CLIENT_ID"] == r["service_principal"]["clientId"]
    assert env["AZURE_CLIENT_SECRET"] == r["service_principal"]["clientSecret"]
    assert env["AZURE_CORE_INSTANCE_DISCOVERY"] == "false"
    assert env["AZUREML_EMULATOR_URL"] == r["url"]


def test_tls_trusted_with_emulator_ca_only(emulator):
    # The server certificate chains to ca.pem and is valid for 127.0.0.1.
    resp = requests.get(emulator["url"] + "/_emulator/health", verify=emulator["ca_cert"], timeout=30)
    assert resp.status_code == 200


def test_env_command_prints_same_env(emulator):
    binary = str(emu.require_binary())
    out = subprocess.run(
        [binary, "env", "--data-dir", emulator["data_dir"], "--format", "json"],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == emulator["env"]

    for fmt in ("sh", "dotenv", "powershell"):
        out = subprocess.run(
            [binary, "env", "--data-dir", emulator["data_dir"], "--format", fmt],
            capture_output=True, text=True, timeout=30,
        )
        assert out.returncode == 0, (fmt, out.stderr)
        for key, value in emulator["env"].items():
            assert key in out.stdout, (fmt, key)
            assert str(value) in out.stdout, (fmt, key, value)


def test_in_memory_start_and_sigterm(tmp_path):
    process = emu.start_emulator(tmp_path, in_memory=True)
    try:
        ready = process.ready
        assert ready["pid"] == process.pid
        resp = requests.get(ready["url"] + "/_emulator/health", verify=ready["ca_bundle"], timeout=30)
        assert resp.status_code == 200
    finally:
        code = process.stop()
    assert code == 0, f"exit status after SIGTERM: {code}\nstderr:\n{process.stderr()}"
