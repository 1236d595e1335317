"""azure-mgmt-resource (track 2) against the emulator's resource groups: ``begin_delete`` is ARM's
long-running operation, as recorded (Azure/azure-sdk-for-js ``recording_resourcegroups_delete_test.json``):
DELETE 202 with ``Location`` on ``/operationresults/`` and ``Retry-After``, then polls of that URL
(202 while it runs, 200 with no body when done).

The client is built as for a sovereign cloud (``base_url`` = the emulator, ARM's scope), in the pytest
process; a per-retry policy records every exchange the SDK makes.
"""

from __future__ import annotations

import base64
import json

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.identity import ClientSecretCredential
from azure.mgmt.resource import ResourceManagementClient

import emulator_support as emu

GROUP = "rg-lro"


class Recorder(SansIOHTTPPolicy):
    """Notes (method, path, status, Location, Retry-After, Content-Length) of each response (the
    bodies of an LRO's answers are streamed: not read here)."""

    def __init__(self):
        self.calls: list[dict] = []

    def on_response(self, request, response):
        http = response.http_response
        url = request.http_request.url
        self.calls.append(
            {
                "method": request.http_request.method,
                "path": url.split("://", 1)[1].split("?")[0].partition("/")[2],
                "status": http.status_code,
                "location": http.headers.get("Location"),
                "retry_after": http.headers.get("Retry-After"),
                "async_operation": http.headers.get("Azure-AsyncOperation"),
                "length": http.headers.get("Content-Length"),
            }
        )


@pytest.fixture(autouse=True)
def _authority_from_env(monkeypatch, url):
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"{url}/adfs")


@pytest.fixture
def client_and_calls(url, tenant_id, subscription_id, admin_sp):
    recorder = Recorder()
    credential = ClientSecretCredential(tenant_id, admin_sp["clientId"], admin_sp["clientSecret"])
    client = ResourceManagementClient(
        credential, subscription_id, base_url=url, credential_scopes=[emu.ARM_SCOPE], per_retry_policies=[recorder]
    )
    return client, recorder.calls


def test_begin_delete_polls_operationresults_until_done(client_and_calls, subscription_id, reset_world):
    client, calls = client_and_calls
    client.resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    calls.clear()
    poller = client.resource_groups.begin_delete(GROUP)
    states = [poller.status()]
    # Right after the 202, the group is still there, Deleting (the operation runs 1 s of emulator time).
    during = client.resource_groups.get(GROUP)
    assert during.properties.provisioning_state == "Deleting"
    assert during.tags is None  # untagged: ARM leaves `tags` out
    poller.result()
    states.append(poller.status())
    assert states == ["InProgress", "Succeeded"]

    deleted = calls[0]
    assert (deleted["method"], deleted["path"], deleted["status"]) == (
        "DELETE",
        f"subscriptions/{subscription_id}/resourcegroups/{GROUP}",
        202,
    )
    assert deleted["length"] == "0" and deleted["async_operation"] is None
    assert deleted["retry_after"] == "1"
    prefix = f"/subscriptions/{subscription_id}/operationresults/"
    assert prefix in deleted["location"] and deleted["location"].endswith("?api-version=2025-04-01"), deleted
    job = deleted["location"].split(prefix)[1].split("?")[0]
    assert json.loads(base64.urlsafe_b64decode(job + "=" * (-len(job) % 4))) == {
        "jobId": f"RESOURCEGROUPDELETIONJOB-{GROUP.upper()}-WESTEUROPE",
        "jobLocation": "westeurope",
    }
    polls = [c for c in calls if c["path"] == prefix.lstrip("/") + job]
    assert [c["status"] for c in polls][-1] == 200 and polls[-1]["length"] == "0"
    assert all(c["status"] == 202 and c["location"] == deleted["location"] for c in polls[:-1])
    with pytest.raises(ResourceNotFoundError) as exc:
        client.resource_groups.get(GROUP)
    assert exc.value.error.code == "ResourceGroupNotFound"


def test_begin_delete_of_a_missing_group_is_resource_group_not_found(client_and_calls):
    client, calls = client_and_calls
    with pytest.raises(ResourceNotFoundError) as exc:
        client.resource_groups.begin_delete("rg-never-made").result()
    assert exc.value.error.code == "ResourceGroupNotFound"
    assert [c["status"] for c in calls] == [404]


def test_a_poller_resumes_from_its_continuation_token(client_and_calls, url, tenant_id, subscription_id, admin_sp, reset_world):
    """A process that saved ``continuation_token()`` finishes the operation in another client."""
    client, calls = client_and_calls
    client.resource_groups.create_or_update(GROUP, {"location": "westeurope"})
    poller = client.resource_groups.begin_delete(GROUP)
    assert poller.status() == "InProgress"
    token = poller.continuation_token()
    assert isinstance(token, str) and token
    credential = ClientSecretCredential(tenant_id, admin_sp["clientId"], admin_sp["clientSecret"])
    recorder = Recorder()
    other = ResourceManagementClient(
        credential, subscription_id, base_url=url, credential_scopes=[emu.ARM_SCOPE], per_retry_policies=[recorder]
    )
    resumed = other.resource_groups.begin_delete(GROUP, continuation_token=token)
    resumed.result()
    assert resumed.status() == "Succeeded"
    with pytest.raises(ResourceNotFoundError) as exc:
        other.resource_groups.get(GROUP)
    assert exc.value.error.code == "ResourceGroupNotFound"
    # The resumed poller polled the saved Location; it did not send a second DELETE.
    polled = [c for c in recorder.calls if c["path"] != f"subscriptions/{subscription_id}/resourcegroups/{GROUP}"]
    assert [c["method"] for c in recorder.calls].count("DELETE") == 0, recorder.calls
    assert polled and all("/operationresults/" in "/" + c["path"] for c in polled), polled
    assert polled[-1]["status"] == 200
