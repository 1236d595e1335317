#!/usr/bin/env python3
"""Fidelity check: a running emulator's answers against the shapes Azure publishes.

For every operation in openapi/fidelity/shapes/ and every api-version that api-versions.json lists
for the operation's resource type, the checker sends the request an SDK would send and compares
the answer with the shape group of that api-version: the HTTP status (including the 201/202 of
long-running operations), the SDK-relevant headers (Location, Azure-AsyncOperation, Retry-After,
x-ms-async-operation-timeout, Content-Type, x-ms-routing-request-id ...), the body's key set at
every level the shape describes (missing required keys, keys Azure's schema does not have at that
version, keys Azure omits when empty), JSON types and formats (date-times with at most 7
fractional digits, GUIDs, ARM ids, epoch seconds). It also sends api-versions Azure rejects and
compares the error (InvalidApiVersionParameter / NoRegisteredProviderFound / InvalidResourceType,
with the exact message for Microsoft.Resources), checks the Entra ID discovery documents, token
answers and instance discovery against openapi/fidelity/aad/, and a few facts that are not shapes
(415 for a non-JSON body, Azure ML token lifetime).

Writes (resource groups, workspaces, online endpoints, role assignments) use scratch names
(fid-*), one per api-version, and delete what they create; the default world is read, and
ep-key's primary key is regenerated.

Usage:
  python3 openapi/fidelity/check.py --url https://127.0.0.1:PORT --ca CA.pem [--report] [--only REGEX]
                                     [--skip REGEX] [--markdown REPORT.md] [--quiet]

Prints one line per (operation, api-version): PASS or FAIL with the differences, then a summary.
Exit status: 0 when everything matches (or with --report), 1 on a difference, 2 on a usage error.
Standard library only.
"""

import argparse
import base64
import datetime
import email.utils
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ML = "Microsoft.MachineLearningServices"
ROLE_READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ML_AUTH_OBJECT_ID = "5e2f1a0b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"  # fixtures/default.toml, service principal ml-auth


def die(message):
    print(f"check.py: {message}", file=sys.stderr)
    sys.exit(2)


def load(path):
    with open(os.path.join(HERE, path), encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------------------------------ http


class Http:
    def __init__(self, url, ca, timeout):
        self.base = url.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=ca)
        self.timeout = timeout
        self.token = None

    def send(self, method, path, body=None, headers=None, raw=None, content_type="application/json"):
        """Returns (status, headers, raw bytes, parsed JSON or None). `path` may be a full URL."""
        url = path if path.startswith("http") else self.base + path
        h = {"Accept": "application/json"}
        if self.token and "/oauth2/" not in path:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
        elif raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        if data is not None and content_type:
            h["Content-Type"] = content_type
        if method in ("POST", "PUT", "PATCH") and data is None:
            data = b""
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as r:
                status, hdrs, payload = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, payload = e.code, e.headers, e.read()
        parsed = None
        if payload.strip():
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = None
        return status, hdrs, payload, parsed


# -------------------------------------------------------------------------------------- compare


class Diffs:
    def __init__(self):
        self.items = []  # (kind, message)

    def add(self, kind, message):
        self.items.append((kind, message))


def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


class Shapes:
    def __init__(self):
        self.common = load("shapes/_common.json")
        self.formats = self.common["formats"]
        self.ops = {}
        for name in sorted(os.listdir(os.path.join(HERE, "shapes"))):
            if name.endswith(".json") and not name.startswith("_"):
                doc = load(f"shapes/{name}")
                self.ops[doc["operation"]] = doc

    def group(self, op, version):
        for g in self.ops[op]["groups"]:
            if version in g["versions"]:
                return g
        return None

    def check_format(self, fmt, value, where, diffs):
        spec = self.formats.get(fmt)
        if spec is None or value is None:
            return
        if "re" in spec and isinstance(value, str) and not re.search(spec["re"], value):
            diffs.add("format", f"{where}: {value!r} is not {fmt} ({spec.get('note', spec['re'])[:60]})")
        if "min" in spec and isinstance(value, (int, float)) and not spec["min"] <= value <= spec["max"]:
            diffs.add("format", f"{where}: {value!r} is not {fmt}")

    def compare(self, node, value, where, diffs):
        t = node.get("t", "any")
        if t == "any":
            return
        types = t if isinstance(t, list) else [t]
        actual = jtype(value)
        ok = actual in types or (actual == "integer" and "number" in types)
        if not ok:
            diffs.add("type", f"{where}: JSON {actual}, Azure sends {'/'.join(types)}")
            return
        if "eq" in node and value != node["eq"]:
            diffs.add("value", f"{where}: {value!r}, Azure sends {node['eq']!r}")
        if "fmt" in node:
            self.check_format(node["fmt"], value, where, diffs)
        if isinstance(value, list) and "items" in node:
            for i, item in enumerate(value[:3]):
                self.compare(node["items"], item, f"{where}[{i}]", diffs)
        if isinstance(value, dict):
            if "map" in node:
                for k, v in value.items():
                    self.compare(node["map"], v, f"{where}.{k}", diffs)
            keys = node.get("keys")
            if keys is not None:
                for k, v in value.items():
                    sub = keys.get(k)
                    if sub is None:
                        if not node.get("open"):
                            diffs.add("unexpected-key", f"{where}.{k}: not in Azure's schema/answers for this api-version")
                        continue
                    if sub.get("omit_empty") and v in ({}, [], None):
                        diffs.add("omit-empty", f"{where}.{k}: sent as {json.dumps(v)}, Azure omits the key")
                        continue
                    self.compare(sub, v, f"{where}.{k}", diffs)
                for k, sub in keys.items():
                    if sub.get("req") and k not in value:
                        diffs.add("missing-key", f"{where}.{k}: missing (Azure always sends it)")
                for alts in node.get("req_any", []):
                    if not any(a in value for a in alts.split("|")):
                        diffs.add("missing-key", f"{where}.{alts.split('|')[-1]}: missing (Azure always sends it)")

    def check_headers(self, specs, headers, where, diffs, has_body=True):
        for name, spec in specs.items():
            if not isinstance(spec, dict):
                continue
            if spec.get("when") == "body" and not has_body:
                continue
            got = headers.get(name)
            if spec.get("absent"):
                if got is not None:
                    diffs.add("header", f"{where + ' ' if where else ''}header {name}: present ({got[:60]}), Azure does not send it")
                continue
            if got is None:
                diffs.add("header", f"{where + ' ' if where else ''}header {name}: missing" + (f" (Azure: {spec['eq']})" if "eq" in spec else ""))
                continue
            if "eq" in spec and got != spec["eq"]:
                diffs.add("header", f"{where + ' ' if where else ''}header {name}: {got!r}, Azure sends {spec['eq']!r}")
            if "re" in spec and not re.search(spec["re"], got):
                diffs.add("header", f"{where + ' ' if where else ''}header {name}: {got[:100]!r} does not match {spec['re']!r}")
            if "fmt" in spec:
                self.check_format(spec["fmt"], got, f"{where + ' ' if where else ''}header {name}", diffs)

    def check_body(self, ref, version, status, payload, parsed, where, diffs):
        if ref == "any":
            return
        if ref == "empty":
            if payload.strip():
                diffs.add("body", f"{where}: body {payload[:60]!r}, Azure sends none")
            return
        if ref == "null":
            if payload.strip() != b"null":
                diffs.add("body", f"{where}: body {payload[:60]!r}, Azure sends the 4 bytes 'null'")
            return
        node = ref
        if isinstance(ref, str):
            g = self.group(ref, version)
            node = g and g.get("body")
            if not isinstance(node, dict):
                return
        if parsed is None:
            diffs.add("body", f"{where}: body is not JSON ({payload[:60]!r})")
            return
        self.compare(node, parsed, "$", diffs)


def get_path(value, dotted):
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return KeyError
        value = value[part]
    return value


# ------------------------------------------------------------------------------------- scenarios


class Checker:
    def __init__(self, http, shapes, versions, args):
        self.http, self.shapes, self.versions, self.args = http, shapes, versions, args
        self.results = []  # (op, version, [(kind, msg)])
        self.arm_headers = shapes.common["arm_headers"]

    def record(self, op, version, diffs):
        self.results.append((op, version, list(diffs.items)))
        if not self.args.quiet or diffs.items:
            status = "PASS" if not diffs.items else "FAIL"
            detail = "" if not diffs.items else ": " + "; ".join(m for _, m in diffs.items[:6])
            more = f" (+{len(diffs.items) - 6} more)" if len(diffs.items) > 6 else ""
            print(f"{status} {op} @{version}{detail}{more}")

    def wanted(self, op):
        if self.args.skip and re.search(self.args.skip, op):
            return False
        return not self.args.only or re.search(self.args.only, op)

    def accepted(self, type_name):
        return self.versions["types"][type_name]["accepted"]

    def call(self, method, path, version, body=None, **kw):
        sep = "&" if "?" in path else "?"
        full = f"{path}{sep}api-version={urllib.parse.quote(version)}" if version else path
        return self.http.send(method, full, body=body, **kw)

    def version_rejected(self, status, parsed, diffs, version):
        code = ((parsed or {}).get("error") or {}).get("code") if isinstance(parsed, dict) else None
        if status in (400, 404) and code in ("InvalidApiVersionParameter", "NoRegisteredProviderFound", "InvalidResourceType"):
            diffs.add("api-version", f"the emulator rejects {version} ({code}); Azure accepts it")
            return True
        return False

    def check_simple(self, op, version, method, path, body=None, expect_status=None, extra=None):
        """One request checked against a group with 'status' and 'body'."""
        diffs = Diffs()
        g = self.shapes.group(op, version)
        status, headers, payload, parsed = self.call(method, path, version, body)
        if self.version_rejected(status, parsed, diffs, version):
            self.record(op, version, diffs)
            return status, headers, parsed
        allowed = expect_status or g["status"]
        if status not in allowed:
            kind = "not-served" if status in (404, 405) and parsed is not None and "NotFound" in json.dumps(parsed)[:200] else "status"
            diffs.add(kind, f"HTTP {status}, Azure answers {'/'.join(map(str, allowed))}: {payload[:120]!r}")
        else:
            self.shapes.check_headers(self.arm_headers, headers, "", diffs, has_body=bool(payload.strip()))
            self.shapes.check_body(g["body"], version, status, payload, parsed, "", diffs)
            for dotted, want in (g.get("body_values") or {}).items():
                got = get_path(parsed, dotted)
                if got is not KeyError and got != want:
                    diffs.add("value", f"$.{dotted}: {got!r}, Azure sends {want!r}")
        if extra:
            extra(status, headers, parsed, diffs)
        self.record(op, version, diffs)
        return status, headers, parsed

    def check_lro(self, op, version, method, path, body, expect_key):
        """A request against a group with 'responses' and an expected LRO status."""
        diffs = Diffs()
        g = self.shapes.group(op, version)
        status, headers, payload, parsed = self.call(method, path, version, body)
        if self.version_rejected(status, parsed, diffs, version):
            self.record(op, version, diffs)
            return status, headers, parsed
        expect = g.get(expect_key)
        responses = g.get("responses") or {str(s): {"body": g.get("body", "any"), "body_values": g.get("body_values")} for s in g.get("status", [])}
        if expect and status != expect:
            diffs.add("lro", f"HTTP {status}, Azure answers {expect}" + (" (long-running operation)" if expect == 202 or g.get("poll") else ""))
        resp = responses.get(str(status))
        if resp is None:
            diffs.add("status", f"HTTP {status} is not an answer Azure gives ({'/'.join(responses)}): {payload[:100]!r}")
        else:
            self.shapes.check_headers(self.arm_headers, headers, "", diffs, has_body=bool(payload.strip()))
            self.shapes.check_headers(resp.get("headers", {}), headers, "", diffs)
            self.shapes.check_body(resp.get("body", "any"), version, status, payload, parsed, "", diffs)
            for dotted, want in (resp.get("body_values") or {}).items():
                got = get_path(parsed, dotted)
                if got is not KeyError and got != want:
                    diffs.add("value", f"$.{dotted}: {got!r}, Azure sends {want!r} in this answer")
        if expect and status != expect and str(expect) in responses:
            missing = [h for h, s in responses[str(expect)].get("headers", {}).items() if not s.get("absent") and h not in headers]
            if missing:
                diffs.add("header", "Azure's " + str(expect) + " carries " + ", ".join(missing))
        self.record(op, version, diffs)
        return status, headers, parsed

    # -- Microsoft.Resources

    def resources(self, w):
        sub = w["sub"]
        for v in self.accepted("Microsoft.Resources/subscriptions"):
            if self.wanted("subscriptions.list"):
                self.check_simple("subscriptions.list", v, "GET", "/subscriptions")
            if self.wanted("subscriptions.get"):
                self.check_simple("subscriptions.get", v, "GET", f"/subscriptions/{sub}")
        for v in self.accepted("Microsoft.Resources/tenants"):
            if self.wanted("tenants.list"):
                self.check_simple("tenants.list", v, "GET", "/tenants")
        for i, v in enumerate(self.accepted("Microsoft.Resources/resourceGroups")):
            if self.wanted("resourcegroups.get"):
                self.check_simple("resourcegroups.get", v, "GET", f"/subscriptions/{sub}/resourcegroups/{w['rg']}")
            if self.wanted("resourcegroups.list"):
                self.check_simple("resourcegroups.list", v, "GET", f"/subscriptions/{sub}/resourcegroups")
            if self.wanted("resources.list"):
                self.check_simple("resources.list", v, "GET", f"/subscriptions/{sub}/resources")
            if self.wanted("resourcegroups.(put|patch|delete)"):
                rg = f"/subscriptions/{sub}/resourcegroups/fid-rg-{i}"
                self.check_lro("resourcegroups.put", v, "PUT", rg, {"location": "eastus"}, "expect_create")
                self.check_simple("resourcegroups.patch", v, "PATCH", rg, {"tags": {"fidelity": "yes"}})
                status, headers, _ = self.check_lro("resourcegroups.delete", v, "DELETE", rg, None, "expect_existing")
                self.poll_rg(v, headers)

    def poll_rg(self, version, headers):
        op = "resourcegroups.delete.poll"
        if not self.wanted(op):
            return
        diffs = Diffs()
        location = headers.get("Location") if headers else None
        if not location:
            diffs.add("lro", "no Location to poll: the emulator deletes synchronously (Azure: 202 + Location .../operationresults/...)")
            self.record(op, version, diffs)
            return
        g = self.shapes.group(op, version)
        for _ in range(30):
            status, h, payload, parsed = self.http.send("GET", location)
            if status == 202:
                self.shapes.check_headers(g.get("headers_202", {}), h, "202", diffs)
                time.sleep(min(float(h.get("Retry-After", "0") or 0), 0.2))
                continue
            if status != 200:
                diffs.add("status", f"poll answered HTTP {status}, Azure answers 202 then 200")
            elif payload.strip():
                diffs.add("body", f"final poll body {payload[:60]!r}, Azure sends none")
            break
        else:
            diffs.add("lro", "the operation never completed (30 polls)")
        self.record(op, version, diffs)

    # -- Microsoft.MachineLearningServices

    def workspaces(self, w):
        ws = w["ws_path"]
        rg_ws = f"/subscriptions/{w['sub']}/resourceGroups/{w['rg']}/providers/{ML}/workspaces"
        for i, v in enumerate(self.accepted(f"{ML}/workspaces")):
            if self.wanted("workspaces.get"):
                self.check_simple("workspaces.get", v, "GET", ws)
            if self.wanted("workspaces.list"):
                self.check_simple("workspaces.list", v, "GET", rg_ws)
            if self.wanted("workspaces.listKeys"):
                self.check_simple("workspaces.listKeys", v, "POST", ws + "/listKeys")
            if self.wanted("computes.get"):
                self.check_simple("computes.get", v, "GET", ws + "/computes/cpu-cluster")
            if self.wanted("workspaces.(put|patch|delete)"):
                path = f"{rg_ws}/fidws{i}"
                body = {"location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {"friendlyName": "fid"}}
                self.check_lro("workspaces.put", v, "PUT", path, body, "expect_create")
                self.check_lro("workspaces.patch", v, "PATCH", path, {"tags": {"fidelity": "yes"}}, "expect_existing")
                self.check_lro("workspaces.delete", v, "DELETE", path, None, "expect_existing")

    def endpoints(self, w):
        eps = w["ws_path"] + "/onlineEndpoints"
        for i, v in enumerate(self.accepted(f"{ML}/workspaces/onlineEndpoints")):
            if self.wanted("onlineendpoints.get"):
                self.check_simple("onlineendpoints.get", v, "GET", f"{eps}/ep-key")
            if self.wanted("onlineendpoints.list"):
                self.check_simple("onlineendpoints.list", v, "GET", eps)
            if self.wanted("onlineendpoints.listKeys"):
                self.check_simple("onlineendpoints.listKeys", v, "POST", f"{eps}/ep-key/listKeys")
            if self.wanted("onlineendpoints.token"):
                self.check_simple("onlineendpoints.token", v, "POST", f"{eps}/ep-amltoken/token", extra=self.token_lifetime)
            if self.wanted("onlineendpoints.regenerateKeys"):
                _, h, _ = self.check_lro("onlineendpoints.regenerateKeys", v, "POST", f"{eps}/ep-key/regenerateKeys", {"keyType": "Primary"}, "expect_existing")
            if self.wanted("deployments.get"):
                self.check_simple("deployments.get", v, "GET", f"{eps}/ep-aad/deployments/blue")
            if self.wanted("deployments.list"):
                self.check_simple("deployments.list", v, "GET", f"{eps}/ep-aad/deployments")
            if self.wanted("onlineendpoints.(put|patch|delete)|mfe"):
                path = f"{eps}/fid-ep-{i}"
                body = {"location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {"authMode": "Key"}}
                _, h, _ = self.check_lro("onlineendpoints.put", v, "PUT", path, body, "expect_create")
                self.poll_mfe("mfe.operationStatus", v, h, "Azure-AsyncOperation")
                _, h, _ = self.check_lro("onlineendpoints.patch", v, "PATCH", path, {"tags": {"fidelity": "yes"}}, "expect_existing")
                self.poll_mfe("mfe.operationResult", v, h, "Location")
                self.check_lro("onlineendpoints.delete", v, "DELETE", path, None, "expect_existing")

    def poll_mfe(self, op, version, headers, header):
        if not self.wanted(op):
            return
        diffs = Diffs()
        url = headers.get(header) if headers else None
        if not url or "mfeOperation" not in url:
            diffs.add("not-served", f"no {header} operation URL to poll (Azure: .../locations/{{region}}/{'mfeOperationsStatus' if 'Status' in op else 'mfeOperationResults'}/...)")
            self.record(op, version, diffs)
            return
        g = self.shapes.group(op, version)
        status, h, payload, parsed = self.http.send("GET", url)
        if status not in g["status"]:
            diffs.add("status", f"HTTP {status}, Azure answers {g['status']}")
        else:
            self.shapes.check_body(g["body"], version, status, payload, parsed, "", diffs)
        self.record(op, version, diffs)

    def token_lifetime(self, status, headers, parsed, diffs):
        g = self.shapes.group("onlineendpoints.token", "2022-05-01")
        life = g["lifetime"]
        if status != 200 or not isinstance(parsed, dict) or not headers.get("Date"):
            return
        try:
            now = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
        except (TypeError, ValueError):
            diffs.add("header", f"Date header {headers.get('Date')!r} is not RFC 1123")
            return
        tol = life["tolerance_seconds"]
        for key, want in (("expiryTimeUtc", life["expiryTimeUtc_minus_Date_seconds"]), ("refreshAfterTimeUtc", life["refreshAfterTimeUtc_minus_Date_seconds"])):
            got = parsed.get(key)
            if isinstance(got, int) and abs((got - now) - want) > tol:
                diffs.add("lifetime", f"{key} = Date + {int(got - now)} s, Azure: Date + {want} s")
        token = parsed.get("accessToken") or ""
        try:
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            if claims.get("iss") != g["jwt"]["iss"] or claims.get("aud") != g["jwt"]["aud"]:
                diffs.add("value", f"token iss/aud {claims.get('iss')!r}/{claims.get('aud')!r}, Azure: 'azureml'/'azureml'")
        except (IndexError, ValueError):
            pass

    # -- Microsoft.Authorization, Microsoft.ManagedIdentity

    def authorization(self, w):
        sub = w["sub"]
        base = f"/subscriptions/{sub}/resourceGroups/{w['rg']}/providers/Microsoft.Authorization"
        for v in self.accepted("Microsoft.Authorization/roleAssignments"):
            if self.wanted("roleassignments.list"):
                self.check_simple("roleassignments.list", v, "GET", f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments")
            if self.wanted("roleassignments.(put|get|delete)"):
                name = str(uuid.uuid4())
                body = {"properties": {"roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_READER}",
                                       "principalId": ML_AUTH_OBJECT_ID, "principalType": "ServicePrincipal"}}
                path = f"{base}/roleAssignments/{name}"
                self.check_lro("roleassignments.put", v, "PUT", path, body, "expect_create")
                self.check_simple("roleassignments.get", v, "GET", path)
                self.check_simple("roleassignments.delete", v, "DELETE", path)
        for v in self.accepted("Microsoft.Authorization/roleDefinitions"):
            if self.wanted("roledefinitions.get"):
                self.check_simple("roledefinitions.get", v, "GET", f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_READER}")
            if self.wanted("roledefinitions.list"):
                self.check_simple("roledefinitions.list", v, "GET", f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions")
        uai = f"/subscriptions/{sub}/resourceGroups/{w['rg']}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
        for v in self.accepted("Microsoft.ManagedIdentity/userAssignedIdentities"):
            if self.wanted("userassignedidentities"):
                self.check_simple("userassignedidentities.put", v, "PUT", f"{uai}/fid-uai", {"location": "eastus"})
                self.check_simple("userassignedidentities.get", v, "GET", f"{uai}/fid-uai")
                self.check_simple("userassignedidentities.list", v, "GET", uai)

    # -- versions Azure rejects

    def rejected_versions(self, w):
        fam = self.versions["families"]
        res_err = fam["Microsoft.Resources"]["unsupported_version_error"]
        res_list = ",".join(fam["Microsoft.Resources"]["accepted"])
        probes = [
            ("Microsoft.Resources", f"/subscriptions/{w['sub']}/resourcegroups", ["2023-02-01", "2016-03-30", "2021-04-01-preview", "2099-01-01-preview"]),
            ("Microsoft.Resources", "/subscriptions", ["2023-02-01", "2099-01-01-preview"]),
            (ML, w["ws_path"], ["2023-02-01", "2022-01-01", "2099-01-01-preview"]),
            (ML, w["ws_path"] + "/onlineEndpoints/ep-key", ["2022-01-01-preview", "2099-01-01-preview"]),
            ("Microsoft.Authorization", f"/subscriptions/{w['sub']}/providers/Microsoft.Authorization/roleAssignments", ["2020-07-01-preview", "2022-05-01-preview", "2099-01-01-preview"]),
        ]
        for family, path, bad in probes:
            op = f"reject-version {family} {path.rsplit('/', 1)[-1]}"
            if not self.wanted("reject-version"):
                continue
            for v in bad:
                diffs = Diffs()
                status, headers, payload, parsed = self.call("GET", path, v)
                err = (parsed or {}).get("error", {}) if isinstance(parsed, dict) else {}
                if family == "Microsoft.Resources":
                    want_code, want_status = "InvalidApiVersionParameter", 400
                    want_msg = f"The api-version '{v}' is invalid. The supported versions are '{res_list}'."
                elif family == ML:
                    want_code, want_status, want_msg = "NoRegisteredProviderFound", 400, None
                else:
                    want_code, want_status, want_msg = "InvalidResourceType", 404, None
                if status != want_status or err.get("code") != want_code:
                    diffs.add("version-error", f"HTTP {status} {err.get('code')!r}, Azure answers {want_status} {want_code}")
                elif want_msg and err.get("message") != want_msg:
                    diffs.add("version-error", f"message {err.get('message', '')[:90]!r}..., Azure: {want_msg[:90]!r}...")
                elif family == ML and not re.match(r"^No registered resource provider found for location '[^']*' and API version '[^']+' for type '[^']+'\. The supported api-versions are '[^']+'\. The supported locations are '[^']*'\.$", err.get("message", "")):
                    diffs.add("version-error", f"message {err.get('message', '')[:100]!r} is not ARM's NoRegisteredProviderFound template")
                elif family == "Microsoft.Authorization" and not re.match(r"^The resource type 'roleAssignments' could not be found in the namespace 'Microsoft\.Authorization' for api version '[^']+'\. The supported api-versions are '[^']+'\.$", err.get("message", "")):
                    diffs.add("version-error", f"message {err.get('message', '')[:100]!r} is not ARM's InvalidResourceType template")
                if status == want_status and family == "Microsoft.Resources":
                    self.shapes.check_headers({"x-ms-failure-cause": {"eq": res_err["headers"]["x-ms-failure-cause"]}}, headers, "", diffs)
                self.record(op, v, diffs)

    # -- other facts

    def misc(self, w):
        if not self.wanted("misc"):
            return
        diffs = Diffs()
        status, headers, payload, parsed = self.call("PUT", f"/subscriptions/{w['sub']}/resourcegroups/fid-rg-415", "2021-04-01",
                                                     raw=json.dumps({"location": "eastus"}), content_type="text/plain")
        want = {"error": {"code": "UnsupportedMediaType", "message": "The content media type 'text/plain' is not supported. Only 'application/json' is supported."}}
        if status != 415 or parsed != want:
            diffs.add("status", f"JSON sent as text/plain: HTTP {status} {payload[:100]!r}, Azure: 415 {json.dumps(want)}")
        if status in (200, 201):
            self.call("DELETE", f"/subscriptions/{w['sub']}/resourcegroups/fid-rg-415", "2021-04-01")
        self.record("misc.unsupported-media-type", "2021-04-01", diffs)

    # -- Entra ID

    def aad(self, w):
        if not self.wanted("aad"):
            return
        tid = w["tenant"]
        docs = [("aad.oidc-v2-tenant", f"/{tid}/v2.0/.well-known/openid-configuration", "oidc-v2-tenant"),
                ("aad.oidc-v2-common", "/common/v2.0/.well-known/openid-configuration", "oidc-v2-common"),
                ("aad.oidc-v1-tenant", f"/{tid}/.well-known/openid-configuration", "oidc-v1-tenant"),
                ("aad.oidc-v1-common", "/common/.well-known/openid-configuration", "oidc-v1-common")]
        for op, path, name in docs:
            spec = load(f"aad/{name}.json")
            diffs = Diffs()
            status, headers, payload, parsed = self.http.send("GET", path)
            if status != 200 or not isinstance(parsed, dict):
                diffs.add("status", f"HTTP {status}")
            else:
                self.shapes.check_headers(spec["headers"], headers, "", diffs)
                allowed = set(spec["keys"]) | set(spec.get("optional_keys", []))
                for k in spec["keys"]:
                    if k not in parsed:
                        diffs.add("missing-key", f"$.{k}: missing")
                for k in parsed:
                    if k not in allowed:
                        diffs.add("unexpected-key", f"$.{k}: not in Azure's document")
                for k, want in spec.get("values", {}).items():
                    if k in parsed and parsed[k] != want:
                        diffs.add("value", f"$.{k}: {json.dumps(parsed[k])[:80]}, Azure: {json.dumps(want)[:80]}")
            self.record(op, "-", diffs)
        for op, name, form, path in [
            ("aad.token-v2-client-credentials", "token-v2-client-credentials", {"scope": "https://management.azure.com/.default"}, f"/{tid}/oauth2/v2.0/token"),
            ("aad.token-v1-client-credentials", "token-v1-client-credentials", {"resource": "https://management.azure.com/"}, f"/{tid}/oauth2/token")]:
            spec = load(f"aad/{name}.json")
            diffs = Diffs()
            form = dict(form, grant_type="client_credentials", client_id=self.args.client_id, client_secret=self.args.client_secret)
            status, headers, payload, parsed = self.http.send("POST", path, raw=urllib.parse.urlencode(form), content_type="application/x-www-form-urlencoded")
            if status != 200 or not isinstance(parsed, dict):
                diffs.add("status", f"HTTP {status}")
            else:
                self.shapes.check_headers(spec["headers"], headers, "", diffs)
                for k, desc in spec["body"].items():
                    if k not in parsed:
                        diffs.add("missing-key", f"$.{k}: missing")
                        continue
                    want_type = "integer" if desc.startswith("integer") else "string"
                    if jtype(parsed[k]) != want_type:
                        diffs.add("type", f"$.{k}: JSON {jtype(parsed[k])}, Azure sends {desc}")
                for k in parsed:
                    if k in spec.get("absent", []) or k not in spec["body"]:
                        diffs.add("unexpected-key", f"$.{k}: Azure's answer has no {k}")
            self.record(op, "-", diffs)
        spec = load("aad/instance-discovery.json")
        diffs = Diffs()
        q = urllib.parse.urlencode({"api-version": "1.1", "authorization_endpoint": f"{self.http.base}/{tid}/oauth2/v2.0/authorize"})
        status, headers, payload, parsed = self.http.send("GET", f"/common/discovery/instance?{q}")
        if status != 200 or not isinstance(parsed, dict):
            diffs.add("status", f"HTTP {status}")
        else:
            self.shapes.check_headers(spec["headers"], headers, "", diffs)
            for k in spec["keys"]:
                if k not in parsed:
                    diffs.add("missing-key", f"$.{k}: missing")
            for k in parsed:
                if k not in spec["keys"]:
                    diffs.add("unexpected-key", f"$.{k}: not in Azure's answer")
        self.record("aad.instance-discovery", "-", diffs)


# ---------------------------------------------------------------------------------------- report


def markdown(results, path, url):
    groups = {}
    for op, version, items in results:
        for kind, msg in items:
            norm = re.sub(r"'\d{4}-\d{2}-\d{2}(-preview)?'|\b\d{4}-\d{2}-\d{2}(-preview)?\b", "{v}", msg)
            norm = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{guid}", norm)
            norm = re.sub(r"fid(-rg-|ws|-ep-)\d+", r"fid\g<1>N", norm)
            norm = re.sub(r"\d{9,11}", "{n}", norm)
            groups.setdefault(kind, {}).setdefault((op, norm[:300]), []).append(version)
    passed = sum(1 for _, _, items in results if not items)
    lines = [f"# Fidelity report", "", f"Generated by `python3 openapi/fidelity/check.py --report --markdown ...` against `{url}`.", "",
             f"{len(results)} (operation, api-version) checks: {passed} pass, {len(results) - passed} fail.", ""]
    order = ["api-version", "version-error", "not-served", "lro", "status", "header", "missing-key", "unexpected-key", "omit-empty", "type", "format", "value", "body", "lifetime"]
    for kind in order + sorted(k for k in groups if k not in order):
        if kind not in groups:
            continue
        entries = groups[kind]
        lines += [f"## {kind} ({sum(len(v) for v in entries.values())})", ""]
        for (op, msg), versions in sorted(entries.items()):
            vs = versions if len(versions) <= 4 else versions[:2] + ["...", versions[-1]]
            lines.append(f"- `{op}` [{len(versions)} version(s): {', '.join(vs)}]: {msg}")
        lines.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description="Compare a running emulator with Azure's published shapes.")
    p.add_argument("--url", required=True)
    p.add_argument("--ca", required=True, help="CA certificate (PEM) of the emulator (ready file: ca_cert)")
    p.add_argument("--tenant", help="tenant id (default: GET /_emulator/info)")
    p.add_argument("--subscription", help="subscription id (default: GET /_emulator/info)")
    p.add_argument("--client-id", default="6a1b7c2d-3e4f-4a5b-8c6d-00000000ad01", help="default: ml-admin of the default world")
    p.add_argument("--client-secret", default="ml-admin-dev-secret~emulator.0000")
    p.add_argument("--only", help="regular expression: only operations whose name matches")
    p.add_argument("--skip", help="regular expression: leave out operations whose name matches (ones not served yet)")
    p.add_argument("--report", action="store_true", help="print every difference but exit 0")
    p.add_argument("--markdown", help="also write the differences grouped by kind to this file")
    p.add_argument("--quiet", action="store_true", help="print failures and the summary, not each pass")
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args()

    http = Http(args.url, args.ca, args.timeout)
    tenant, sub = args.tenant, args.subscription
    if not (tenant and sub):
        status, _, _, info = http.send("GET", "/_emulator/info")
        if status != 200 or not isinstance(info, dict):
            die(f"cannot read /_emulator/info (HTTP {status}); pass --tenant and --subscription")
        tenant = tenant or info.get("tenant_id")
        sub = sub or info.get("subscription_id")
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": args.client_id, "client_secret": args.client_secret,
                                   "scope": "https://management.azure.com/.default"})
    status, _, payload, parsed = http.send("POST", f"/{tenant}/oauth2/v2.0/token", raw=form, content_type="application/x-www-form-urlencoded")
    if status != 200 or not isinstance(parsed, dict) or "access_token" not in parsed:
        die(f"cannot get an ARM token: HTTP {status} {payload[:200]!r}")
    http.token = parsed["access_token"]

    world = {"sub": sub, "tenant": tenant, "rg": "ml-example-rg",
             "ws_path": f"/subscriptions/{sub}/resourceGroups/ml-example-rg/providers/{ML}/workspaces/ml-example"}
    checker = Checker(http, Shapes(), load("api-versions.json"), args)
    for step in (checker.aad, checker.resources, checker.workspaces, checker.endpoints, checker.authorization, checker.rejected_versions, checker.misc):
        step(world)

    failed = [r for r in checker.results if r[2]]
    ops = sorted({op for op, _, _ in checker.results})
    kinds = {}
    for _, _, items in checker.results:
        for kind, _ in items:
            kinds[kind] = kinds.get(kind, 0) + 1
    print(f"\n{len(checker.results)} (operation, api-version) checks over {len(ops)} operations: "
          f"{len(checker.results) - len(failed)} pass, {len(failed)} fail")
    if kinds:
        print("differences by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda x: -x[1])))
    if args.markdown:
        markdown(checker.results, args.markdown, args.url)
    return 0 if (args.report or not failed) else 1


if __name__ == "__main__":
    sys.exit(main())
