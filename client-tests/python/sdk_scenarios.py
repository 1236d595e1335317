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
        "type": type(ws).__module__ + "." + type(ws).__name__,
    }


def _ml_client(credential, p: dict[str, Any]):
    from azure.ai.ml import MLClient

    return MLClient(credential, p["subscription_id"], p["resource_group"], p["workspace"])


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
