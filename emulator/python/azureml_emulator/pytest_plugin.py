"""pytest plugin of azureml-emulator (registered through the ``pytest11`` entry point).

Fixtures:

``azureml_emulator`` (session)
    One emulator for the whole session, started on first use (port 0, temporary data dir) and stopped
    at the end. While it runs, its variables are in ``os.environ`` (CA bundle, ``AZURE_AUTHORITY_HOST``,
    ``ARM_CLOUD_METADATA_URL``, ``AZURE_TENANT_ID``/``CLIENT_ID``/``CLIENT_SECRET``/``SUBSCRIPTION_ID``...),
    so ``EnvironmentCredential``/``DefaultAzureCredential``, msal and azureml-core reach it with no code
    change; the previous environment comes back afterwards. Yields an :class:`azureml_emulator.Emulator`.

``azureml_emulator_reset`` (function)
    The same emulator; after the test, the clock goes back to real time (here and on the emulator) and
    the world back to what was loaded at start. Use it in tests that change the world or move the clock.

``azureml_emulator_clock`` (function)
    The emulator's :class:`azureml_emulator.Clock`; put back to real time after the test.
    ``clock.advance(3600, client=True)`` also moves this process's clock (needs ``time-machine``), so
    client-side token caches expire together with the emulator's tokens.

``azureml_emulator_factory`` (function)
    ``azureml_emulator_factory(fixtures=..., rbac="log-only", ...)`` starts a private emulator with other
    options (see :func:`azureml_emulator.start`); each is stopped after the test. It does not touch
    ``os.environ``: use ``with emu.environ(): ...``.

Options (command line, or the ini key in brackets):

``--azureml-emulator-fixtures FILE`` [``azureml_emulator_fixtures``]
    the world the session emulator loads (default: the built-in default world).
``--azureml-emulator-rbac enforce|log-only`` [``azureml_emulator_rbac``]
    RBAC mode of the session emulator (default: enforce).
``--azureml-emulator-bin PATH`` [``azureml_emulator_bin``]
    the binary (default: ``AZUREML_EMULATOR_BIN``, else the wheel's, else ``PATH``).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, List, Optional

import pytest

from ._emulator import Clock, Emulator, start

_RBAC_MODES = ("enforce", "log-only")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("azureml-emulator", "azureml-emulator (offline Azure ML / Entra ID)")
    group.addoption(
        "--azureml-emulator-fixtures", metavar="FILE", default=None,
        help="world file (TOML) for the session emulator; default: the built-in default world",
    )
    group.addoption(
        "--azureml-emulator-rbac", choices=_RBAC_MODES, default=None,
        help="RBAC mode of the session emulator: enforce (default) or log-only",
    )
    group.addoption(
        "--azureml-emulator-bin", metavar="PATH", default=None,
        help="the azureml-emulator binary; default: AZUREML_EMULATOR_BIN, the wheel's, then PATH",
    )
    parser.addini("azureml_emulator_fixtures", "world file (TOML) for the session emulator", default=None)
    parser.addini("azureml_emulator_rbac", "RBAC mode of the session emulator: enforce or log-only", default=None)
    parser.addini("azureml_emulator_bin", "the azureml-emulator binary", default=None)


def _option(config: pytest.Config, name: str) -> Optional[str]:
    value = config.getoption(f"azureml_emulator_{name}")
    if value:
        return str(value)
    value = config.getini(f"azureml_emulator_{name}")
    if not value:
        return None
    if name in ("fixtures", "bin") and not os.path.isabs(str(value)):
        return str(config.rootpath / str(value))  # ini paths are relative to the rootdir
    return str(value)


@pytest.fixture(scope="session")
def azureml_emulator(pytestconfig: pytest.Config) -> Iterator[Emulator]:
    """The session's emulator, with its variables applied to ``os.environ`` (restored afterwards)."""
    rbac = _option(pytestconfig, "rbac")
    if rbac is not None and rbac not in _RBAC_MODES:
        raise pytest.UsageError(f"azureml_emulator_rbac must be one of {', '.join(_RBAC_MODES)}, not {rbac!r}")
    emulator = start(
        fixtures=_option(pytestconfig, "fixtures"), binary=_option(pytestconfig, "bin"), rbac=rbac,
    )
    try:
        with emulator.environ():
            yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def azureml_emulator_reset(azureml_emulator: Emulator) -> Iterator[Emulator]:
    """The session emulator; clock and world are put back after the test."""
    try:
        yield azureml_emulator
    finally:
        azureml_emulator.reset(clock=True)


@pytest.fixture
def azureml_emulator_clock(azureml_emulator: Emulator) -> Iterator[Clock]:
    """The session emulator's clock; back to real time (here and there) after the test."""
    try:
        yield azureml_emulator.clock
    finally:
        azureml_emulator.clock.resume()


@pytest.fixture
def azureml_emulator_factory(pytestconfig: pytest.Config) -> Iterator[Callable[..., Emulator]]:
    """Start private emulators: ``azureml_emulator_factory(**start_options)``; stopped after the test."""
    started: List[Emulator] = []

    def factory(*args: Any, **kwargs: Any) -> Emulator:
        kwargs.setdefault("binary", _option(pytestconfig, "bin"))
        emulator = start(*args, **kwargs)
        started.append(emulator)
        return emulator

    try:
        yield factory
    finally:
        for emulator in reversed(started):
            emulator.stop()
