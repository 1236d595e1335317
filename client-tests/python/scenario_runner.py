"""Child-process entry point: `python scenario_runner.py <name>` (see emulator_support.run_scenario).

Installs the same offline DNS guard as conftest.py *before* any SDK is imported (azureml-core
fetches ARM_CLOUD_METADATA_URL at import time), runs ``sdk_scenarios.<name>`` with the JSON params
in EMULATOR_SCENARIO_PARAMS and prints one result line (marker + JSON) on stdout:

    {"ok": true, "value": ..., "blocked_lookups": [...]}
    {"ok": false, "error": {...describe_error...}, "blocked_lookups": [...]}
"""

from __future__ import annotations

import json
import os
import socket
import sys
import traceback

RESULT_MARKER = "@@SCENARIO_RESULT@@"
BLOCKED_LOOKUPS: list[str] = []


def _is_loopback_name(host: str) -> bool:
    return host in ("localhost", "ip6-localhost", "::1") or host.startswith("127.")


def _install_offline_guard() -> None:
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback_name(name):
            BLOCKED_LOOKUPS.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"client-tests offline guard refused DNS for {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = guarded


def main() -> int:
    _install_offline_guard()
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    import sdk_scenarios  # imports no SDK at module level

    fn = getattr(sdk_scenarios, name, None)
    if name.startswith("_") or not callable(fn):
        result = {"ok": False, "error": {"type": "LookupError", "message": f"unknown scenario {name!r}"}}
    else:
        try:
            params = json.loads(os.environ.get("EMULATOR_SCENARIO_PARAMS") or "{}")
            result = {"ok": True, "value": fn(params)}
        except BaseException as exc:  # noqa: BLE001 - reported to the test as data
            traceback.print_exc()
            result = {"ok": False, "error": sdk_scenarios.describe_error(exc)}
    result["blocked_lookups"] = BLOCKED_LOOKUPS
    sys.stdout.write("\n" + RESULT_MARKER + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
