"""The azureml-emulator Python package and pytest plugin (emulator/python), installed from the wheel.

These start private emulators (the ``azureml_emulator_factory`` fixture or ``azureml_emulator.start``)
and inner pytest sessions (pytester), so nothing here depends on, or changes, the session emulator.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import sysconfig
import time
from pathlib import Path

import azureml_emulator
import pytest
import requests
from azureml_emulator import EmulatorError

pytest_plugins = ["pytester"]


def test_wheel_installs_the_binary_next_to_the_interpreter():
    # What `pip install azureml-emulator` promises: the binary on the venv's PATH.
    if os.environ.get("AZUREML_EMULATOR_BIN"):
        pytest.skip("AZUREML_EMULATOR_BIN overrides the wheel's binary in this run")
    found = Path(azureml_emulator.find_binary())
    assert found.parent == Path(sysconfig.get_path("scripts")).resolve(), found


def test_missing_binary_is_a_clear_error(tmp_path):
    with pytest.raises(EmulatorError, match="not found or not executable.*nope"):
        azureml_emulator.start(binary=tmp_path / "nope")


def test_server_that_exits_early_reports_its_stderr(tmp_path):
    world = tmp_path / "world.toml"
    world.write_text("this is = not [valid toml\n")
    with pytest.raises(EmulatorError, match=r"(?s)exited with status \d+ before it was ready.*--fixtures.*stderr:\n.+"):
        azureml_emulator.start(fixtures=world)


def test_ready_file_is_managed_by_start():
    with pytest.raises(TypeError, match="ready_file"):
        azureml_emulator.start(ready_file="/tmp/x.json")


def test_serve_options_become_flags(azureml_emulator_factory):
    emu = azureml_emulator_factory(rbac="log-only", in_memory=True, workers=1)
    assert emu.api("GET", "/journal")["rbac_mode"] == "log-only"
    assert emu.ready["in_memory"] is True


def test_stop_is_clean_idempotent_and_removes_only_its_temp_dirs(tmp_path):
    kept = tmp_path / "kept-data"
    emu = azureml_emulator.start(data_dir=kept)
    assert emu.data_dir == str(kept.resolve())
    assert emu.health()
    workdir = Path(emu.ready["ca_bundle"]).parent
    assert workdir == kept.resolve()
    assert emu.stop() == 0
    assert emu.stop() == 0
    assert not emu.running
    assert (kept / "ca.pem").exists()  # the caller's data dir stays (later starts reuse it)

    with azureml_emulator.start() as temp:
        temp_data = Path(temp.data_dir)
        assert temp_data.is_dir()
    assert not temp.running
    assert not temp_data.exists()


def test_environ_applies_and_restores(azureml_emulator_factory):
    emu = azureml_emulator_factory(in_memory=True)
    env = {
        "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",  # a typical machine preset
        "AZURE_USERNAME": "someone@example.com",  # would make EnvironmentCredential pick another flow
        "NO_PROXY": "internal.example",
    }
    before = dict(env)
    with emu.environ(env) as applied:
        assert env["REQUESTS_CA_BUNDLE"] == emu.ca_bundle
        assert env["AZURE_AUTHORITY_HOST"] == f"{emu.url}/adfs"
        assert env["AZURE_CLIENT_ID"] == emu.credentials.client_id
        assert "AZURE_USERNAME" not in env
        assert env["NO_PROXY"] == "internal.example,127.0.0.1,localhost"
        assert applied["AZUREML_EMULATOR_URL"] == emu.url
    assert env == before


def test_clock_advance_freeze_set_and_reset(azureml_emulator_factory):
    emu = azureml_emulator_factory(in_memory=True)
    assert emu.clock.advance(dt.timedelta(hours=2))["offset_seconds"] >= 7200 - 1
    frozen = emu.clock.freeze()
    assert frozen["frozen"] is True
    time.sleep(1.1)
    assert emu.clock.state()["now"] == frozen["now"]
    state = emu.clock.set(dt.datetime(2030, 1, 2, 3, 4, 5))  # naive: UTC
    assert state["now"].startswith("2030-01-02T03:04:05")
    assert emu.clock.now() == dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    emu.reset()  # clock=True by default
    state = emu.clock.state()
    assert state["frozen"] is False and abs(state["offset_seconds"]) <= 1


def test_clock_client_true_moves_this_process_and_resume_brings_it_back(azureml_emulator_factory):
    emu = azureml_emulator_factory(in_memory=True)
    start = time.time()
    try:
        emu.clock.advance(3600, client=True)
        assert 3600 <= time.time() - start < 3600 + 30
        assert dt.datetime.now(dt.timezone.utc) > dt.datetime.fromtimestamp(start + 3590, dt.timezone.utc)
        emu.clock.freeze(client=True)
        frozen_at = time.time()
        time.sleep(0.3)
        assert time.time() == frozen_at
    finally:
        emu.clock.resume()
    assert time.time() - start < 60  # real time again


def test_clock_client_true_without_time_machine_moves_nothing(azureml_emulator_factory, monkeypatch):
    emu = azureml_emulator_factory(in_memory=True)
    monkeypatch.setitem(sys.modules, "time_machine", None)  # as if it were not installed
    with pytest.raises(EmulatorError, match="pip install time-machine"):
        emu.clock.advance(3600, client=True)
    assert emu.clock.state()["offset_seconds"] == 0  # checked before the emulator's clock moved


def test_control_api_errors_carry_status_and_body(azureml_emulator_factory):
    emu = azureml_emulator_factory(in_memory=True)
    with pytest.raises(EmulatorError, match=r"POST /_emulator/clock -> 400 .+"):
        emu.api("POST", "/clock", {"advance_seconds": 1, "freeze": True})
    emu.stop()
    with pytest.raises(EmulatorError, match="failed"):
        emu.api("GET", "/health")
    assert emu.health() is False


# --- the plugin, in inner pytest sessions --------------------------------------------------------

INNER_TESTS = '''
import os, requests

def test_env_applied(azureml_emulator):
    assert os.environ["REQUESTS_CA_BUNDLE"] == azureml_emulator.ca_bundle
    assert os.environ["AZURE_AUTHORITY_HOST"] == azureml_emulator.url + "/adfs"
    assert requests.get(azureml_emulator.url + "/_emulator/health", timeout=30).json() == {"status": "Healthy"}

def test_rbac_mode(azureml_emulator):
    assert azureml_emulator.api("GET", "/journal")["rbac_mode"] == os.environ["EXPECTED_RBAC"]

def test_reset_fixture_changes_world(azureml_emulator, azureml_emulator_reset):
    azureml_emulator.api("POST", "/service-principals", {"displayName": "inner-bot"})
    azureml_emulator.clock.advance(600)

def test_world_and_clock_were_reset(azureml_emulator):
    names = [a["display_name"] for a in azureml_emulator.api("GET", "/world")["applications"]]
    assert "inner-bot" not in names
    assert azureml_emulator.clock.state()["offset_seconds"] == 0

def test_clock_fixture(azureml_emulator_clock):
    assert azureml_emulator_clock.advance(60)["offset_seconds"] >= 59
'''


def test_plugin_fixtures_options_and_env_restore(pytester, monkeypatch):
    pytester.makepyfile(test_inner=INNER_TESTS)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/outer/bundle.pem")
    monkeypatch.setenv("EXPECTED_RBAC", "log-only")
    def environ():
        return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}

    before = environ()
    result = pytester.runpytest_inprocess("--azureml-emulator-rbac", "log-only", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    assert environ() == before  # the session's variables are gone again


def test_plugin_ini_options(pytester, monkeypatch):
    pytester.makepyfile(test_inner=INNER_TESTS)
    pytester.makeini("[pytest]\nazureml_emulator_rbac = enforce\n")
    monkeypatch.setenv("EXPECTED_RBAC", "enforce")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "rbac_mode")
    result.assert_outcomes(passed=1)


def test_plugin_fixtures_file_relative_to_rootdir(pytester, monkeypatch):
    world = (Path(__file__).resolve().parents[2] / "fixtures" / "default.toml").read_text()
    world = world.replace('"Emulated Subscription"', '"Sample Subscription"')
    assert "Sample Subscription" in world
    pytester.makefile(".toml", world=world)
    pytester.makeini("[pytest]\nazureml_emulator_fixtures = world.toml\n")
    pytester.makepyfile(test_world='''
def test_world(azureml_emulator):
    subs = azureml_emulator.api("GET", "/world")["subscriptions"]
    assert [s["display_name"] for s in subs] == ["Sample Subscription"]
''')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_start_failure_errors_every_test_once(pytester):
    pytester.makepyfile(test_inner='''
def test_a(azureml_emulator): pass
def test_b(azureml_emulator): pass
''')
    result = pytester.runpytest_inprocess("--azureml-emulator-bin", "/nonexistent/azureml-emulator", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*EmulatorError*not found or not executable*"])


def test_requests_with_the_session_env_reach_the_session_emulator(azureml_emulator):
    # The plugin applied its env for the session; this suite's autouse fixture narrows it per test to
    # the CA variables, which is all plain requests needs.
    assert requests.get(azureml_emulator.url + "/_emulator/health", timeout=30).status_code == 200
