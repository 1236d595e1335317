"""Start/stop the azureml-emulator binary and talk to its admin API.

Used by conftest.py (session fixture) and by the lifecycle tests, which start private instances.
Nothing in here knows about any Azure SDK: the tests drive the real, unmodified SDKs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO_ROOT / "target" / "release" / "azureml-emulator"
DEFAULT_WORLD = REPO_ROOT / "fixtures" / "default.toml"
READY_TIMEOUT_SECONDS = float(os.environ.get("AZUREML_EMULATOR_READY_TIMEOUT", "20"))
STOP_TIMEOUT_SECONDS = 10.0

ARM_SCOPE = "https://management.azure.com/.default"
ARM_RESOURCE = "https://management.azure.com/"
ARM_AUDIENCE = "https://management.azure.com"
CLASSIC_ARM_SCOPE = "https://management.core.windows.net//.default"
CLASSIC_ARM_AUDIENCE = "https://management.core.windows.net/"
UNKNOWN_SCOPE = "https://unknown.example.com/.default"


class EmulatorError(RuntimeError):
    pass


def binary_path() -> Path:
    return Path(os.environ.get("AZUREML_EMULATOR_BIN") or DEFAULT_BINARY)


def require_binary() -> Path:
    path = binary_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise EmulatorError(
            f"azureml-emulator binary not found or not executable at {path}. "
            "Build it first (cargo build --release) or set AZUREML_EMULATOR_BIN."
        )
    return path


@dataclass
class EmulatorProcess:
    """A running `azureml-emulator serve` child process and its ready-file contents."""

    proc: subprocess.Popen
    workdir: Path
    ready: dict[str, Any]
    stderr_path: Path
    stdout_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def stderr(self) -> str:
        return _read_text(self.stderr_path)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after a grace period. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        return self.proc.returncode


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def start_emulator(workdir: Path, *extra_args: str, in_memory: bool = False) -> EmulatorProcess:
    """Start `azureml-emulator serve --port 0` and wait (bounded) for its ready file."""
    binary = require_binary()
    workdir = Path(workdir)
    stdout_path = workdir / "emulator.stdout.log"
    stderr_path = workdir / "emulator.stderr.log"
    args = [str(binary), "serve", "--port", "0"]
    if in_memory:
        # --in-memory and --data-dir are mutually exclusive.
        ready_file = workdir / "ready.json"
        args.append("--in-memory")
    else:
        data_dir = workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        ready_file = data_dir / "ready.json"
        args += ["--data-dir", str(data_dir)]
    args += ["--ready-file", str(ready_file)]
    args.extend(extra_args)
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=workdir)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        code = proc.poll()
        if code is not None:
            raise EmulatorError(
                f"azureml-emulator exited with status {code} before writing {ready_file}.\n"
                f"command: {' '.join(args)}\nstderr:\n{_read_text(stderr_path)}"
            )
        if ready_file.exists():
            try:
                ready = json.loads(ready_file.read_text())
            except ValueError:
                ready = None  # being written (should be atomic, but be tolerant)
            if ready:
                return EmulatorProcess(proc, workdir, ready, stderr_path, stdout_path, {"args": args})
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise EmulatorError(
                f"azureml-emulator did not write {ready_file} within {READY_TIMEOUT_SECONDS:.0f}s.\n"
                f"command: {' '.join(args)}\nstderr:\n{_read_text(stderr_path)}"
            )
        time.sleep(0.05)


class Admin:
    """The emulator's /_emulator admin API, called with plain requests and the emulator CA bundle."""

    def __init__(self, ready: dict[str, Any]):
        self.url = ready["url"].rstrip("/")
        self.verify = ready["ca_bundle"]

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, verify=self.verify, timeout=30, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, verify=self.verify, timeout=30, **kw)

    def health(self) -> requests.Response:
        return self.get("/_emulator/health")

    def clock(self, **payload) -> dict[str, Any]:
        """POST /_emulator/clock, e.g. clock(advance_seconds=3600), clock(freeze=True)."""
        resp = self.post("/_emulator/clock", json=payload)
        assert resp.status_code == 200, f"POST /_emulator/clock {payload} -> {resp.status_code} {resp.text}"
        return _json_or_empty(resp)

    def get_clock(self) -> dict[str, Any]:
        resp = self.get("/_emulator/clock")
        assert resp.status_code == 200, f"GET /_emulator/clock -> {resp.status_code} {resp.text}"
        return resp.json()

    def reset(self) -> None:
        resp = self.post("/_emulator/reset")
        assert resp.status_code in (200, 204), f"POST /_emulator/reset -> {resp.status_code} {resp.text}"


def _json_or_empty(resp: requests.Response) -> dict[str, Any]:
    try:
        return resp.json()
    except ValueError:
        return {}


def load_world(path: Path = DEFAULT_WORLD) -> dict[str, Any]:
    with open(path, "rb") as f:
        return tomllib.load(f)


def application(world: dict[str, Any], display_name: str) -> dict[str, Any]:
    for app in world.get("applications", []):
        if app["display_name"] == display_name:
            return app
    raise KeyError(f"application {display_name!r} not in {DEFAULT_WORLD}")


def claims(token: str) -> dict[str, Any]:
    """Decode a JWT's claims WITHOUT verifying it (signature checks are done separately, against JWKS)."""
    return jwt.decode(token, options={"verify_signature": False})


def header(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)
