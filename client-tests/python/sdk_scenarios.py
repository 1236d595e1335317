"""SDK scenarios that run in a fresh interpreter (scenario_runner.py, emulator_support.run_scenario).

azureml-core (v1) fetches ARM_CLOUD_METADATA_URL when it is imported and caches discovery under
~/.azureml; azure-ai-ml (v2) resolves its cloud from ARM_CLOUD_METADATA_URL when an MLClient is
built and writes AZUREML_CURRENT_CLOUD into os.environ. So each scenario gets a new process whose
environment is the emulator's printed env (plus a private HOME), exactly like a user script after
`eval "$(azureml-emulator env)"`. Nothing here passes an endpoint to the SDKs: only credentials,
ids and names.

Each scenario returns plain JSON. An SDK call whose failure is part of the test goes through
``outcome``, which turns the exception into data (``describe_error``) for the test to assert on.
No SDK is imported at module level: the runner installs its offline guard first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any


def describe_error(exc: BaseException) -> dict[str, Any]:
    """An exception as JSON: class (and its MRO, for isinstance-style checks), message, HTTP details."""
    cls = type(exc)
    out: dict[str, Any] = {
        "type": cls.__name__,
        "module": cls.__module__,
        "classes": [f"{c.__module__}.{c.__name__}" for c in cls.__mro__],
        "message": str(exc),
    }
    for attr in ("status_code", "reason"):
        value = getattr(exc, attr, None)
        if isinstance(value, (int, str)):
            out[attr] = value
    msg = getattr(exc, "message", None)
    if isinstance(msg, str):
        out["message_attr"] = msg
    error = getattr(exc, "error", None)  # azure.core ODataV4Format
    if error is not None and hasattr(error, "code"):
        out["error_code"] = error.code
        out["error_message"] = getattr(error, "message", None)
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "headers"):
        try:
            out["www_authenticate"] = response.headers.get("WWW-Authenticate")
            out["request_url"] = str(response.request.url) if getattr(response, "request", None) else None
        except Exception:  # noqa: BLE001 - best effort
            pass
    return out


def outcome(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": True, "value": fn()}
    except Exception as exc:  # noqa: BLE001 - reported as data
        return {"ok": False, "error": describe_error(exc)}


def _claims(token: str) -> dict[str, Any]:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def _bearer_claims(header: dict[str, str]) -> dict[str, Any]:
    scheme, _, token = header["Authorization"].partition(" ")
    assert scheme == "Bearer", header
    return _claims(token)


def _clock(p: dict[str, Any], **payload) -> dict[str, Any]:
    """Move the emulator clock through its admin API (plain requests, emulator CA)."""
    import requests

    resp = requests.post(f"{p['url']}/_emulator/clock", json=payload, verify=p["ca_bundle"], timeout=30)
    resp.raise_for_status()
    return resp.json()


# --- azureml-core (SDK v1) --------------------------------------------------------------------


def _v1_auth(tenant_id: str, client_id: str, secret: str):
    from azureml.core.authentication import ServicePrincipalAuthentication

    return ServicePrincipalAuthentication(
        tenant_id=tenant_id, service_principal_id=client_id, service_principal_password=secret
    )


def _v1_workspace(ws) -> dict[str, Any]:
    details = ws.get_details()
    return {
        "name": ws.name,
        "location": ws.location,
        "subscription_id": ws.subscription_id,
        "resource_group": ws.resource_group,
        "id": details.get("id"),
        "workspaceid": details.get("workspaceid"),
        "friendlyName": details.get("friendlyName"),
        "discoveryUrl": details.get("discoveryUrl"),
    }


def _v1_list(listing: dict) -> dict[str, list[dict[str, str]]]:
    return {
        name: [{"resource_group": w.resource_group, "subscription_id": w.subscription_id} for w in workspaces]
        for name, workspaces in listing.items()
    }


def v1_workspace_reads(p: dict[str, Any]) -> dict[str, Any]:
    """Workspace.get / from_config / list, and the errors for no access, missing, unknown subscription."""
    from azureml.core import Workspace

    sub, rg, name = p["subscription_id"], p["resource_group"], p["workspace"]
    auth = _v1_auth(p["tenant_id"], p["sp"]["clientId"], p["sp"]["clientSecret"])
    admin = _v1_auth(p["tenant_id"], p["admin"]["clientId"], p["admin"]["clientSecret"])
    return {
        "get": outcome(
            lambda: _v1_workspace(Workspace.get(name=name, subscription_id=sub, resource_group=rg, auth=auth))
        ),
        "token_claims": _bearer_claims(auth.get_authentication_header()),
        "from_config": outcome(lambda: _v1_workspace(Workspace.from_config(path=p["config_dir"], auth=auth))),
        "no_access": outcome(
            lambda: _v1_workspace(
                Workspace.get(name=p["no_access_workspace"], subscription_id=sub, resource_group=rg, auth=auth)
            )
        ),
        "missing_as_admin": outcome(
            lambda: _v1_workspace(
                Workspace.get(name=p["missing_workspace"], subscription_id=sub, resource_group=rg, auth=admin)
            )
        ),
        "unknown_subscription": outcome(
            lambda: _v1_workspace(
                Workspace.get(name=name, subscription_id=p["unknown_subscription"], resource_group=rg, auth=auth)
            )
        ),
        "list_resource_group": outcome(lambda: _v1_list(Workspace.list(sub, auth=auth, resource_group=rg))),
        "list_subscription": outcome(lambda: _v1_list(Workspace.list(sub, auth=auth))),
    }


def v1_sdk_auth(p: dict[str, Any]) -> dict[str, Any]:
    """The JSON of `sp create-for-rbac --sdk-auth`, fed field by field to ServicePrincipalAuthentication."""
    from azureml.core import Workspace

    creds = p["sdk_auth"]
    auth = _v1_auth(creds["tenantId"], creds["clientId"], creds["clientSecret"])
    ws = Workspace.get(
        name=p["workspace"], subscription_id=creds["subscriptionId"], resource_group=p["resource_group"], auth=auth
    )
    return {"workspace": _v1_workspace(ws), "token_claims": _bearer_claims(auth.get_authentication_header())}


def v1_expired_token(p: dict[str, Any]) -> dict[str, Any]:
    """Get a token, move the emulator clock 2 h on, call again with the token v1 still has cached."""
    from azureml.core import Workspace

    sub, rg, name = p["subscription_id"], p["resource_group"], p["workspace"]
    sp = p["sp"]
    auth = _v1_auth(p["tenant_id"], sp["clientId"], sp["clientSecret"])
    ws = Workspace.get(name=name, subscription_id=sub, resource_group=rg, auth=auth)
    before = _bearer_claims(auth.get_authentication_header())
    clock = _clock(p, advance_seconds=p["advance_seconds"])
    out = {
        "before_claims": before,
        "clock": clock,
        "get_details": outcome(lambda: ws.get_details()["workspaceid"]),
        "workspace_get": outcome(
            lambda: Workspace.get(name=name, subscription_id=sub, resource_group=rg, auth=auth).name
        ),
        # The cached token (client-side it still has ~1 h left) is what v1 keeps sending.
        "after_claims": _bearer_claims(auth.get_authentication_header()),
    }
    fresh = _v1_auth(p["tenant_id"], sp["clientId"], sp["clientSecret"])
    out["fresh_auth_get"] = outcome(
        lambda: Workspace.get(name=name, subscription_id=sub, resource_group=rg, auth=fresh).name
    )
    return out


# --- azure-ai-ml (SDK v2) ---------------------------------------------------------------------


def _v2_workspace(ws) -> dict[str, Any]:
    return {
        "name": ws.name,
        "location": ws.location,
        "id": ws.id,
        "resource_group": ws.resource_group,
        "display_name": ws.display_name,
        "description": ws.description,
        "discovery_url": ws.discovery_url,
        "managed_network_isolation_mode": ws.managed_network.isolation_mode if ws.managed_network else None,
        "type": type(ws).__module__ + "." + type(ws).__name__,
    }


def _ml_client(credential, p: dict[str, Any]):
    """An MLClient; ``p["polling_interval"]`` (seconds) when the scenario waits on long-running operations:
    Azure's online-endpoint answers carry no Retry-After, so azure-ai-ml would wait its 30 s default."""
    from azure.ai.ml import MLClient

    extra = {"polling_interval": p["polling_interval"]} if "polling_interval" in p else {}
    return MLClient(credential, p["subscription_id"], p["resource_group"], p["workspace"], **extra)


def _secret_credential(p: dict[str, Any], client_id: str, secret: str):
    # No authority= or disable_instance_discovery: AZURE_AUTHORITY_HOST=<url>/adfs from the env decides.
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(p["tenant_id"], client_id, secret)


def v2_workspace_reads(p: dict[str, Any]) -> dict[str, Any]:
    """MLClient with EnvironmentCredential (the printed env): workspaces.get / list, and the errors."""
    from azure.identity import EnvironmentCredential

    ml = _ml_client(EnvironmentCredential(), p)
    out: dict[str, Any] = {
        "get": outcome(lambda: _v2_workspace(ml.workspaces.get(p["workspace"]))),
        "current_cloud": os.environ.get("AZUREML_CURRENT_CLOUD"),
        "list": outcome(lambda: sorted(w.name for w in ml.workspaces.list())),
        "list_subscription": outcome(lambda: sorted(w.name for w in ml.workspaces.list(scope="subscription"))),
        "no_access": outcome(lambda: _v2_workspace(ml.workspaces.get(p["no_access_workspace"]))),
    }
    admin = _ml_client(_secret_credential(p, p["admin"]["clientId"], p["admin"]["clientSecret"]), p)
    out["admin_list"] = outcome(lambda: sorted(w.name for w in admin.workspaces.list()))
    out["missing_as_admin"] = outcome(lambda: _v2_workspace(admin.workspaces.get(p["missing_workspace"])))
    return out


def v2_reader_update_forbidden(p: dict[str, Any]) -> dict[str, Any]:
    """A Reader on the workspace can get it but not update it (begin_update)."""
    reader = p["reader"]
    ml = _ml_client(_secret_credential(p, reader["appId"], reader["password"]), p)
    out: dict[str, Any] = {"get": outcome(lambda: _v2_workspace(ml.workspaces.get(p["workspace"])))}
    if out["get"]["ok"]:
        ws = ml.workspaces.get(p["workspace"])
        ws.description = "changed by a reader"
        out["update"] = outcome(lambda: _v2_workspace(ml.workspaces.begin_update(ws).result()))
        out["after"] = outcome(lambda: _v2_workspace(ml.workspaces.get(p["workspace"])))
    return out


def v2_expired_token(p: dict[str, Any]) -> dict[str, Any]:
    """Token cached by azure-identity, emulator clock +2 h, same MLClient again; then a new credential."""
    from azure.identity import EnvironmentCredential

    ml = _ml_client(EnvironmentCredential(), p)
    out: dict[str, Any] = {"before": outcome(lambda: ml.workspaces.get(p["workspace"]).name)}
    out["clock"] = _clock(p, advance_seconds=p["advance_seconds"])
    out["after"] = outcome(lambda: ml.workspaces.get(p["workspace"]).name)
    out["list_after"] = outcome(lambda: [w.name for w in ml.workspaces.list()])
    fresh = _ml_client(EnvironmentCredential(), p)
    out["fresh_credential"] = outcome(lambda: fresh.workspaces.get(p["workspace"]).name)
    return out


def v2_role_change_next_request(p: dict[str, Any]) -> dict[str, Any]:
    """Grant and revoke Reader (azure-mgmt-authorization as ml-admin) between calls of one MLClient."""
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    principal = p["principal"]
    ml = _ml_client(_secret_credential(p, principal["appId"], principal["password"]), p)
    authz = AuthorizationManagementClient(
        _secret_credential(p, p["admin"]["clientId"], p["admin"]["clientSecret"]),
        p["subscription_id"],
        base_url=p["url"],
        credential_scopes=[p["arm_scope"]],
    )
    scope = p["scope"]
    out: dict[str, Any] = {"before_grant": outcome(lambda: ml.workspaces.get(p["workspace"]).name)}
    assignment = authz.role_assignments.create(
        scope,
        str(uuid.uuid4()),
        RoleAssignmentCreateParameters(
            role_definition_id=p["role_definition_id"],
            principal_id=principal["objectId"],
            principal_type="ServicePrincipal",
        ),
    )
    out["after_grant"] = outcome(lambda: ml.workspaces.get(p["workspace"]).name)
    authz.role_assignments.delete(scope, assignment.name)
    out["after_revoke"] = outcome(lambda: ml.workspaces.get(p["workspace"]).name)
    return out


# --- HTTP recording (which requests an SDK call made, in order) -------------------------------

_HTTP_LOG: list[dict[str, Any]] | None = None
_HTTP_PREFIXES: list[tuple[str, str]] = []


def _install_http_recorder(p: dict[str, Any]) -> None:
    """Wrap requests' HTTPAdapter.send (both SDKs send through it) to note each exchange while recording.

    Only observes: the request and the response pass through unchanged. Paths are shortened with
    ``{mms}`` (model-management workspace base) and ``{ws}`` (ARM workspace id) for readable asserts.
    """
    import requests.adapters

    scope = (
        f"/subscriptions/{p['subscription_id']}/resourceGroups/{p['resource_group']}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{p['workspace']}"
    )
    _HTTP_PREFIXES[:] = [("/modelmanagement/v1.0" + scope, "{mms}"), (scope, "{ws}")]
    adapter = requests.adapters.HTTPAdapter
    if getattr(adapter.send, "_scenario_recorder", False):
        return
    real_send = adapter.send

    def send(self, request, *args, **kwargs):
        response = real_send(self, request, *args, **kwargs)
        if _HTTP_LOG is not None:
            _HTTP_LOG.append(_http_entry(request, response))
        return response

    send._scenario_recorder = True  # type: ignore[attr-defined]
    adapter.send = send


def _http_entry(request, response) -> dict[str, Any]:
    from urllib.parse import urlsplit

    parts = urlsplit(request.url)
    path = parts.path
    for prefix, short in _HTTP_PREFIXES:
        if path.lower().startswith(prefix.lower()):
            path = short + path[len(prefix):]
            break
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    auth = request.headers.get("Authorization")
    text = response.text if len(response.content) < 4000 else None
    return {
        "method": request.method,
        "path": path,
        "query": parts.query,
        "status": response.status_code,
        "bearer": auth.partition(" ")[2] if auth else None,
        "deployment": request.headers.get("azureml-model-deployment"),
        "body": body if isinstance(body, str) and len(body) < 4000 else None,
        # What a long-running operation's answers say: where to poll, how long to wait, what state.
        "location": response.headers.get("Location"),
        "async_operation": response.headers.get("Azure-AsyncOperation"),
        "retry_after": response.headers.get("Retry-After"),
        "response": text,
    }


def recorded(fn: Callable[[], Any]) -> dict[str, Any]:
    """``outcome(fn)`` plus ``http``: the requests made while fn ran (needs _install_http_recorder)."""
    global _HTTP_LOG
    _HTTP_LOG = []
    try:
        out = outcome(fn)
    finally:
        out_log, _HTTP_LOG = _HTTP_LOG, None
    out["http"] = out_log
    return out


def _score(uri: str, bearer: str | None = None, body: Any = None, **kw) -> dict[str, Any]:
    """Plain requests against a scoring URI (trust from REQUESTS_CA_BUNDLE, as in the user's env)."""
    import emulator_support

    return emulator_support.score(uri, verify=os.environ["REQUESTS_CA_BUNDLE"], bearer=bearer, body=body, **kw)


def _admin_post(p: dict[str, Any], path: str, payload: dict[str, Any]) -> dict[str, Any]:
    import requests

    resp = requests.post(f"{p['url']}{path}", json=payload, verify=p["ca_bundle"], timeout=30)
    resp.raise_for_status()
    return resp.json()


# --- azureml-core (SDK v1): web services --------------------------------------------------------


def _v1_ws(p: dict[str, Any], principal: dict[str, str] | None = None):
    from azureml.core import Workspace

    principal = principal or p["sp"]
    auth = _v1_auth(p["tenant_id"], principal["clientId"], principal["clientSecret"])
    return Workspace.get(
        name=p["workspace"], subscription_id=p["subscription_id"], resource_group=p["resource_group"], auth=auth
    )


def _v1_get(ws, name: str, cls=None):
    """``cls(ws, name)`` (default Webservice, which picks the class by computeType) -> (service, False).

    The second value once flagged a workaround for a payload the SDK could not read; it stays so the
    scenarios can assert that plain construction is all that was needed.
    """
    from azureml.core.webservice import Webservice

    return (cls or Webservice)(ws, name), False


def _v1_service(svc) -> dict[str, Any]:
    cls = type(svc)
    return {
        "class": f"{cls.__module__}.{cls.__name__}",
        "name": svc.name,
        "compute_type": svc.compute_type,
        "auth_enabled": svc.auth_enabled,
        "token_auth_enabled": svc.token_auth_enabled,
        "scoring_uri": svc.scoring_uri,
        "swagger_uri": svc.swagger_uri,
        "state": svc.state,
        "created_time": svc.created_time.isoformat() if svc.created_time else None,
    }


def _v1_token(svc) -> dict[str, Any]:
    """aks.get_token() (deprecated; warns) -> (token, refresh_by), plus get_access_token()'s fields."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        token, refresh_by = svc.get_token()
    access = svc.get_access_token()
    return {
        "token": token,
        "claims": _claims(token),
        "refresh_by_type": type(refresh_by).__name__,
        "refresh_by": refresh_by.timestamp(),  # naive local datetime (fromtimestamp) -> epoch seconds
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
        "access_token_class": f"{type(access).__module__}.{type(access).__name__}",
        "access_token_claims": _claims(access.access_token),
        "access_refresh_after": access.refresh_after.timestamp(),
        "access_expiry_on": access.expiry_on.timestamp(),
        "access_token_type": access.token_type,
    }


def v1_webservice_reads(p: dict[str, Any]) -> dict[str, Any]:
    """Webservice / AciWebservice / AksWebservice get, list, keys, tokens, run; a Reader's view."""
    import json

    from azureml.core.webservice import AciWebservice, AksWebservice, Webservice

    _install_http_recorder(p)
    ws = _v1_ws(p)
    aci_name, aks_name = p["aci"], p["aks"]
    out: dict[str, Any] = {
        "webservice_aci": recorded(lambda: _v1_service(Webservice(ws, aci_name))),
        "webservice_aks": outcome(lambda: _v1_service(Webservice(ws, aks_name))),
        "aci_class": outcome(lambda: _v1_service(AciWebservice(ws, aci_name))),
        "aks_class": outcome(lambda: _v1_service(AksWebservice(ws, aks_name))),
        "aks_class_on_aci": outcome(lambda: _v1_service(AksWebservice(ws, aci_name))),
        "unknown": recorded(lambda: _v1_service(Webservice(ws, p["unknown"]))),
        "unknown_aks_class": outcome(lambda: _v1_service(AksWebservice(ws, p["unknown"]))),
        "list": recorded(lambda: sorted(_v1_service(s)["class"] + ":" + s.name for s in Webservice.list(ws))),
        "list_aks": outcome(lambda: [s.name for s in Webservice.list(ws, compute_type="AKS")]),
    }
    aci, aci_workaround = _v1_get(ws, aci_name)
    aks, aks_workaround = _v1_get(ws, aks_name, AksWebservice)
    out["workaround"] = aci_workaround or aks_workaround
    out["aci"], out["aks"] = _v1_service(aci), _v1_service(aks)
    data = json.dumps(p["input"])
    out["aci_keys"] = recorded(lambda: list(aci.get_keys()))
    out["aci_run"] = recorded(lambda: aci.run(data))
    out["aci_get_token"] = recorded(aci.get_token)
    out["aks_token"] = recorded(lambda: _v1_token(aks))
    out["aks_run"] = recorded(lambda: aks.run(data))
    if out["aks_token"]["ok"]:
        token = out["aks_token"]["value"]["token"]
        out["aks_token_scoring"] = _score(aks.scoring_uri, token, p["input"])
        out["aks_token_on_aci"] = _score(aci.scoring_uri, token, p["input"])

    # A Reader of the workspace: may read services and get a token, may not list (or change) keys.
    reader_ws = _v1_ws(p, p["reader"])
    reader_aks = outcome(lambda: _v1_get(reader_ws, aks_name, AksWebservice)[0])
    out["reader_aks"] = {k: v for k, v in reader_aks.items() if k != "value"}
    if reader_aks["ok"]:
        out["reader_aks"]["value"] = _v1_service(reader_aks["value"])
        out["reader_aks_token"] = outcome(lambda: _v1_token(reader_aks["value"])["claims"])
        out["reader_aks_run"] = outcome(lambda: reader_aks["value"].run(data))
    reader_aci, _ = _v1_get(reader_ws, aci_name)
    out["reader_aci_keys"] = recorded(reader_aci.get_keys)
    out["reader_aci_run"] = outcome(lambda: reader_aci.run(data))
    return out


def v1_regen_key(p: dict[str, Any]) -> dict[str, Any]:
    """regen_key('Primary'): the old primary is refused, the secondary keeps working, run() follows."""
    import json
    import time

    _install_http_recorder(p)
    ws = _v1_ws(p)
    aci, workaround = _v1_get(ws, p["aci"])
    old_primary, old_secondary = aci.get_keys()
    out: dict[str, Any] = {
        "workaround": workaround,
        "class": _v1_service(aci)["class"],
        "old_keys": [old_primary, old_secondary],
        "old_primary_before": _score(aci.scoring_uri, old_primary, p["input"]),
    }
    started = time.monotonic()
    out["regen_primary"] = recorded(lambda: aci.regen_key("Primary"))
    out["regen_seconds"] = time.monotonic() - started
    new_primary, new_secondary = aci.get_keys()
    out["new_keys"] = [new_primary, new_secondary]
    out["old_primary_after"] = _score(aci.scoring_uri, old_primary, p["input"])
    out["new_primary_after"] = _score(aci.scoring_uri, new_primary, p["input"])
    out["secondary_after"] = _score(aci.scoring_uri, old_secondary, p["input"])
    out["run_after"] = recorded(lambda: aci.run(json.dumps(p["input"])))
    out["regen_invalid_type"] = recorded(lambda: aci.regen_key("Tertiary"))
    out["regen_secondary_set"] = recorded(lambda: aci.regen_key("secondary", set_key=p["set_secondary"]))
    out["keys_after_set"] = list(aci.get_keys())
    out["set_secondary_scoring"] = _score(aci.scoring_uri, p["set_secondary"], p["input"])
    out["old_secondary_after_set"] = _score(aci.scoring_uri, old_secondary, p["input"])
    return out


def v1_aks_token_expiry(p: dict[str, Any]) -> dict[str, Any]:
    """An AKS service token, the emulator clock moved past its expiry, then the old token and run()."""
    import json

    from azureml.core.webservice import AksWebservice

    _install_http_recorder(p)
    ws = _v1_ws(p)
    aks, workaround = _v1_get(ws, p["aks"], AksWebservice)
    token, refresh_by = aks.get_token()
    out: dict[str, Any] = {
        "workaround": workaround,
        "claims": _claims(token),
        "refresh_by": refresh_by.timestamp(),
        "before": _score(aks.scoring_uri, token, p["input"]),
        "clock": _clock(p, advance_seconds=p["advance_seconds"]),
    }
    out["old_token_after"] = _score(aks.scoring_uri, token, p["input"])
    data = json.dumps(p["input"])
    # The same Workspace (its ARM token, cached by v1, expired on the emulator clock too) ...
    out["run_same_workspace"] = recorded(lambda: aks.run(data))
    # ... and a new Workspace/auth object, as a fresh script would have.
    fresh, _ = _v1_get(_v1_ws(p), p["aks"], AksWebservice)
    out["run_fresh_workspace"] = recorded(lambda: fresh.run(data))
    out["fresh_token"] = outcome(lambda: _claims(fresh.get_access_token().access_token))
    return out


def v1_region_outage(p: dict[str, Any]) -> dict[str, Any]:
    """The workspace region goes down (admin API): AKS tokens cannot be issued, ACI keys keep working."""
    import json

    from azureml.core.webservice import AciWebservice, AksWebservice

    _install_http_recorder(p)
    ws = _v1_ws(p)
    aks, workaround = _v1_get(ws, p["aks"], AksWebservice)
    aci, _ = _v1_get(ws, p["aci"], AciWebservice)
    data = json.dumps(p["input"])
    out: dict[str, Any] = {"workaround": workaround}
    out["outage_on"] = _admin_post(p, f"/_emulator/regions/{p['region']}/outage", {"on": True})
    try:
        out["aks_get_token"] = recorded(aks.get_token)
        out["aks_run"] = recorded(lambda: aks.run(data))
        out["aks_get"] = outcome(lambda: _v1_service(_v1_get(ws, p["aks"], AksWebservice)[0]))
        out["aci_keys"] = outcome(lambda: list(aci.get_keys()))
        out["aci_run"] = recorded(lambda: aci.run(data))
    finally:
        out["outage_off"] = _admin_post(p, f"/_emulator/regions/{p['region']}/outage", {"on": False})
    out["aks_get_token_after"] = outcome(lambda: _claims(aks.get_token()[0]))
    out["aks_run_after"] = outcome(lambda: aks.run(data))
    return out


# --- azure-ai-ml (SDK v2): online endpoints ------------------------------------------------------


def _v2_credentials(creds) -> dict[str, Any]:
    cls = type(creds)
    out: dict[str, Any] = {"class": f"{cls.__module__}.{cls.__name__}"}
    for attr in ("primary_key", "secondary_key", "access_token", "token_type", "expiry_time_utc",
                 "refresh_after_time_utc"):
        if hasattr(creds, attr):
            out[attr] = getattr(creds, attr)
    if "access_token" in out:
        out["claims"] = _claims(out["access_token"])
    return out


def _v2_request_file(p: dict[str, Any]) -> str:
    import json
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".json", prefix="request-")
    with os.fdopen(fd, "w") as f:
        json.dump(p["input"], f)
    return path


def v2_endpoint_keys_and_invoke(p: dict[str, Any]) -> dict[str, Any]:
    """get_keys and invoke for each auth mode (Key, AMLToken, AADToken), with and without deployment_name."""
    from azure.identity import EnvironmentCredential

    _install_http_recorder(p)
    ml = _ml_client(EnvironmentCredential(), p)
    ops = ml.online_endpoints
    request_file = _v2_request_file(p)
    key_ep, aml_ep, aad_ep = p["ep_key"], p["ep_amltoken"], p["ep_aad"]
    out: dict[str, Any] = {
        "get": outcome(lambda: {e: ops.get(e).auth_mode for e in (key_ep, aml_ep, aad_ep)}),
        "keys_key": recorded(lambda: _v2_credentials(ops.get_keys(key_ep))),
        "keys_amltoken": recorded(lambda: _v2_credentials(ops.get_keys(aml_ep))),
        "keys_aad": recorded(lambda: _v2_credentials(ops.get_keys(aad_ep))),
        "invoke_key": recorded(lambda: ops.invoke(endpoint_name=key_ep, request_file=request_file)),
        "invoke_amltoken": recorded(lambda: ops.invoke(endpoint_name=aml_ep, request_file=request_file)),
        "invoke_aad": recorded(lambda: ops.invoke(endpoint_name=aad_ep, request_file=request_file)),
        "invoke_aad_blue": recorded(
            lambda: ops.invoke(endpoint_name=aad_ep, request_file=request_file, deployment_name="blue")
        ),
        "invoke_key_blue": recorded(
            lambda: ops.invoke(endpoint_name=key_ep, request_file=request_file, deployment_name="blue")
        ),
        "invoke_unknown_deployment": recorded(
            lambda: ops.invoke(endpoint_name=aad_ep, request_file=request_file, deployment_name="purple")
        ),
        "regenerate_amltoken": recorded(lambda: ops.begin_regenerate_keys(aml_ep, key_type="primary")),
    }
    if out["keys_amltoken"]["ok"] and p.get("other_amltoken"):
        token = out["keys_amltoken"]["value"]["access_token"]
        other = ops.get(p["other_amltoken"])
        out["other_amltoken_keys"] = outcome(lambda: _v2_credentials(ops.get_keys(p["other_amltoken"])))
        out["amltoken_on_other_endpoint"] = _score(other.scoring_uri, token, p["input"])
        out["amltoken_on_own_endpoint"] = _score(ops.get(aml_ep).scoring_uri, token, p["input"])
    # Last, because azure-ai-ml keeps invoke's headers in a class-level dict: the deployment header of
    # this call stays there for every later invoke in this process (green exists only on ep-aad).
    out["invoke_aad_green"] = recorded(
        lambda: ops.invoke(endpoint_name=aad_ep, request_file=request_file, deployment_name="green")
    )
    out["invoke_key_after_green"] = recorded(lambda: ops.invoke(endpoint_name=key_ep, request_file=request_file))
    return out


def v2_regenerate_keys(p: dict[str, Any]) -> dict[str, Any]:
    """begin_regenerate_keys(primary, then secondary): new keys, the old one refused, invoke follows."""
    from azure.identity import EnvironmentCredential

    _install_http_recorder(p)
    ml = _ml_client(EnvironmentCredential(), p)
    ops = ml.online_endpoints
    name = p["ep_key"]
    scoring_uri = ops.get(name).scoring_uri
    request_file = _v2_request_file(p)
    before = ops.get_keys(name)
    out: dict[str, Any] = {"before": _v2_credentials(before)}
    out["regen_primary"] = recorded(lambda: ops.begin_regenerate_keys(name, key_type="primary").result())
    after = ops.get_keys(name)
    out["after_primary"] = _v2_credentials(after)
    out["old_primary_scoring"] = _score(scoring_uri, before.primary_key, p["input"])
    out["new_primary_scoring"] = _score(scoring_uri, after.primary_key, p["input"])
    out["secondary_scoring"] = _score(scoring_uri, before.secondary_key, p["input"])
    out["invoke_after"] = recorded(lambda: ops.invoke(endpoint_name=name, request_file=request_file))
    out["regen_secondary"] = recorded(lambda: ops.begin_regenerate_keys(name, key_type="secondary").result())
    out["after_secondary"] = _v2_credentials(ops.get_keys(name))
    out["old_secondary_scoring"] = _score(scoring_uri, before.secondary_key, p["input"])
    out["regen_bad_type"] = recorded(lambda: ops.begin_regenerate_keys(name, key_type="tertiary"))
    return out


def _statuses(poller) -> list[str]:
    """poller.status() from the start until done, each state once, in order."""
    seen = [poller.status()]
    while not poller.done():
        poller.wait(0.05)
        if poller.status() != seen[-1]:
            seen.append(poller.status())
    return seen


def v2_endpoint_long_running(p: dict[str, Any]) -> dict[str, Any]:
    """begin_create_or_update then begin_delete of a new Key endpoint: the 201/202 answers, the polls,
    and poller.status() from start to end."""
    from azure.ai.ml.entities import ManagedOnlineEndpoint
    from azure.identity import EnvironmentCredential

    _install_http_recorder(p)
    ml = _ml_client(EnvironmentCredential(), p)
    ops = ml.online_endpoints
    name = p["new_endpoint"]
    out: dict[str, Any] = {}

    def create():
        poller = ops.begin_create_or_update(ManagedOnlineEndpoint(name=name, auth_mode="key"))
        states = _statuses(poller)
        ep = poller.result()
        return {"states": states, "provisioning_state": ep.provisioning_state, "scoring_uri": ep.scoring_uri}

    out["create"] = recorded(create)
    out["get_after_create"] = outcome(lambda: ops.get(name).provisioning_state)

    def delete():
        poller = ops.begin_delete(name=name)
        states = _statuses(poller)
        return {"states": states, "result": poller.result()}

    out["delete"] = recorded(delete)
    out["get_after_delete"] = outcome(lambda: ops.get(name))
    return out


def v2_reader_endpoints(p: dict[str, Any]) -> dict[str, Any]:
    """A Reader of the workspace (ClientSecretCredential): credentials per auth mode, and invoke."""
    _install_http_recorder(p)
    reader = p["reader"]
    ops = _ml_client(_secret_credential(p, reader["appId"], reader["password"]), p).online_endpoints
    request_file = _v2_request_file(p)
    out: dict[str, Any] = {"get": outcome(lambda: ops.get(p["ep_aad"]).name)}
    for label, name in (("key", p["ep_key"]), ("amltoken", p["ep_amltoken"]), ("aad", p["ep_aad"])):
        out[f"keys_{label}"] = recorded(lambda: _v2_credentials(ops.get_keys(name)))
        out[f"invoke_{label}"] = recorded(lambda: ops.invoke(endpoint_name=name, request_file=request_file))
    return out


# --- managed identity (azureml-core MsiAuthentication) ------------------------------------------


def v1_msi_workspace_get(p: dict[str, Any]) -> dict[str, Any]:
    """MsiAuthentication (MSI_ENDPOINT from `env --managed-identity`) then Workspace.get, once as the
    compute's system-assigned identity and once as the user-assigned one (identity_config)."""
    from azureml.core import Workspace
    from azureml.core.authentication import MsiAuthentication

    def get(identity_config):
        auth = MsiAuthentication(identity_config=identity_config) if identity_config else MsiAuthentication()
        ws = Workspace.get(p["workspace"], auth=auth, subscription_id=p["subscription_id"], resource_group=p["resource_group"])
        token = auth.get_authentication_header()["Authorization"].split(" ", 1)[1]
        return {"name": ws.name, "oid": _claims(token)["oid"], "xms_mirid": _claims(token)["xms_mirid"]}

    return {
        "user_assigned": outcome(lambda: get({"client_id": p["uami_client_id"]})),
        "system_assigned": outcome(lambda: get(None)),
    }


# --- azureml-core interactive sign-in (user_scenarios.py) ---------------------------------------

from user_scenarios import interactive_workspace  # noqa: E402,F401 - a scenario by name


# --- the failure-mode toolkit --------------------------------------------------------------------


def v1_token_region_distance(p: dict[str, Any]) -> dict[str, Any]:
    """aks.get_token() timed at each region-latency setting, then during a region-outage fault."""
    import time

    from azureml.core.webservice import AksWebservice

    ws = _v1_ws(p)
    aks, _ = _v1_get(ws, p["aks"], AksWebservice)
    aks.get_token()  # warm: the workspace's ARM token and the connection
    seconds = []
    for per in p["per_1000km"]:
        _admin_post(p, "/_emulator/settings", {"region_latency_ms_per_1000km": per})
        start = time.monotonic()
        aks.get_token()
        seconds.append(time.monotonic() - start)
    _admin_post(p, "/_emulator/settings", {"region_latency_ms_per_1000km": 0})
    _admin_post(p, "/_emulator/faults", {"surface": "model-management", "kind": "region-outage", "match": {"region": "eastus"}})
    out: dict[str, Any] = {"seconds": seconds, "outage_error": None}
    try:
        aks.get_token()
    except Exception as exc:  # noqa: BLE001 - the SDK's own exception is what is checked
        out["outage_error"] = {"class": type(exc).__name__, "message": str(exc)}
    return out
