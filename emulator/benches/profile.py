#!/usr/bin/env python3
"""Instruction-count profile of one hot route: the emulator runs under `valgrind --tool=callgrind`,
serves N requests of one kind over one keep-alive connection, and `callgrind_annotate` prints where
the instructions went. Instruction counts repeat from run to run whatever else the machine does, so
this compares code, not machines.

    python3 emulator/benches/profile.py arm --requests 2000      # arm | token | score-key | score-token | health
    BIN=/path/to/azureml-emulator python3 emulator/benches/profile.py token
    python3 emulator/benches/profile.py arm --fault-rule '{"surface": "any", "kind": "server-error", "match": {"service": "none"}}'

Build the binary with line tables for readable output:
    CARGO_TARGET_DIR=/tmp/perf CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release
Needs valgrind (callgrind_annotate). Prints the top functions (inclusive and self) and the total
instructions per request.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ADMIN_CLIENT, ADMIN_SECRET, CLIENT, SECRET, SUB, TENANT, free_port  # noqa: E402

WS = (f"/subscriptions/{SUB}/resourceGroups/ml-example-rg/providers/"
      "Microsoft.MachineLearningServices/workspaces/ml-example")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["arm", "token", "score-key", "score-token", "health"])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--serve", default="", help="more `serve` flags in one string (e.g. --serve='--journal off')")
    p.add_argument("--fault-rule", help="a fault rule (JSON) added before counting, e.g. one that never fires")
    args = p.parse_args()
    binary = os.environ.get("BIN", os.path.join(ROOT, "target", "release", "azureml-emulator"))
    work = tempfile.mkdtemp(prefix="azureml-emulator-profile-")
    out = os.path.join(work, "callgrind.out")
    port = free_port()
    ready = os.path.join(work, "ready.json")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--instr-atstart=no",
         binary, "serve", "--port", str(port), "--data-dir", os.path.join(work, "data"), "--ready-file", ready,
         "--workers", "1", *args.serve.split()],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1200):
        if os.path.exists(ready) and os.path.getsize(ready) > 0:
            break
        time.sleep(0.1)
    info = json.load(open(ready))
    ctx = ssl.create_default_context(cafile=info["ca_cert"])
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)

    def call(method, path, body=None, headers=None):
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, data

    form = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET,
            "resource": "https://management.azure.com/"}
    form_body = urllib.parse.urlencode(form)
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if args.fault_rule:
        status, data = call("POST", "/_emulator/faults", args.fault_rule, {"Content-Type": "application/json"})
        assert status < 300, (status, data[:300])
    status, data = call("POST", f"/{TENANT}/oauth2/token", form_body, form_headers)
    arm = json.loads(data)["access_token"]
    if args.kind == "arm":
        request = ("GET", WS + "?api-version=2024-04-01", None, {"Authorization": f"Bearer {arm}"})
    elif args.kind == "token":
        request = ("POST", f"/{TENANT}/oauth2/token", form_body, form_headers)
    elif args.kind == "score-key":
        request = ("POST", "/aci/aci-service-1/score", "{}", {"Authorization": "Bearer aci-service-1-primary-dev-key-00000000000000=",
                                                            "Content-Type": "application/json"})
    elif args.kind == "score-token":
        _, data = call("POST", f"/modelmanagement/v1.0{WS}/services/aks-service-1/token", None,
                       {"Authorization": f"Bearer {arm}"})
        aml = json.loads(data)["accessToken"]
        request = ("POST", "/api/v1/service/aks-service-1/score", "{}", {"Authorization": f"Bearer {aml}",
                                                                          "Content-Type": "application/json"})
    else:
        request = ("GET", "/_emulator/health", None, {})
    for _ in range(20):  # warm caches (token verification, world snapshots) before counting
        status, data = call(*request)
        assert status < 300, (status, data[:300])
    subprocess.run(["callgrind_control", "--instr=on", str(proc.pid)], check=True, stdout=subprocess.DEVNULL)
    for _ in range(args.requests):
        call(*request)
    subprocess.run(["callgrind_control", "--instr=off", str(proc.pid)], check=True, stdout=subprocess.DEVNULL)
    conn.close()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=300)
    files = [os.path.join(work, f) for f in os.listdir(work) if f.startswith("callgrind.out")]
    summary = subprocess.run(["callgrind_annotate", "--inclusive=yes", *files], capture_output=True, text=True).stdout
    total = next((l for l in summary.splitlines() if "PROGRAM TOTALS" in l), "")
    first = total.split()[0].replace(",", "") if total else ""
    instructions = int(first) if first.isdigit() else 0
    print(f"{args.kind}: {instructions / max(args.requests, 1):,.0f} instructions per request ({args.requests} requests)")
    print("\n".join(summary.splitlines()[:args.top + 25]))
    print(f"\n(raw profile kept in {work})")


if __name__ == "__main__":
    main()
