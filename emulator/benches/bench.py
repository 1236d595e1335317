#!/usr/bin/env python3
"""Benchmarks of azureml-emulator, reported as ratios against baselines measured in the same run.

    python3 emulator/benches/bench.py            # builds the release binary, runs every scenario
    python3 emulator/benches/bench.py tokens     # one scenario: tokens | journal | arm | scoring | writes | peers | users | world

Absolute requests/s are noise on a shared machine, so the figures that matter are:
  tokens ratio   client-credentials tokens per CPU-second of the emulator process (utime+stime from
                 /proc before and after a wrk run over HTTPS keep-alive, 32 connections), divided by
                 `openssl speed -seconds 3 rsa2048` single-core signs/s measured in the same run.
  cold start     time from spawning `serve` on an existing data dir to its first answered request.
  idle RSS       VmRSS of the emulator after start, before any load.
  arm            ARM `GET workspace` (RBAC on, bearer token) with 1,000 and 100,000 role assignments in
                 the world: requests per CPU-second relative to the same server's bare health route,
                 p99 latency, and req/s (noise on a shared machine, reported anyway).
  scoring        scoring requests per CPU-second with key auth and with token auth, each divided by
                 the same server's health route per CPU-second; and /token issuance per CPU-second.
  peers          token issuance per CPU-second of the emulator against oauth2-mock-server's (npm, pinned,
                 installed into a scratch folder; HTTPS, RS256), same wrk load, same run.
  journal        the cost of the decision journal and of the fault table on the hot paths: token
                 issuance, ARM `GET workspace` and key scoring per CPU-second with `serve --journal off`
                 and no fault rule (the baseline), with the journal on, and with the journal on plus a
                 fault rule that matches nothing (so every request gathers its facts); each as a ratio of
                 the baseline (goal >= 0.95: at most 5% of the throughput per CPU-second); a second
                 journal-off emulator gives the method's own spread (noise_*, ideally 1.0).
  writes         median and p90 latency of sequential key regenerations (model management) in worlds of
                 1,500 applications and of 100,000 role assignments: a write's cost must not grow with the world.
  users          user-token grants per CPU-second of the emulator, each divided by client-credentials tokens
                 per CPU-second in the same run: refresh-token redemptions (a hashed lookup, one signature,
                 one new refresh token) and ROPC (a salted password hash, one signature, one refresh token),
                 both asking `{resource}/.default offline_access` (no `openid`: no id_token to sign).
  world          start-up and memory: a world of 100,000 role assignments over 10,000 users — first start
                 (seeding a fresh data dir from the world file), restart on that data dir (median of 3),
                 VmRSS once ready after each (and VmHWM, the peak); and the default world's cold start on an
                 existing data dir (median of 5). Each time runs from spawning `serve` to its first answered
                 health request.
Needs wrk (Debian: apt-get install wrk) and openssl on PATH. Stdlib only otherwise.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AZUREML_EMULATOR_BIN", os.path.join(ROOT, "target", "release", "azureml-emulator"))
TENANT = "8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c"
CLIENT = "6a1b7c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
SECRET = "ml-auth-dev-secret~emulator.0000"
ADMIN_CLIENT = "6a1b7c2d-3e4f-4a5b-8c6d-00000000ad01"
ADMIN_SECRET = "ml-admin-dev-secret~emulator.0000"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line (11 and 12 after the command name).
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def health_ok(port, ctx):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Emulator:
    def __init__(self, data_dir, port, extra=()):
        self.port = port
        self.url = f"https://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [BIN, "serve", "--port", str(port), "--data-dir", data_dir, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, ctx, timeout=30):
        start = time.perf_counter()
        while not health_ok(self.port, ctx):
            if self.proc.poll() is not None or time.perf_counter() - start > timeout:
                raise SystemExit("emulator did not start")
            time.sleep(0.001)
        return time.perf_counter() - start

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)


def openssl_signs_per_second():
    out = subprocess.run(["openssl", "speed", "-seconds", "3", "rsa2048"], capture_output=True, text=True).stdout
    row = re.search(r"^rsa 2048 bits\s+\S+s\s+\S+s\s+([\d.]+)", out, re.M)
    return float(row.group(1))


def wrk(url, path, body, seconds, connections=32, threads=2, headers=None):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    if body is not None:
        script.write('wrk.method = "POST"\n')
        script.write(f"wrk.body = {json.dumps(body)}\n")
        script.write('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
    for k, v in (headers or {}).items():
        script.write(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n")
    script.close()
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url + path],
        capture_output=True, text=True,
    ).stdout
    os.unlink(script.name)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    return total - (int(bad.group(1)) if bad else 0), total, p99.group(1) if p99 else "?", rps


def fetch_json(url, ctx, data=None, headers=None):
    import urllib.request
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.loads(r.read())


def tokens_scenario(args):
    """Token issuance vs openssl, cold start, idle RSS."""
    data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
    results = {}
    try:
        # First start creates the keys, certificates and database; the measured start reuses them.
        first = Emulator(data_dir, free_port())
        first.wait_ready(ssl._create_unverified_context())
        first.stop()
        ctx = ssl.create_default_context(cafile=os.path.join(data_dir, "ca.pem"))

        emu = Emulator(data_dir, free_port())
        results["cold_start_ms"] = round(emu.wait_ready(ctx) * 1000, 1)
        time.sleep(1)
        results["idle_rss_mib"] = round(rss_kib(emu.proc.pid) / 1024, 1)

        signs = openssl_signs_per_second()
        results["openssl_rsa2048_signs_per_s"] = signs

        body = (f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}"
                "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")
        path = f"/{TENANT}/oauth2/v2.0/token"
        wrk(emu.url, path, body, 2)  # warm-up
        before = cpu_seconds(emu.proc.pid)
        ok, total, p99, _ = wrk(emu.url, path, body, args.seconds)
        cpu = cpu_seconds(emu.proc.pid) - before
        results["tokens_issued"] = ok
        results["tokens_failed"] = total - ok
        results["token_p99"] = p99
        results["emulator_cpu_s"] = round(cpu, 2)
        results["tokens_per_cpu_s"] = round(ok / cpu, 1)
        results["tokens_ratio_vs_openssl"] = round(ok / cpu / signs, 3)
        results["rss_after_load_mib"] = round(rss_kib(emu.proc.pid) / 1024, 1)
        emu.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    goals = [
        ("tokens_ratio_vs_openssl", results["tokens_ratio_vs_openssl"] >= 0.75, ">= 0.75"),
        ("cold_start_ms", results["cold_start_ms"] <= 50, "<= 50"),
        ("idle_rss_mib", results["idle_rss_mib"] <= 15, "<= 15"),
    ]
    return results, goals


SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


def world_with_assignments(n):
    """The default world plus `n` role assignments spread over n/10 extra users (10 each)."""
    with open(os.path.join(ROOT, "fixtures", "default.toml")) as f:
        text = f.read()
    parts = [text]
    users = max(1, n // 10)
    for u in range(users):
        parts.append(f'\n[[users]]\nobject_id = "cccccccc-0000-4000-8000-{u:012d}"\n'
                     f'upn = "bench{u}@contoso.onmicrosoft.com"\ndisplay_name = "b"\npassword = "p"\n')
    for i in range(n):
        u = i % users
        parts.append(f'\n[[role_assignments]]\nprincipal = "cccccccc-0000-4000-8000-{u:012d}"\nrole = "Reader"\n'
                     f'scope = "/subscriptions/{SUB}/resourceGroups/rg{i % 97}/providers/Microsoft.Storage/storageAccounts/sa{i}"\n')
    return "".join(parts)


def arm_scenario(args):
    """ARM GET workspace with RBAC on, at 1,000 and 100,000 assignments."""
    results = {}
    goals = []
    for n in (1_000, 100_000):
        data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
        try:
            world = os.path.join(data_dir, "world.toml")
            with open(world, "w") as f:
                f.write(world_with_assignments(n))
            port = free_port()
            proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--data-dir", data_dir, "--fixtures", world],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            emu = Emulator.__new__(Emulator)
            emu.port, emu.url, emu.proc = port, f"https://127.0.0.1:{port}", proc
            ctx_unverified = ssl._create_unverified_context()
            start = time.perf_counter()
            emu.wait_ready(ctx_unverified, timeout=600)
            load_s = time.perf_counter() - start
            ctx = ssl.create_default_context(cafile=os.path.join(data_dir, "ca.pem"))
            token = fetch_json(
                f"{emu.url}/{TENANT}/oauth2/token", ctx,
                data=(f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}"
                      "&resource=https%3A%2F%2Fmanagement.azure.com%2F").encode(),
            )["access_token"]
            ws = (f"/subscriptions/{SUB}/resourceGroups/ml-example-rg/providers/"
                  "Microsoft.MachineLearningServices/workspaces/ml-example?api-version=2024-04-01")
            fetch_json(emu.url + ws, ctx, headers={"Authorization": f"Bearer {token}"})  # 200 or raises

            wrk(emu.url, "/_emulator/health", None, 2)  # warm-up
            before = cpu_seconds(proc.pid)
            ok_h, _, p99_h, rps_h = wrk(emu.url, "/_emulator/health", None, args.seconds)
            health_per_cpu = ok_h / (cpu_seconds(proc.pid) - before)

            auth = {"Authorization": f"Bearer {token}"}
            before = cpu_seconds(proc.pid)
            ok, total, p99, rps = wrk(emu.url, ws, None, args.seconds, headers=auth)
            arm_per_cpu = ok / (cpu_seconds(proc.pid) - before)
            key = f"arm_{n}"
            results[key] = {
                "world_load_s": round(load_s, 2),
                "rss_mib": round(rss_kib(proc.pid) / 1024, 1),
                "get_workspace_req_per_s": round(rps),
                "get_workspace_p99": p99,
                "failed": total - ok,
                "get_workspace_per_cpu_s": round(arm_per_cpu),
                "health_per_cpu_s": round(health_per_cpu),
                "health_req_per_s": round(rps_h),
                "ratio_vs_health": round(arm_per_cpu / health_per_cpu, 3),
            }
            if n == 1_000:
                goals.append((f"{key}.get_workspace_req_per_s", results[key]["get_workspace_req_per_s"] >= 20_000, ">= 20000"))
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    a, b = results["arm_1000"]["get_workspace_per_cpu_s"], results["arm_100000"]["get_workspace_per_cpu_s"]
    results["per_cpu_100k_vs_1k"] = round(b / a, 3)
    goals.append(("per_cpu_100k_vs_1k", results["per_cpu_100k_vs_1k"] >= 0.9, ">= 0.9 (decision cost independent of assignments elsewhere)"))
    return results, goals


def scoring_scenario(args):
    """Scoring with key auth and with token auth, each relative to the bare health route."""
    results, goals = {}, []
    data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
    try:
        emu = Emulator(data_dir, free_port())
        emu.wait_ready(ssl._create_unverified_context())
        ctx = ssl.create_default_context(cafile=os.path.join(data_dir, "ca.pem"))
        arm = fetch_json(
            f"{emu.url}/{TENANT}/oauth2/token", ctx,
            data=(f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}"
                  "&resource=https%3A%2F%2Fmanagement.azure.com%2F").encode(),
        )["access_token"]
        mms = (f"{emu.url}/modelmanagement/v1.0/subscriptions/{SUB}/resourceGroups/ml-example-rg/providers/"
               "Microsoft.MachineLearningServices/workspaces/ml-example/services")
        auth = {"Authorization": f"Bearer {arm}"}
        key = fetch_json(f"{mms}/aci-service-1/listkeys", ctx, data=b"", headers=auth)["primaryKey"]
        token = fetch_json(f"{mms}/aks-service-1/token", ctx, data=b"", headers=auth)["accessToken"]

        def per_cpu(path, body, headers):
            wrk(emu.url, path, body, 1, headers=headers)  # warm-up
            before = cpu_seconds(emu.proc.pid)
            ok, total, p99, rps = wrk(emu.url, path, body, args.seconds, headers=headers)
            return ok / (cpu_seconds(emu.proc.pid) - before), total - ok, p99, rps

        health, _, _, health_rps = per_cpu("/_emulator/health", None, None)
        payload = '{"data": [[1, 2, 3, 4]]}'
        key_rate, key_failed, key_p99, key_rps = per_cpu("/aci/aci-service-1/score", payload, {"Authorization": f"Bearer {key}"})
        tok_rate, tok_failed, tok_p99, tok_rps = per_cpu("/api/v1/service/aks-service-1/score", payload, {"Authorization": f"Bearer {token}"})
        mms_auth = {"Authorization": f"Bearer {arm}"}
        token_path = mms.replace(emu.url, "") + "/aks-service-1/token"
        issue_rate, issue_failed, _, _ = per_cpu(token_path, "", mms_auth)
        results = {
            "health_per_cpu_s": round(health), "health_req_per_s": round(health_rps),
            "key_scoring_per_cpu_s": round(key_rate), "key_scoring_req_per_s": round(key_rps), "key_p99": key_p99, "key_failed": key_failed,
            "token_scoring_per_cpu_s": round(tok_rate), "token_scoring_req_per_s": round(tok_rps), "token_p99": tok_p99, "token_failed": tok_failed,
            "key_ratio_vs_health": round(key_rate / health, 3),
            "token_ratio_vs_health": round(tok_rate / health, 3),
            "token_issuance_per_cpu_s": round(issue_rate), "token_issuance_failed": issue_failed,
        }
        goals = [
            ("key_ratio_vs_health", results["key_ratio_vs_health"] >= 0.8, ">= 0.8"),
            ("token_ratio_vs_health", results["token_ratio_vs_health"] >= 0.8, ">= 0.8"),
        ]
        emu.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return results, goals


def world_with_applications(n):
    """The default world plus `n` service principals, each with one secret."""
    with open(os.path.join(ROOT, "fixtures", "default.toml")) as f:
        parts = [f.read()]
    for i in range(n):
        parts.append(f'\n[[applications]]\ndisplay_name = "bench-app-{i}"\nclient_id = "dddddddd-0000-4000-8000-{i:012d}"\n'
                     f'object_id = "eeeeeeee-0000-4000-8000-{i:012d}"\n[[applications.secrets]]\nvalue = "s{i}"\n')
    return "".join(parts)


def regeneration_latency(world_text, rounds=200):
    """Median and p90 latency (ms) of sequential key regenerations (model management, ARM token of
    ml-admin, one keep-alive connection) in an emulator started with `world_text`."""
    import http.client
    data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
    try:
        world = os.path.join(data_dir, "world.toml")
        with open(world, "w") as f:
            f.write(world_text)
        port = free_port()
        proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--data-dir", data_dir, "--fixtures", world],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        emu = Emulator.__new__(Emulator)
        emu.port, emu.url, emu.proc = port, f"https://127.0.0.1:{port}", proc
        emu.wait_ready(ssl._create_unverified_context(), timeout=600)
        ctx = ssl.create_default_context(cafile=os.path.join(data_dir, "ca.pem"))
        token = fetch_json(
            f"{emu.url}/{TENANT}/oauth2/token", ctx,
            data=(f"grant_type=client_credentials&client_id={ADMIN_CLIENT}&client_secret={ADMIN_SECRET}"
                  "&resource=https%3A%2F%2Fmanagement.azure.com%2F").encode(),
        )["access_token"]
        path = (f"/modelmanagement/v1.0/subscriptions/{SUB}/resourceGroups/ml-example-rg/providers/"
                "Microsoft.MachineLearningServices/workspaces/ml-example/services/aci-service-1/regenerateKeys")
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
        times = []
        for i in range(rounds):
            body = json.dumps({"keyType": "Primary" if i % 2 else "Secondary", "keyValue": f"k{i}"})
            start = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            times.append((time.perf_counter() - start) * 1000)
            assert r.status == 202, r.status
        conn.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        times.sort()
        return {"median_ms": round(times[len(times) // 2], 2), "p90_ms": round(times[int(len(times) * 0.9)], 2)}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def writes_scenario(args):
    """Key regeneration latency: independent of the world's size (goal: median <= 2 ms)."""
    results = {
        "regenerate_1500_applications": regeneration_latency(world_with_applications(1500)),
        "regenerate_100000_assignments": regeneration_latency(world_with_assignments(100_000)),
    }
    goals = [(f"{k}.median_ms", v["median_ms"] <= 2.0, "<= 2 ms") for k, v in results.items()]
    return results, goals


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def timed_start(data_dir, extra=(), settle=1.0):
    """Spawns `serve` on `data_dir`; returns (seconds to the first answered request, RSS MiB and
    peak RSS MiB after `settle` seconds), then stops it."""
    emu = Emulator(data_dir, free_port(), extra)
    took = emu.wait_ready(ssl._create_unverified_context(), timeout=600)
    time.sleep(settle)
    rss, peak = rss_kib(emu.proc.pid) / 1024, peak_rss_kib(emu.proc.pid) / 1024
    emu.stop()
    return took, round(rss, 1), round(peak, 1)


def world_scenario(args):
    """Seeding, restart and memory with 100,000 role assignments; the default world's cold start."""
    results = {}
    data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
    try:
        world = os.path.join(data_dir, "world.toml")
        with open(world, "w") as f:
            f.write(world_with_assignments(100_000))
        fixtures = ("--fixtures", world)
        seed_s, seed_rss, seed_peak = timed_start(data_dir, fixtures)
        restarts = [timed_start(data_dir, fixtures) for _ in range(3)]
        restarts.sort()
        restart_s, restart_rss, restart_peak = restarts[1]
        results["world_100k"] = {
            "first_start_s": round(seed_s, 3),
            "first_start_rss_mib": seed_rss,
            "first_start_peak_rss_mib": seed_peak,
            "restart_s": round(restart_s, 3),
            "restart_rss_mib": restart_rss,
            "restart_peak_rss_mib": restart_peak,
        }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
    try:
        timed_start(data_dir, settle=0)  # seeds the default world, makes keys and certificates
        starts = sorted(timed_start(data_dir, settle=0.2) for _ in range(5))
        results["default_cold_start_ms"] = round(starts[2][0] * 1000, 1)
        results["default_rss_mib"] = starts[2][1]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    w = results["world_100k"]
    goals = [
        ("world_100k.first_start_s", w["first_start_s"] <= 1.5, "<= 1.5 s"),
        ("world_100k.restart_s", w["restart_s"] <= 0.3, "<= 0.3 s"),
        ("world_100k.first_start_rss_mib", w["first_start_rss_mib"] <= 60, "<= 60 MiB"),
        ("world_100k.restart_rss_mib", w["restart_rss_mib"] <= 60, "<= 60 MiB"),
        ("default_cold_start_ms", results["default_cold_start_ms"] <= 20, "<= 20 ms"),
    ]
    return results, goals


CLI_CLIENT = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
OWNER = ("owner%40contoso.onmicrosoft.com", "Owner-Passw0rd%21")


def users_scenario(args):
    """ROPC and refresh-token redemptions per CPU-second, relative to client credentials."""
    data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
    try:
        emu = Emulator(data_dir, free_port())
        emu.wait_ready(ssl._create_unverified_context())
        ctx = ssl.create_default_context(cafile=os.path.join(data_dir, "ca.pem"))
        path = f"/{TENANT}/oauth2/v2.0/token"
        scope = "https%3A%2F%2Fmanagement.azure.com%2F.default%20offline_access"
        ropc = f"grant_type=password&client_id={CLI_CLIENT}&username={OWNER[0]}&password={OWNER[1]}&scope={scope}"
        refresh_token = fetch_json(emu.url + path, ctx, data=ropc.encode())["refresh_token"]
        bodies = {
            "client_credentials": f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}&scope={scope.split('%20')[0]}",
            "refresh_token": f"grant_type=refresh_token&client_id={CLI_CLIENT}&refresh_token={refresh_token}&scope={scope}",
            "password": ropc,
        }
        results = {}
        for name, body in bodies.items():
            wrk(emu.url, path, body, 1)  # warm-up
            before = cpu_seconds(emu.proc.pid)
            ok, total, p99, rps = wrk(emu.url, path, body, args.seconds)
            rate = ok / (cpu_seconds(emu.proc.pid) - before)
            results[name] = {"per_cpu_s": round(rate, 1), "req_per_s": round(rps), "p99": p99, "failed": total - ok}
        base = results["client_credentials"]["per_cpu_s"]
        results["refresh_ratio_vs_client_credentials"] = round(results["refresh_token"]["per_cpu_s"] / base, 3)
        results["ropc_ratio_vs_client_credentials"] = round(results["password"]["per_cpu_s"] / base, 3)
        emu.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    goals = [
        ("refresh_ratio_vs_client_credentials", results["refresh_ratio_vs_client_credentials"] >= 0.8, ">= 0.8"),
        ("ropc_ratio_vs_client_credentials", results["ropc_ratio_vs_client_credentials"] >= 0.8, ">= 0.8"),
    ]
    return results, goals


PEER_PACKAGE = "oauth2-mock-server@8.2.3"  # the newest release that runs on Node 20

PEER_SERVER = r"""
import { OAuth2Server } from 'oauth2-mock-server';
const [port, key, cert] = process.argv.slice(2);
const server = new OAuth2Server(key, cert);
await server.issuer.keys.generate('RS256');
await server.start(Number(port), '127.0.0.1');
console.log('ready');
"""


def peer_tokens(args, scratch):
    """oauth2-mock-server (npm, pinned) over HTTPS with an RS256 key: client-credentials tokens per
    CPU-second of its Node process, req/s and p99, measured like the emulator's."""
    subprocess.run(["npm", "init", "-y"], cwd=scratch, check=True, capture_output=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", PEER_PACKAGE], cwd=scratch, check=True,
                   capture_output=True)
    key, cert = os.path.join(scratch, "key.pem"), os.path.join(scratch, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    with open(os.path.join(scratch, "peer.mjs"), "w") as f:
        f.write(PEER_SERVER)
    port = free_port()
    proc = subprocess.Popen(["node", "peer.mjs", str(port), key, cert], cwd=scratch,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        url = f"https://127.0.0.1:{port}"
        body = "grant_type=client_credentials&client_id=bench&client_secret=s&scope=api"
        wrk(url, "/token", body, 2)  # warm-up
        before = cpu_seconds(proc.pid)
        ok, total, p99, rps = wrk(url, "/token", body, args.seconds)
        cpu = cpu_seconds(proc.pid) - before
        return {"tokens_per_cpu_s": round(ok / cpu, 1), "req_per_s": round(rps), "p99": p99, "failed": total - ok}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def peers_scenario(args):
    """The emulator's token issuance against a peer's (oauth2-mock-server), in the same run."""
    scratch = tempfile.mkdtemp(prefix="azureml-emulator-peer-")
    data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
    try:
        peer = peer_tokens(args, scratch)
        emu = Emulator(data_dir, free_port())
        emu.wait_ready(ssl._create_unverified_context())
        body = (f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}"
                "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")
        path = f"/{TENANT}/oauth2/v2.0/token"
        wrk(emu.url, path, body, 2)
        before = cpu_seconds(emu.proc.pid)
        ok, total, p99, rps = wrk(emu.url, path, body, args.seconds)
        cpu = cpu_seconds(emu.proc.pid) - before
        emu.stop()
        ours = {"tokens_per_cpu_s": round(ok / cpu, 1), "req_per_s": round(rps), "p99": p99, "failed": total - ok}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    ratio = round(ours["tokens_per_cpu_s"] / peer["tokens_per_cpu_s"], 2)
    results = {"emulator": ours, "oauth2_mock_server": peer, "tokens_per_cpu_s_vs_peer": ratio}
    return results, [("tokens_per_cpu_s_vs_peer", ratio >= 3, ">= 3")]


ROUNDS = 9


def journal_scenario(args):
    """Tokens, ARM reads and key scoring per CPU-second: journal off (baseline), on, on + a fault rule.

    Nine rounds of half the run length each. Every round starts its own emulators, one per
    configuration, side by side, and measures them in turns, the order rotating from round to
    round: a process's luck (where its heap and hot atomics fall among cache lines) moves a
    figure by several per cent, so it must not stay with one configuration for the whole run. A
    configuration's ratio to the baseline is the median of its rounds' ratios (each taken within
    one round, so a passing load on the machine cancels out). A second journal-off emulator is
    measured like the others: its ratio (`noise_*`) is what the method cannot tell apart from no
    difference at all."""
    configs = [("off", ["--journal", "off"], None), ("off_again", ["--journal", "off"], None), ("on", [], None),
               ("on_with_fault_rule", [], {"surface": "any", "kind": "server-error", "match": {"service": "no-such-service"}})]
    ws = f"/subscriptions/{SUB}/resourceGroups/ml-example-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-example"
    routes = {
        "tokens": lambda arm: (f"/{TENANT}/oauth2/v2.0/token",
                               f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}"
                               "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default", None),
        "arm": lambda arm: (f"{ws}?api-version=2024-04-01", None, {"Authorization": f"Bearer {arm}"}),
        "scoring": lambda arm: ("/aci/aci-service-1/score", '{"data": [1]}',
                                {"Authorization": "Bearer aci-service-1-primary-dev-key-00000000000000=",
                                 "Content-Type": "application/json"}),
    }
    names = [name for name, _, _ in configs]
    samples = {name: {route: [] for route in routes} for name in names}
    seconds = max(1, args.seconds // 2)
    for turn in range(ROUNDS):
        running = start_journal_configs(configs)
        try:
            order = names[turn % len(names):] + names[:turn % len(names)]
            for route, shape in routes.items():
                for name in order:
                    emu, arm, _ = running[name]
                    path, body, headers = shape(arm)
                    wrk(emu.url, path, body, 1, headers=headers)  # warm-up
                    before = cpu_seconds(emu.proc.pid)
                    ok, _, _, _ = wrk(emu.url, path, body, seconds, headers=headers)
                    samples[name][route].append(ok / (cpu_seconds(emu.proc.pid) - before))
        finally:
            for emu, _, data_dir in running.values():
                emu.stop()
                shutil.rmtree(data_dir, ignore_errors=True)
    results = {name: {route: round(statistics.median(v)) for route, v in r.items()} for name, r in samples.items()}

    def ratio(name, route):
        return round(statistics.median(a / b for a, b in zip(samples[name][route], samples["off"][route])), 3)

    for route in routes:
        results[f"noise_{route}"] = ratio("off_again", route)
    goals = []
    for name in ("on", "on_with_fault_rule"):
        for route in routes:
            key = f"{name}_vs_off_{route}"
            results[key] = ratio(name, route)
            goals.append((key, results[key] >= 0.95, ">= 0.95"))
    return results, goals


def start_journal_configs(configs):
    """One emulator per (name, serve flags, fault rule), each with an ARM token: {name: (emulator, token, data dir)}."""
    running = {}
    try:
        for name, extra, rule in configs:
            data_dir = tempfile.mkdtemp(prefix="azureml-emulator-bench-")
            emu = Emulator(data_dir, free_port(), extra)
            running[name] = (emu, None, data_dir)
            emu.wait_ready(ssl._create_unverified_context())
            ctx = ssl.create_default_context(cafile=os.path.join(data_dir, "ca.pem"))
            if rule:
                fetch_json(f"{emu.url}/_emulator/faults", ctx, data=json.dumps(rule).encode(),
                           headers={"Content-Type": "application/json"})
            arm = fetch_json(
                f"{emu.url}/{TENANT}/oauth2/token", ctx,
                data=(f"grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}"
                      "&resource=https%3A%2F%2Fmanagement.azure.com%2F").encode(),
            )["access_token"]
            running[name] = (emu, arm, data_dir)
    except BaseException:
        for emu, _, data_dir in running.values():
            emu.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
        raise
    return running


SCENARIOS = {
    "tokens": tokens_scenario,
    "journal": journal_scenario,
    "arm": arm_scenario,
    "scoring": scoring_scenario,
    "writes": writes_scenario,
    "peers": peers_scenario,
    "users": users_scenario,
    "world": world_scenario,
}


def lookup(results, dotted):
    value = results
    for part in dotted.split("."):
        value = value[part]
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], default=[], help="default: all")
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    parser.add_argument("--no-build", action="store_true", help="use the existing release binary")
    args = parser.parse_args()
    for tool in ("wrk", "openssl"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is required (Debian: apt-get install {tool})")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    for name in args.scenarios or list(SCENARIOS):
        results, goals = SCENARIOS[name](args)
        print(f"## {name}")
        print(json.dumps(results, indent=2))
        for key, met, goal in goals:
            print(f"{key:36} {lookup(results, key)!s:>10}  goal {goal}  {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
