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

Live checks (with --url and --ca): GET every GET path of the control API (`/_emulator/...`) and
the cloud metadata (`/metadata/...`) that has no path parameters and no required parameters. With
--aad, the parameter-free AAD GETs (`/.well-known/openid-configuration`,
`/adfs/.well-known/openid-configuration`) are also checked. Optional query parameters that declare
`examples` are tried with each example value too. Each response must be 200 and JSON, of the type
the spec's 200 schema names (object or array; `oneOf` picks the alternative of that type). Every
object at the top level, or in the top-level array, must have the keys the schema marks required.

Usage:
  python3 openapi/check.py [--spec openapi/openapi.yaml]
  python3 openapi/check.py --url https://127.0.0.1:10443 --ca ~/.azureml-emulator/ca.pem [--admin-key K] [--aad]

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
    return type(value).__name__


def flatten(doc, schema):
    """Dereferences a schema and folds allOf into one (type, required, items) view."""
    schema = deref(doc, schema)
    required = list(schema.get("required", []))
    stype = schema.get("type")
    items = schema.get("items")
    for part in schema.get("allOf", []):
        sub = flatten(doc, part)
        required += sub["required"]
        stype = stype or sub["type"]
        items = items or sub["items"]
    if stype is None and ("properties" in schema or required):
        stype = "object"
    return {"type": stype, "required": required, "items": items,
            "alternatives": schema.get("oneOf") or schema.get("anyOf")}


def check_value(doc, schema, value, where, fail):
    view = flatten(doc, schema)
    if view["alternatives"]:
        matching = [alt for alt in view["alternatives"] if flatten(doc, alt)["type"] in (None, json_type(value))]
        if not matching:
            kinds = sorted({str(flatten(doc, a)["type"]) for a in view["alternatives"]})
            fail.add(where, f"got a JSON {json_type(value)}, the schema allows {', '.join(kinds)}")
            return
        view = flatten(doc, matching[0])
    if view["type"] and view["type"] != json_type(value):
        fail.add(where, f"got a JSON {json_type(value)}, the schema says {view['type']}")
        return
    if isinstance(value, dict):
        missing = [k for k in view["required"] if k not in value]
        if missing:
            fail.add(where, f"missing required keys {missing}")
    elif isinstance(value, list) and view["items"] is not None:
        for i, element in enumerate(value):
            check_value(doc, view["items"], element, f"{where}[{i}]", fail)


def live_targets(doc, include_aad):
    """(path, query) pairs to GET, with the 200 schema to check each against."""
    targets = []
    for path, item in (doc.get("paths") or {}).items():
        item = deref(doc, item)
        op = item.get("get")
        if op is None or "{" in path:
            continue
        surface = path.startswith("/_emulator/") or path.startswith("/metadata/")
        if not (surface or include_aad):
            continue
        params = [deref(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
        if any(p.get("required") for p in params):
            continue
        ok = deref(doc, (op.get("responses") or {}).get("200") or {})
        schema = (((ok.get("content") or {}).get("application/json")) or {}).get("schema")
        targets.append((path, None, schema))
        for p in params:
            if p.get("in") != "query":
                continue
            values = [e.get("value") for e in (p.get("examples") or {}).values()]
            for value in values:
                if value is not None:
                    targets.append((path, (p["name"], str(value)), schema))
    return targets


def live_checks(doc, url, ca, admin_key, include_aad, timeout, fail):
    try:
        ctx = ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as e:
        die(f"cannot use CA file {ca}: {e}")
    targets = live_targets(doc, include_aad)
    if not targets:
        fail.add("live", "the spec has no parameter-free GET paths to check")
    for path, query, schema in targets:
        full = url.rstrip("/") + path
        if query:
            full += "?" + urllib.parse.urlencode([query])
        where = f"GET {path}" + (f"?{query[0]}={query[1]}" if query else "")
        headers = {"Accept": "application/json"}
        if admin_key:
            headers["x-emulator-admin-key"] = admin_key
        request = urllib.request.Request(full, headers=headers)
        try:
            with urllib.request.urlopen(request, context=ctx, timeout=timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            fail.add(where, f"request failed: {getattr(e, 'reason', e)}")
            continue
        if status != 200:
            fail.add(where, f"HTTP {status}: {body[:200].decode(errors='replace')}")
            continue
        try:
            value = json.loads(body)
        except ValueError:
            fail.add(where, f"response is not JSON: {body[:200].decode(errors='replace')}")
            continue
        if schema is None:
            fail.add(where, "the spec gives no application/json schema for 200")
            continue
        before = len(fail.items)
        check_value(doc, schema, value, where, fail)
        print(f"  {'ok ' if len(fail.items) == before else 'FAIL'} {where} ({json_type(value)})")


def main():
    parser = argparse.ArgumentParser(description="Check openapi/openapi.yaml, optionally against a running emulator.")
    parser.add_argument("--spec", default=DEFAULT_SPEC, help="the OpenAPI file (default: %(default)s)")
    parser.add_argument("--url", help="a running emulator, e.g. https://127.0.0.1:10443")
    parser.add_argument("--ca", help="the CA certificate (PEM) to trust for --url (the ready file's ca_cert)")
    parser.add_argument("--admin-key", help="sent as x-emulator-admin-key (needed only from non-loopback addresses)")
    parser.add_argument("--aad", action="store_true", help="also check the parameter-free AAD GET paths")
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
        live_checks(doc, args.url, args.ca, args.admin_key, args.aad, args.timeout, fail)
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
