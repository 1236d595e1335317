"""azureml-core interactive sign-in scenarios (run in a fresh interpreter by scenario_runner, with the
ready file's env and a private HOME): ``InteractiveLoginAuthentication(tenant_id=…)`` and
``Workspace.from_config()`` exactly as Microsoft's article writes them. Whether azureml-core takes the
device-code or the browser path is the environment's doing (DISPLAY + BROWSER + chromium on PATH),
not the scenario's. The requests the SDK made are recorded (``sdk_scenarios._install_http_recorder``)
so the tests can count device-code starts, code redemptions and refreshes.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs


def _grants(log: list[dict[str, Any]]) -> list[str]:
    """What each token-service request of the log was: `devicecode`, or the token request's grant type."""
    out = []
    for entry in log:
        path = entry["path"]
        if path.endswith("/devicecode"):
            out.append("devicecode")
        elif path.endswith("/token") and entry["method"] == "POST":
            out.append(parse_qs(entry["body"] or "").get("grant_type", ["?"])[0])
    return out


def interactive_workspace(p: dict[str, Any]) -> dict[str, Any]:
    import requests

    import sdk_scenarios as s

    s._install_http_recorder(p)
    s._HTTP_LOG = []
    from azureml.core import Workspace
    from azureml.core.authentication import InteractiveLoginAuthentication

    auth = InteractiveLoginAuthentication(tenant_id=p["tenant_id"])
    ws = Workspace.from_config(path=p["config_dir"], auth=auth)
    first = s._bearer_claims(auth.get_authentication_header())
    signed_in = _grants(s._HTTP_LOG)
    s._HTTP_LOG = []
    again = s._bearer_claims(auth.get_authentication_header())
    out: dict[str, Any] = {
        "workspace": {"name": ws.name, "location": ws.location, "subscription_id": ws.subscription_id},
        "sign_in": signed_in,
        "claims": {k: first.get(k) for k in ("upn", "tid", "aud", "oid", "scp", "idtyp", "appid")},
        "second_header": _grants(s._HTTP_LOG),
        "refreshed": again["uti"] != first["uti"],
        "auth_dir_files": sorted(os.listdir(os.path.join(os.environ["HOME"], ".azureml", "auth"))),
    }
    if p.get("revoke_user"):
        resp = requests.post(
            f"{p['url']}/_emulator/users/{p['revoke_user']}/revoke-sessions", json={}, verify=p["ca_bundle"], timeout=30
        )
        resp.raise_for_status()
        s._HTTP_LOG = []
        after = s._bearer_claims(auth.get_authentication_header())
        out["after_revoke"] = _grants(s._HTTP_LOG)
        out["after_revoke_upn"] = after.get("upn")
        again_ws = Workspace.get(
            name=p["workspace"], subscription_id=p["subscription_id"], resource_group=p["resource_group"], auth=auth
        )
        out["after_revoke_workspace"] = again_ws.name
    return out
