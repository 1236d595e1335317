#!/usr/bin/env python3
"""Validity check for openapi/openapi.yaml, optionally against a running emulator.

Static checks (always run):
  * the file parses as YAML, and every value is plain JSON data (no YAML 1.1 dates or other
    implicit types: an unquoted 2024-01-01 would be one);
  * `openapi` is the string "3.0.3"; `info.title`, `info.version` and `servers` are present;
  * every `$ref` is a local JSON pointer (`#/...`) that resolves;
  * every path starts with `/`, has at least one operation, and every operation has at least one
    response; response keys are quoted status codes (`'200'`, `'4XX'`) or `default`;
  * every `{name}` in a path is declared as a required path parameter, and every declared path
    parameter appears in the path;
  * operationIds are unique; security requirements name defined security schemes;
  * every name in a schema's `required` list is one of its `properties` (when it lists properties).

Live checks (with --url and --ca): GET every GET path of the control API (`/_emulator/...`), the
cloud metadata (`/metadata/...`) and workspace discovery (`/discovery`) that has no required query
parameters and whose path parameters (control API only) all declare an `example`. With --aad, the
parameter-free AAD GETs (`/.well-known/openid-configuration`, `/adfs/.well-known/openid-configuration`)
are also checked. Optional query parameters that declare `examples` are tried with each example
value too.

With --arm, every GET secured by `bearerAuth` (ARM, and model management, which takes ARM tokens)
is checked as well, with a token that check.py gets from the emulator's own token endpoint by
`client_credentials` (by default as `ml-admin` of the default world, Owner of its subscription; see
--client-id). Path parameters take their declared `example`; required query parameters take their
`example`, or each of their `examples` in turn. Operations marked `x-live-skip` are skipped, and the
reason printed. One more request, the first ARM target without a token, must be a 401 with a
`WWW-Authenticate` header.

Each response must be 200 and JSON, and must match the spec's 200 schema: JSON types, `required`
keys, `nullable`, `enum`, `pattern`, `minItems`/`maxItems`, `maxProperties`, recursively through
`properties`, `additionalProperties`, `items`, `allOf` and `oneOf`/`anyOf` (any alternative may
match). Response headers the spec marks `required` must be present.

With --scoring, every web service and online endpoint the emulator has (`GET /_emulator/services`;
for the default world `aci-service-1`, `aks-service-1`, `ep-key`, `ep-amltoken`, `ep-aad`) is
scored at its `scoringUri`, the way an SDK would: keys come from model-management `listkeys` or
ARM `listKeys`, Azure ML tokens from model-management `token` or the ARM endpoint `token` action
(with the --arm token), Entra tokens for `https://ml.azure.com` from the token endpoint (same
client). For each: `swagger.json` is 200; scoring without a credential and with a wrong one is 401
(`{"message"}`, `WWW-Authenticate: Bearer`) unless the service has no auth; scoring with each
credential is 200 and echoes the body (or returns the world's static document); echo services
refuse a non-JSON body with 400; endpoints accept each of their deployments in
`azureml-model-deployment` and refuse an unknown one with 404; an `AADToken` endpoint refuses an
ARM token with 401. An unknown service is 404. Every answer, token responses included, must be a
status the operation documents and match that response's schema and required headers. Nothing is
changed in the world.

Usage:
  python3 openapi/check.py [--spec openapi/openapi.yaml]
  python3 openapi/check.py --url https://127.0.0.1:10443 --ca ~/.azureml-emulator/ca.pem [--admin-key K] [--aad] [--arm] [--scoring]

Needs PyYAML (`import yaml`). Exit status: 0 all checks passed, 1 a check failed, 2 usage or load
error.
"""

import argparse
import datetime
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
STATUS_KEY = re.compile(r"^([1-5][0-9][0-9]|[1-5]XX)$")
DEFAULT_SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.yaml")


def die(message):
    print(f"check.py: {message}", file=sys.stderr)
    sys.exit(2)


class Failures:
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append(f"{where}: {message}")

    def __bool__(self):
        return bool(self.items)


def load_spec(path):
    try:
        import yaml
    except ImportError:
        die("PyYAML is required (pip install pyyaml)")
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except OSError as e:
        die(f"cannot read {path}: {e}")
    except yaml.YAMLError as e:
        die(f"{path} is not valid YAML: {e}")


def walk(node, pointer="#"):
    """Yields (json_pointer, node) for every node of the document."""
    yield pointer, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{pointer}/{escape(str(k))}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{pointer}/{i}")


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def resolve_pointer(doc, ref):
    """Resolves a local `#/a/b` reference; raises KeyError with a reason if it does not resolve."""
    if not ref.startswith("#"):
        raise KeyError(f"only local references are supported, got {ref!r}")
    fragment = urllib.parse.unquote(ref[1:])
    if fragment == "":
        return doc
    if not fragment.startswith("/"):
        raise KeyError(f"{ref!r} is not a JSON pointer")
    node = doc
    for raw in fragment[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(f"{ref!r}: no {token!r}")
    return node


def deref(doc, node, seen=None):
    """Follows $ref chains."""
    seen = seen or set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise KeyError(f"reference cycle at {ref!r}")
        seen.add(ref)
        node = resolve_pointer(doc, ref)
    return node


def static_checks(doc, fail):
    if not isinstance(doc, dict):
        fail.add("document", "the top level is not a mapping")
        return
    # Plain JSON data only.
    for pointer, node in walk(doc):
        if isinstance(node, dict):
            for k in node:
                if not isinstance(k, str):
                    fail.add(pointer, f"key {k!r} is a {type(k).__name__}, not a string (quote it)")
        elif isinstance(node, (datetime.date, datetime.datetime, bytes, set)):
            fail.add(pointer, f"value {node!r} is a {type(node).__name__}, not JSON data (quote it)")

    if doc.get("openapi") != "3.0.3":
        fail.add("#/openapi", f"expected the string '3.0.3', got {doc.get('openapi')!r}")
    info = doc.get("info") or {}
    for key in ("title", "version"):
        if not isinstance(info.get(key), str) or not info.get(key):
            fail.add("#/info", f"missing {key}")
    if not doc.get("servers"):
        fail.add("#/servers", "no servers")

    # Every $ref resolves.
    refs = 0
    for pointer, node in walk(doc):
        if isinstance(node, dict) and "$ref" in node:
            refs += 1
            ref = node["$ref"]
            if not isinstance(ref, str):
                fail.add(pointer, f"$ref is not a string: {ref!r}")
                continue
            try:
                deref(doc, node)
            except KeyError as e:
                fail.add(pointer, f"unresolved $ref: {e.args[0]}")

    # Paths and operations.
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        fail.add("#/paths", "no paths")
        paths = {}
    schemes = ((doc.get("components") or {}).get("securitySchemes") or {})
    operation_ids = {}
    operations = 0
    for path, item in paths.items():
        where = f"paths[{path}]"
        if not path.startswith("/"):
            fail.add(where, "path does not start with '/'")
        try:
            item = deref(doc, item)
        except KeyError as e:
            fail.add(where, str(e))
            continue
        ops = {m: item[m] for m in METHODS if m in (item or {})}
        if not ops:
            fail.add(where, "no operation")
        templated = set(re.findall(r"{([^}/]+)}", path))
        item_params = params_by_key(doc, item.get("parameters", []), f"{where}.parameters", fail)
        for method, op in ops.items():
            operations += 1
            owhere = f"{method.upper()} {path}"
            responses = (op or {}).get("responses")
            if not isinstance(responses, dict) or not responses:
                fail.add(owhere, "no responses")
            else:
                for code in responses:
                    if not (isinstance(code, str) and (code == "default" or STATUS_KEY.match(code))):
                        fail.add(owhere, f"response key {code!r} is not a quoted status code or 'default'")
            oid = op.get("operationId")
            if oid:
                if oid in operation_ids:
                    fail.add(owhere, f"operationId {oid!r} also used by {operation_ids[oid]}")
                operation_ids[oid] = owhere
            params = dict(item_params)
            params.update(params_by_key(doc, op.get("parameters", []), f"{owhere}.parameters", fail))
            declared = {name for (name, loc), p in params.items() if loc == "path"}
            for name in templated - declared:
                fail.add(owhere, f"path parameter {{{name}}} is not declared")
            for name in declared - templated:
                fail.add(owhere, f"path parameter {name!r} is declared but not in the path")
            for (name, loc), p in params.items():
                if loc == "path" and p.get("required") is not True:
                    fail.add(owhere, f"path parameter {name!r} must be required: true")
            for requirement in op.get("security", doc.get("security", [])) or []:
                for scheme in requirement or {}:
                    if scheme not in schemes:
                        fail.add(owhere, f"security scheme {scheme!r} is not defined")

    # `required` names listed properties.
    for pointer, node in walk(doc):
        if (
            isinstance(node, dict)
            and isinstance(node.get("required"), list)
            and isinstance(node.get("properties"), dict)
            and "/parameters/" not in pointer
        ):
            for name in node["required"]:
                if name not in node["properties"]:
                    fail.add(pointer, f"required {name!r} is not among the properties")
    return refs, operations


def params_by_key(doc, params, where, fail):
    out = {}
    for i, p in enumerate(params or []):
        try:
            p = deref(doc, p)
        except KeyError as e:
            fail.add(f"{where}[{i}]", str(e))
            continue
        out[(p.get("name"), p.get("in"))] = p
    return out


# ------------------------------------------------------------------------------------------ live


def json_type(value):
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def type_matches(stype, value):
    actual = json_type(value)
    return stype is None or stype == actual or (stype == "number" and actual == "integer")


def schema_type(doc, schema):
    """The JSON type a schema names, looking through `$ref` and `allOf`; None when it names none."""
    schema = deref(doc, schema)
    if schema.get("type"):
        return schema["type"]
    for part in schema.get("allOf", []):
        t = schema_type(doc, part)
        if t:
            return t
    if "properties" in schema or "required" in schema:
        return "object"
    return None


def check_value(doc, schema, value, where, fail, nullable=False):
    """Checks a JSON value against a schema, recursively; failures go to `fail`."""
    schema = deref(doc, schema)
    nullable = nullable or schema.get("nullable") is True
    if value is None:
        if not nullable and schema_type(doc, schema) is not None:
            fail.add(where, "got null, the schema is not nullable")
        return
    for part in schema.get("allOf", []):
        check_value(doc, part, value, where, fail)
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        results = []
        for alt in alternatives:
            trial = Failures()
            check_value(doc, alt, value, where, trial)
            if not trial:
                break
            results.append(trial)
        else:
            matching = [r for alt, r in zip(alternatives, results) if type_matches(schema_type(doc, alt), value)]
            if matching:
                fail.items.extend(matching[0].items)
            else:
                kinds = sorted({str(schema_type(doc, a)) for a in alternatives})
                fail.add(where, f"got a JSON {json_type(value)}, the schema allows {', '.join(kinds)}")
    stype = schema.get("type")
    if stype is None and ("properties" in schema or "required" in schema):
        stype = "object"
    if not type_matches(stype, value):
        fail.add(where, f"got a JSON {json_type(value)}, the schema says {stype}")
        return
    if "enum" in schema and value not in schema["enum"]:
        fail.add(where, f"{value!r} is not one of {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        fail.add(where, f"{value!r} does not match {schema['pattern']!r}")
    if isinstance(value, dict):
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            fail.add(where, f"missing required keys {missing}")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            fail.add(where, f"{len(value)} members, more than maxProperties {schema['maxProperties']}")
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, member in value.items():
            if key in properties:
                check_value(doc, properties[key], member, f"{where}.{key}", fail)
            elif isinstance(extra, dict):
                check_value(doc, extra, member, f"{where}.{key}", fail)
    elif isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            fail.add(where, f"{len(value)} items, fewer than minItems {schema['minItems']}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            fail.add(where, f"{len(value)} items, more than maxItems {schema['maxItems']}")
        if "items" in schema:
            for i, element in enumerate(value):
                check_value(doc, schema["items"], element, f"{where}[{i}]", fail)


def example_values(param):
    """The values a parameter's `example` / `examples` offer, in order."""
    values = [e.get("value") for e in (param.get("examples") or {}).values()]
    if "example" in param:
        values.insert(0, param["example"])
    return [v for v in values if v is not None]


def is_arm(op):
    return any("bearerAuth" in (requirement or {}) for requirement in op.get("security") or [])


def live_targets(doc, include_aad, include_arm):
    """Requests to make: (path as sent, [(name, value)] query, 200 response, operation)."""
    targets, skipped = [], []
    for path, item in (doc.get("paths") or {}).items():
        item = deref(doc, item)
        op = item.get("get")
        if op is None:
            continue
        arm = is_arm(op)
        if arm and not include_arm:
            continue
        surface = path.startswith("/_emulator/") or path.startswith("/metadata/") or path == "/discovery"
        if not arm and not (surface or include_aad):
            continue
        if not arm and "{" in path and not path.startswith("/_emulator/"):
            continue
        if op.get("x-live-skip"):
            skipped.append((path, op["x-live-skip"]))
            continue
        params = [deref(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
        concrete = path
        for p in params:
            if p.get("in") == "path":
                values = example_values(p)
                if not values:
                    break
                concrete = concrete.replace("{" + p["name"] + "}", urllib.parse.quote(str(values[0]), safe="{}"))
        if "{" in concrete:
            skipped.append((path, "a path parameter has no example"))
            continue
        required = [p for p in params if p.get("in") == "query" and p.get("required")]
        if any(not example_values(p) for p in required):
            if not arm:
                continue
            skipped.append((path, "a required query parameter has no example"))
            continue
        ok = deref(doc, (op.get("responses") or {}).get("200") or {})
        # One request per example of the (at most one) multi-valued required parameter, the others fixed.
        base = [(p["name"], str(example_values(p)[0])) for p in required]
        variants = [base]
        for i, p in enumerate(required):
            for value in example_values(p)[1:]:
                variant = list(base)
                variant[i] = (p["name"], str(value))
                variants.append(variant)
        for query in variants:
            targets.append((concrete, query, ok, op))
        for p in params:
            if p.get("in") != "query" or p.get("required"):
                continue
            for value in [e.get("value") for e in (p.get("examples") or {}).values()]:
                if value is not None:
                    targets.append((concrete, base + [(p["name"], str(value))], ok, op))
    return targets, skipped


def fetch(url, ctx, timeout, headers=None, data=None):
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def arm_token(url, ctx, args):
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "resource": "https://management.azure.com/",
    }).encode()
    full = f"{url.rstrip('/')}/{args.tenant}/oauth2/token"
    try:
        status, _, body = fetch(full, ctx, args.timeout, {"Content-Type": "application/x-www-form-urlencoded"}, form)
    except (urllib.error.URLError, OSError) as e:
        die(f"cannot get an ARM token from {full}: {getattr(e, 'reason', e)}")
    try:
        token = json.loads(body)["access_token"]
    except (ValueError, KeyError, TypeError):
        die(f"cannot get an ARM token from {full}: HTTP {status}: {body[:300].decode(errors='replace')}")
    return token


def live_checks(doc, args, fail):
    try:
        ctx = ssl.create_default_context(cafile=args.ca)
    except (OSError, ssl.SSLError) as e:
        die(f"cannot use CA file {args.ca}: {e}")
    targets, skipped = live_targets(doc, args.aad, args.arm)
    if not targets:
        fail.add("live", "the spec has no parameter-free GET paths to check")
    token = arm_token(args.url, ctx, args) if args.arm or args.scoring else None
    for path, reason in skipped:
        print(f"  skip GET {path} ({reason})")
    challenged = False
    for path, query, ok, op in targets:
        full = args.url.rstrip("/") + path
        if query:
            full += "?" + urllib.parse.urlencode(query)
        shown = urllib.parse.unquote(full[len(args.url.rstrip("/")):])
        where = f"GET {shown}"
        headers = {"Accept": "application/json"}
        if args.admin_key:
            headers["x-emulator-admin-key"] = args.admin_key
        arm = is_arm(op)
        if arm and not challenged:
            challenged = True
            check_challenge(full, ctx, args.timeout, shown, fail)
        if arm:
            headers["Authorization"] = f"Bearer {token}"
        try:
            status, response_headers, body = fetch(full, ctx, args.timeout, headers)
        except (urllib.error.URLError, OSError) as e:
            fail.add(where, f"request failed: {getattr(e, 'reason', e)}")
            continue
        if status != 200:
            fail.add(where, f"HTTP {status}: {body[:300].decode(errors='replace')}")
            continue
        try:
            value = json.loads(body)
        except ValueError:
            fail.add(where, f"response is not JSON: {body[:200].decode(errors='replace')}")
            continue
        schema = (((ok.get("content") or {}).get("application/json")) or {}).get("schema")
        if schema is None:
            fail.add(where, "the spec gives no application/json schema for 200")
            continue
        before = len(fail.items)
        check_value(doc, schema, value, where, fail)
        for name, header in (ok.get("headers") or {}).items():
            if deref(doc, header).get("required") and response_headers.get(name) is None:
                fail.add(where, f"response header {name} is missing")
        print(f"  {'ok ' if len(fail.items) == before else 'FAIL'} {where} ({json_type(value)})")
    if args.scoring:
        print("scoring:")
        scoring_checks(doc, args, ctx, fail, token)


def check_challenge(full, ctx, timeout, shown, fail):
    """An ARM request without a token is a 401 in ARM's error shape, with a challenge."""
    where = f"GET {shown} without a token"
    try:
        status, headers, body = fetch(full, ctx, timeout, {"Accept": "application/json"})
    except (urllib.error.URLError, OSError) as e:
        fail.add(where, f"request failed: {getattr(e, 'reason', e)}")
        return
    before = len(fail.items)
    if status != 401:
        fail.add(where, f"expected 401, got {status}")
    elif not (headers.get("WWW-Authenticate") or "").startswith("Bearer authorization_uri="):
        fail.add(where, f"bad WWW-Authenticate: {headers.get('WWW-Authenticate')!r}")
    else:
        try:
            value = json.loads(body)
            # ARM's envelope, or model management's flat shape.
            code = value["error"]["code"] if "error" in value else value["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if code != "AuthenticationFailed":
            fail.add(where, f"expected error code AuthenticationFailed, got {body[:200].decode(errors='replace')}")
    print(f"  {'ok ' if len(fail.items) == before else 'FAIL'} {where} (401)")


# --------------------------------------------------------------------------------------- scoring

SCORING_API_VERSION = "2024-04-01"
WRONG_CREDENTIAL = "not-a-key-or-token"


def find_operation(doc, method, path):
    """The spec operation that answers `method path` (a concrete path, no query): the template with
    the fewest parameters wins. Returns (template, operation) or (None, None)."""
    found = []
    for template, item in (doc.get("paths") or {}).items():
        pattern = "^" + re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path, re.IGNORECASE):
            op = (deref(doc, item) or {}).get(method.lower())
            if op is not None:
                found.append((template.count("{"), template, op))
    if not found:
        return None, None
    _, template, op = min(found, key=lambda f: f[0])
    return template, op


class Live:
    """One place for the live requests of --scoring: sends, then checks the answer against the spec."""

    def __init__(self, doc, args, ctx, fail):
        self.doc, self.args, self.ctx, self.fail = doc, args, ctx, fail
        self.base = args.url.rstrip("/")

    def call(self, method, path, label, expect, headers=None, body=None, raw=None):
        """Sends the request, checks the status and the documented response; returns the parsed JSON
        body (or None). `path` may carry a query string, which is not used to find the operation."""
        where = f"{method} {urllib.parse.unquote(path)}" + (f" ({label})" if label else "")
        h = {"Accept": "application/json"}
        if self.args.admin_key and path.startswith("/_emulator/"):
            h["x-emulator-admin-key"] = self.args.admin_key
        h.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif raw is not None:
            data = raw.encode()
            h.setdefault("Content-Type", "application/json")
        if method != "GET" and data is None:
            data = b""
        request = urllib.request.Request(self.base + path, headers=h, data=data, method=method)
        try:
            with urllib.request.urlopen(request, context=self.ctx, timeout=self.args.timeout) as r:
                status, response_headers, payload = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, response_headers, payload = e.code, e.headers, e.read()
        except (urllib.error.URLError, OSError) as e:
            self.fail.add(where, f"request failed: {getattr(e, 'reason', e)}")
            return None
        before = len(self.fail.items)
        value = None
        if status != expect:
            self.fail.add(where, f"expected {expect}, got {status}: {payload[:300].decode(errors='replace')}")
        else:
            value = self.check_response(method, path.split("?", 1)[0], status, response_headers, payload, where)
        print(f"  {'ok ' if len(self.fail.items) == before else 'FAIL'} {where} -> {status}")
        return value

    def check_response(self, method, path, status, headers, payload, where):
        template, op = find_operation(self.doc, method, path)
        if op is None:
            self.fail.add(where, "no operation of the spec answers this path")
            return None
        responses = op.get("responses") or {}
        response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if response is None:
            self.fail.add(where, f"HTTP {status} is not a documented response of {method} {template}")
            return None
        response = deref(self.doc, response)
        for name, header in (response.get("headers") or {}).items():
            header = deref(self.doc, header)
            got = headers.get(name)
            if got is None:
                if header.get("required"):
                    self.fail.add(where, f"response header {name} is missing")
            elif header.get("schema"):
                check_value(self.doc, header["schema"], got, f"{where} header {name}", self.fail)
        content = response.get("content")
        if not content:
            if payload.strip():
                self.fail.add(where, f"the spec documents no body, got {payload[:100].decode(errors='replace')}")
            return None
        try:
            value = json.loads(payload)
        except ValueError:
            self.fail.add(where, f"response is not JSON: {payload[:200].decode(errors='replace')}")
            return None
        schema = ((content.get("application/json")) or {}).get("schema")
        if schema is None:
            self.fail.add(where, f"the spec gives no application/json schema for {status}")
        else:
            check_value(self.doc, schema, value, where, self.fail)
        return value


def entra_token(url, ctx, args, resource):
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "resource": resource,
    }).encode()
    full = f"{url.rstrip('/')}/{args.tenant}/oauth2/token"
    try:
        status, _, body = fetch(full, ctx, args.timeout, {"Content-Type": "application/x-www-form-urlencoded"}, form)
        return json.loads(body)["access_token"]
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as e:
        die(f"cannot get a token for {resource} from {full}: {getattr(e, 'reason', e)}")


def scoring_checks(doc, args, ctx, fail, arm):
    """Scores every web service and online endpoint with the credentials an SDK would fetch."""
    live = Live(doc, args, ctx, fail)
    listed = live.call("GET", "/_emulator/services", "", 200)
    world = live.call("GET", "/_emulator/world", "", 200)
    if not isinstance(listed, dict) or not isinstance(world, dict):
        fail.add("scoring", "cannot list the services and endpoints")
        return
    scoring_of = {(kind, x["name"].lower()): x.get("scoring") or {}
                  for kind, key in (("webservice", "services"), ("onlineEndpoint", "online_endpoints"))
                  for x in world.get(key) or []}
    bearer = lambda credential: {"Authorization": f"Bearer {credential}"}
    arm_headers = bearer(arm)
    ml_token = None
    sample = {"data": [[1, 2]]}
    for item in listed.get("value") or []:
        name, kind, workspace = item.get("name"), item.get("kind"), item.get("workspace")
        if not (name and kind and workspace and item.get("scoringUri")):
            continue  # already reported as a schema failure of GET /_emulator/services
        score = urllib.parse.urlsplit(item["scoringUri"]).path
        swagger = score.rsplit("/", 1)[0] + "/swagger.json"
        live.call("GET", swagger, "no credential", 200)
        credentials = []  # (label, credential)
        wrong_arm = False
        if kind == "webservice":
            mms = f"/modelmanagement/v1.0{workspace}/services/{urllib.parse.quote(name)}"
            if item.get("authEnabled"):
                keys = live.call("POST", mms + "/listkeys", "ARM token", 200, arm_headers) or {}
                credentials += [("primary key", keys.get("primaryKey")), ("secondary key", keys.get("secondaryKey"))]
            if item.get("tokenAuthEnabled"):
                tok = live.call("POST", mms + "/token", "ARM token", 200, arm_headers) or {}
                credentials.append(("Azure ML token", tok.get("accessToken")))
        else:
            ep = f"{workspace}/onlineEndpoints/{urllib.parse.quote(name)}"
            q = f"?api-version={SCORING_API_VERSION}"
            if item.get("authMode") == "Key":
                keys = live.call("POST", ep + "/listKeys" + q, "ARM token", 200, arm_headers) or {}
                credentials += [("primary key", keys.get("primaryKey")), ("secondary key", keys.get("secondaryKey"))]
            elif item.get("authMode") == "AMLToken":
                tok = live.call("POST", ep + "/token" + q, "ARM token", 200, arm_headers) or {}
                credentials.append(("Azure ML token", tok.get("accessToken")))
            else:
                ml_token = ml_token or entra_token(args.url, ctx, args, "https://ml.azure.com")
                credentials.append(("Entra token for https://ml.azure.com", ml_token))
                wrong_arm = True
        credentials = [(label, c) for label, c in credentials if c]
        open_service = kind == "webservice" and not (item.get("authEnabled") or item.get("tokenAuthEnabled"))
        if open_service:
            credentials = [("no credential", None)]
        else:
            live.call("POST", score, "no credential", 401, body=sample)
            live.call("POST", score, "a wrong credential", 401, bearer(WRONG_CREDENTIAL), body=sample)
            if wrong_arm:
                live.call("POST", score, "an ARM token", 401, bearer(arm), body=sample)
        if not credentials:
            continue  # fetching the key or token failed, and was reported
        scoring = scoring_of.get((kind, name.lower()), {})
        expected = sample if scoring.get("kind", "echo") == "echo" else scoring.get("body")
        for label, credential in credentials:
            headers = bearer(credential) if credential else {}
            got = live.call("POST", score, label, 200, headers, body=sample)
            if got is not None and got != expected:
                fail.add(f"POST {score} ({label})", f"expected {json.dumps(expected)[:200]}, got {json.dumps(got)[:200]}")
        label, credential = credentials[0]
        headers = bearer(credential) if credential else {}
        if scoring.get("kind", "echo") == "echo":
            live.call("POST", score, f"{label}, a body that is not JSON", 400, headers, raw="not json")
        if kind == "onlineEndpoint":
            for deployment in item.get("deployments") or []:
                live.call("POST", score, f"{label}, deployment {deployment}", 200,
                          {**headers, "azureml-model-deployment": deployment}, body=sample)
            live.call("POST", score, f"{label}, an unknown deployment", 404,
                      {**headers, "azureml-model-deployment": "no-such-deployment"}, body=sample)
    live.call("POST", "/aci/no-such-service/score", "unknown service", 404, body=sample)
    live.call("POST", "/online/no-such-endpoint/score", "unknown endpoint", 404, body=sample)


def main():
    parser = argparse.ArgumentParser(description="Check openapi/openapi.yaml, optionally against a running emulator.")
    parser.add_argument("--spec", default=DEFAULT_SPEC, help="the OpenAPI file (default: %(default)s)")
    parser.add_argument("--url", help="a running emulator, e.g. https://127.0.0.1:10443")
    parser.add_argument("--ca", help="the CA certificate (PEM) to trust for --url (the ready file's ca_cert)")
    parser.add_argument("--admin-key", help="sent as x-emulator-admin-key (needed only from non-loopback addresses)")
    parser.add_argument("--aad", action="store_true", help="also check the parameter-free AAD GET paths")
    parser.add_argument("--arm", action="store_true", help="also check the ARM GETs, with a client_credentials token")
    parser.add_argument("--scoring", action="store_true",
                        help="also score every web service and online endpoint with fetched keys and tokens")
    parser.add_argument("--tenant", default="organizations",
                        help="tenant segment of the token endpoint for --arm and --scoring (default: %(default)s, the client's home tenant)")
    parser.add_argument("--client-id", default="6a1b7c2d-3e4f-4a5b-8c6d-00000000ad01",
                        help="client for --arm and --scoring (default: ml-admin of the default world)")
    parser.add_argument("--client-secret", default="ml-admin-dev-secret~emulator.0000",
                        help="its secret (default: ml-admin's well-known development secret)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds")
    args = parser.parse_args()
    if bool(args.url) != bool(args.ca):
        parser.error("--url and --ca go together")

    doc = load_spec(args.spec)
    fail = Failures()
    counts = static_checks(doc, fail)
    if counts:
        refs, operations = counts
        print(f"{args.spec}: {len(doc.get('paths') or {})} paths, {operations} operations, {refs} $refs")
    if args.url and not fail:
        print(f"live checks against {args.url}:")
        live_checks(doc, args, fail)
    elif args.url:
        print("live checks skipped: fix the static failures first")
    if fail:
        print(f"\n{len(fail.items)} failure(s):", file=sys.stderr)
        for item in fail.items:
            print(f"  - {item}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
