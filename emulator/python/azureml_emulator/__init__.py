"""azureml-emulator for Python tests: start the offline Azure ML / Entra ID emulator and point SDKs at it.

The wheel installs the ``azureml-emulator`` binary and this package::

    import azureml_emulator

    with azureml_emulator.start() as emu:          # port 0, temporary data dir, ready file
        with emu.environ():                       # REQUESTS_CA_BUNDLE, AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, ...
            ...                                   # azure-identity, msal, azureml-core now talk to emu.url
        emu.clock.advance(3600)                   # expire every token the emulator issued
        emu.reset()                               # back to the world loaded at start

With pytest the plugin (registered automatically) gives the ``azureml_emulator`` fixture; see
:mod:`azureml_emulator.pytest_plugin`.
"""

from __future__ import annotations

from ._emulator import (
    CONFLICTING_ENV_VARS,
    Clock,
    Credentials,
    Emulator,
    EmulatorError,
    find_binary,
    start,
)

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("azureml-emulator")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "CONFLICTING_ENV_VARS",
    "Clock",
    "Credentials",
    "Emulator",
    "EmulatorError",
    "find_binary",
    "start",
    "__version__",
]
