"""RSS of an emulator under N parallel 16 MiB echo-scoring requests (a measurement, not a CI test).

    python3 emulator/benches/scoring_memory.py target/release/azureml-emulator [N=24]

Prints the statuses, the idle RSS, the peak RSS (sampled and VmHWM), and the RSS right after and
7 s after the burst. Scoring bodies are bounded by a 64 MiB budget (README, "Memory bound"), so the
peak should not grow with N.
"""
import http.client, json, os, shutil, ssl, subprocess, sys, tempfile, threading, time
binary = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 24
tmp = tempfile.mkdtemp()
ready = os.path.join(tmp, "ready.json")
proc = subprocess.Popen([binary, "serve", "--port", "0", "--in-memory", "--ready-file", ready],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while not os.path.exists(ready): time.sleep(0.05)
time.sleep(0.3)
r = json.load(open(ready))
ctx = ssl.create_default_context(cafile=r["ca_cert"])
def status(field):
    for line in open(f"/proc/{proc.pid}/status"):
        if line.startswith(field): return int(line.split()[1]) // 1024
KEY = "aci-service-1-primary-dev-key-00000000000000="
body = b'{"data": "' + b"x" * (16 * 1024 * 1024 - 13) + b'"}'
assert len(body) <= 16 * 1024 * 1024
def score(results, i):
    c = http.client.HTTPSConnection("127.0.0.1", r["port"], context=ctx, timeout=120)
    c.request("POST", "/aci/aci-service-1/score", body=body,
              headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
    resp = c.getresponse(); data = resp.read()
    results[i] = (resp.status, len(data) == len(body) if resp.status == 200 else data[:80])
    c.close()
idle = status("VmRSS")
results = [None] * n
peak = [0]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], status("VmRSS")); time.sleep(0.02)
s = threading.Thread(target=sample); s.start()
t0 = time.time()
ts = [threading.Thread(target=score, args=(results, i)) for i in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
elapsed = time.time() - t0
done.set(); s.join()
after = status("VmRSS")
time.sleep(7)
settled = status("VmRSS")
hwm = status("VmHWM")
proc.terminate(); proc.wait()
shutil.rmtree(tmp, ignore_errors=True)
from collections import Counter
print(json.dumps({"binary": binary, "requests": n, "results": dict(Counter(str(x) for x in results)),
                  "seconds": round(elapsed, 1), "idle_rss_mb": idle, "peak_rss_mb_sampled": peak[0],
                  "VmHWM_mb": hwm, "rss_right_after_mb": after, "rss_7s_later_mb": settled}))
