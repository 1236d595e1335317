"""Start, drive and stop one ``azureml-emulator serve`` process (standard library only)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, MutableMapping, Optional, Sequence, Union

BINARY_NAME = "azureml-emulator"

#: Seconds to wait for the ready file after starting (``AZUREML_EMULATOR_READY_TIMEOUT`` overrides).
DEFAULT_READY_TIMEOUT = float(os.environ.get("AZUREML_EMULATOR_READY_TIMEOUT", "30"))
#: Seconds to wait for a clean exit after SIGTERM before the process is killed.
DEFAULT_STOP_TIMEOUT = 10.0

#: Outer variables that would send an SDK somewhere other than the emulator, or make it pick another
#: credential (certificate, user/password, workload or managed identity). :meth:`Emulator.environ`
#: removes them while it applies the emulator's own variables.
CONFLICTING_ENV_VARS = (
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_REGIONAL_AUTHORITY_NAME",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
)

#: Added to ``NO_PROXY``/``no_proxy`` by :meth:`Emulator.environ`, so a CI proxy never sees emulator traffic.
LOOPBACK_NO_PROXY = ("127.0.0.1", "localhost")

# serve options the wrapper owns: it always starts on a ready file it reads itself.
_RESERVED_OPTIONS = {"ready_file"}

Seconds = Union[int, float, _dt.timedelta]


class EmulatorError(RuntimeError):
    """The emulator could not be found, started, reached, or refused a control-API call."""


def find_binary(binary: Optional[Union[str, os.PathLike]] = None) -> str:
    """Path of the ``azureml-emulator`` executable.

    Order: ``binary`` if given, else ``AZUREML_EMULATOR_BIN``, else the one this package's wheel put in
    the running interpreter's scripts directory, else ``azureml-emulator`` on ``PATH``.

    Raises :class:`EmulatorError` when none is found or it is not executable.
    """
    candidates = []
    if binary is not None:
        candidates.append(("binary argument", str(binary)))
    elif os.environ.get("AZUREML_EMULATOR_BIN"):
        candidates.append(("AZUREML_EMULATOR_BIN", os.environ["AZUREML_EMULATOR_BIN"]))
    else:
        scripts = sysconfig.get_path("scripts")
        if scripts:
            candidates.append(("this interpreter's scripts dir", os.path.join(scripts, BINARY_NAME)))
        on_path = shutil.which(BINARY_NAME)
        if on_path:
            candidates.append(("PATH", on_path))
    for _, path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    tried = ", ".join(f"{where}: {path}" for where, path in candidates) or "PATH"
    raise EmulatorError(
        f"{BINARY_NAME} not found or not executable (tried {tried}). Install the azureml-emulator wheel, "
        "run `cargo install --path emulator`, or set AZUREML_EMULATOR_BIN."
    )


def serve_arguments(options: Dict[str, Any]) -> list:
    """``serve`` flags from keyword options: ``rbac="log-only"`` gives ``--rbac log-only``,
    ``in_memory=True`` gives ``--in-memory``; ``None`` and ``False`` are left out."""
    args = []
    for name, value in options.items():
        if name in _RESERVED_OPTIONS:
            raise TypeError(f"{name!r} is managed by azureml_emulator.start()")
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        else:
            args += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return args


@dataclass(frozen=True)
class Credentials:
    """The default service principal of the loaded world (``service_principal`` in the ready file)."""

    tenant_id: str
    client_id: str
    client_secret: str
    subscription_id: str


class Clock:
    """The emulator's clock (``/_emulator/clock``), optionally mirrored in this process.

    Every method returns the clock state the emulator answers: ``{"now": RFC 3339, "frozen": bool,
    "offset_seconds": int}``.

    With ``client=True`` the test process's own clock follows (the ``time-machine`` package must be
    installed): ``time.time()``, ``datetime.now()`` and so the token caches of msal, azure-identity
    and adal see the emulator's time. Without it only the server moves, and an SDK keeps handing
    out a cached token that the emulator already rejects as expired: that is what real clients do
    when their clock and the server's disagree. :meth:`resume` always brings the process clock back.
    """

    def __init__(self, emulator: "Emulator"):
        self._emulator = emulator
        self._traveller: Any = None

    def state(self) -> Dict[str, Any]:
        """The emulator's clock state, without changing it."""
        return self._emulator.api("GET", "/clock")

    def now(self) -> _dt.datetime:
        """The emulator's current time (timezone-aware UTC)."""
        return _parse_rfc3339(self.state()["now"])

    def advance(self, seconds: Seconds, *, client: bool = False) -> Dict[str, Any]:
        """Move the clock by ``seconds`` (an int, float or timedelta; negative moves back).
        The emulator counts whole seconds, so a fraction is rounded to the nearest second."""
        if isinstance(seconds, _dt.timedelta):
            seconds = seconds.total_seconds()
        return self._post({"advance_seconds": int(round(seconds))}, client)

    def freeze(self, *, client: bool = False) -> Dict[str, Any]:
        """Stop the clock at the current instant (it moves only with :meth:`advance`/:meth:`set`)."""
        return self._post({"freeze": True}, client)

    def set(self, when: Union[str, _dt.datetime], *, client: bool = False) -> Dict[str, Any]:
        """Jump to ``when``: an RFC 3339 string or a datetime (naive datetimes are taken as UTC)."""
        if isinstance(when, _dt.datetime):
            if when.tzinfo is None:
                when = when.replace(tzinfo=_dt.timezone.utc)
            when = when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._post({"set": when}, client)

    def resume(self) -> Dict[str, Any]:
        """Back to real time (no offset, not frozen), on the emulator and in this process."""
        self.stop_client()
        return self._emulator.api("POST", "/clock", {"resume": True})

    def stop_client(self) -> None:
        """Give this process its real clock back (the emulator's clock is left as it is)."""
        if self._traveller is not None:
            traveller, self._traveller = self._traveller, None
            traveller.stop()

    def _post(self, body: Dict[str, Any], client: bool) -> Dict[str, Any]:
        time_machine = _time_machine() if client else None  # before the emulator's clock moves
        state = self._emulator.api("POST", "/clock", body)
        if time_machine is not None:
            self.stop_client()
            if state.get("offset_seconds") != 0 or state.get("frozen"):
                traveller = time_machine.travel(_parse_rfc3339(state["now"]), tick=not state.get("frozen"))
                traveller.start()
                self._traveller = traveller
        return state


def _time_machine() -> Any:
    try:
        import time_machine
    except ImportError:
        raise EmulatorError(
            "client=True moves this process's clock with the time-machine package: "
            "pip install time-machine (or the azureml-emulator[clock] extra)"
        ) from None
    return time_machine


class Emulator:
    """A running ``azureml-emulator serve`` process. Create it with :func:`start`.

    Attributes:
        url: ``https://127.0.0.1:PORT`` (no trailing slash).
        port: the port it listens on.
        ready: the whole ready file (see the README's ``--ready-file``).
        env: the variables that point SDKs at it (``azureml-emulator env``): CA bundle, authority host,
            cloud metadata URL, tenant, client id/secret, subscription.
        ca_bundle: the system CAs plus the emulator CA (PEM file), for ``requests``/OpenSSL.
        ca_cert: the emulator CA alone (PEM file), for Node's ``NODE_EXTRA_CA_CERTS``.
        credentials: the default service principal.
        data_dir: the data dir (a temporary one unless ``data_dir`` was given to :func:`start`).
        clock: the emulator clock (:class:`Clock`).
    """

    def __init__(self, process: subprocess.Popen, ready: Dict[str, Any], workdir: Path, owned_dirs: list):
        self._process = process
        self._workdir = workdir
        self._owned = owned_dirs
        self.ready: Dict[str, Any] = ready
        self.url: str = ready["url"].rstrip("/")
        self.port: int = int(ready["port"])
        self.env: Dict[str, str] = {k: str(v) for k, v in ready["env"].items()}
        self.ca_bundle: str = str(ready["ca_bundle"])
        self.ca_cert: str = str(ready["ca_cert"])
        self.data_dir: str = str(ready["data_dir"])
        self.tenant_id: str = ready["tenant_id"]
        self.tenant_domain: str = ready["tenant_domain"]
        self.subscription_id: str = ready["subscription_id"]
        sp = ready.get("service_principal") or {}
        self.credentials = Credentials(
            tenant_id=sp.get("tenantId", self.tenant_id),
            client_id=sp.get("clientId", ""),
            client_secret=sp.get("clientSecret", ""),
            subscription_id=sp.get("subscriptionId", self.subscription_id),
        )
        self.clock = Clock(self)
        self._ssl = ssl.create_default_context(cafile=self.ca_cert)
        # Proxies from the environment must not see loopback control calls.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self._ssl)
        )
        # Stops the process even if stop() is never called (garbage collection or interpreter exit).
        self._finalizer = weakref.finalize(self, _terminate, process, owned_dirs, DEFAULT_STOP_TIMEOUT)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def stderr(self) -> str:
        """What the server logged so far (its stderr)."""
        return _read_text(self._workdir / "serve.stderr.log")

    def stdout(self) -> str:
        """The start banner (its stdout)."""
        return _read_text(self._workdir / "serve.stdout.log")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the control API ``/_emulator{path}`` and return its JSON answer.

        Raises :class:`EmulatorError` with the status and the body on any non-2xx answer.
        """
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_emulator" + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(req, timeout=30) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise EmulatorError(f"{method} /_emulator{path} -> {exc.code} {exc.read().decode(errors='replace')}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise EmulatorError(f"{method} /_emulator{path} failed: {exc}") from None
        return json.loads(text) if text else None

    def health(self) -> bool:
        """True when ``GET /_emulator/health`` answers Healthy."""
        try:
            return self.api("GET", "/health").get("status") == "Healthy"
        except EmulatorError:
            return False

    def reset(self, *, clock: bool = True) -> None:
        """Back to the world loaded at start (``POST /_emulator/reset``), in one transaction.

        With ``clock=True`` (the default) the clock goes back to real time first, here and on the emulator.
        """
        if clock:
            self.clock.resume()
        self.api("POST", "/reset")

    @contextmanager
    def environ(self, environ: Optional[MutableMapping[str, str]] = None) -> Iterator[Dict[str, str]]:
        """Apply :attr:`env` to ``environ`` (``os.environ`` by default) and restore it on exit.

        The emulator's values replace presets such as ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` (machines
        often point them at the system bundle, which lacks the emulator CA), the variables in
        :data:`CONFLICTING_ENV_VARS` are removed, and ``127.0.0.1,localhost`` join ``NO_PROXY``.
        Yields the applied variables.
        """
        target = os.environ if environ is None else environ
        saved = {name: target.get(name) for name in (*self.env, *CONFLICTING_ENV_VARS, "NO_PROXY", "no_proxy")}
        applied = dict(self.env)
        for name in ("NO_PROXY", "no_proxy"):
            present = [h for h in (target.get(name) or "").split(",") if h.strip()]
            applied[name] = ",".join(present + [h for h in LOOPBACK_NO_PROXY if h not in present])
        try:
            for name in CONFLICTING_ENV_VARS:
                target.pop(name, None)
            target.update(applied)
            yield applied
        finally:
            for name, value in saved.items():
                if value is None:
                    target.pop(name, None)
                else:
                    target[name] = value

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> Optional[int]:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds; removes the
        temporary directories :func:`start` created. Returns the exit status (0 after a clean stop).
        Safe to call twice."""
        self.clock.stop_client()
        if self._finalizer.alive:
            self._finalizer.detach()
            _terminate(self._process, self._owned, timeout)
        return self._process.returncode

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<azureml_emulator.Emulator {self.url} pid={self.pid} running={self.running}>"


def start(
    fixtures: Optional[Union[str, os.PathLike]] = None,
    data_dir: Optional[Union[str, os.PathLike]] = None,
    *,
    binary: Optional[Union[str, os.PathLike]] = None,
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
    args: Sequence[str] = (),
    **serve_options: Any,
) -> Emulator:
    """Start ``azureml-emulator serve`` on a free port and wait until it is ready.

    Args:
        fixtures: a world file (TOML); default: the built-in default world.
        data_dir: keep the database, keys and certificates there (reused by later starts: the database,
            not the fixtures, is then the source of truth). Default: a temporary directory removed by
            :meth:`Emulator.stop`. Ignored with ``in_memory=True``.
        binary: the executable; default: see :func:`find_binary`.
        ready_timeout: seconds to wait for the ready file before the process is killed.
        args: more ``serve`` arguments, as written on the command line (added last).
        serve_options: any other ``serve`` flag by its name, e.g. ``rbac="log-only"``, ``in_memory=True``,
            ``workers=2``, ``admin_key="…"``, ``cert=…, key=…``, ``host="127.0.0.1"``, ``port=0`` (the default).

    Returns a running :class:`Emulator`; use it as a context manager or call :meth:`Emulator.stop`.

    Raises :class:`EmulatorError` when the binary is missing, exits early, or writes no ready file in
    time (the message carries the command and the server's stderr).
    """
    exe = find_binary(binary)
    serve_options.setdefault("port", 0)
    flags = serve_arguments(serve_options)
    workdir = Path(tempfile.mkdtemp(prefix="azureml-emulator-")).resolve()
    owned = [workdir]
    argv = [exe, "serve"]
    try:
        if not serve_options.get("in_memory"):
            data = workdir / "data" if data_dir is None else Path(data_dir).expanduser().resolve()
            data.mkdir(parents=True, exist_ok=True)
            argv += ["--data-dir", str(data)]
        if fixtures is not None:
            argv += ["--fixtures", str(Path(fixtures).expanduser().resolve())]
        ready_file = workdir / "ready.json"
        argv += ["--ready-file", str(ready_file), *flags, *args]
        env = dict(os.environ)
        env.setdefault("NO_COLOR", "1")
        with open(workdir / "serve.stdout.log", "wb") as out, open(workdir / "serve.stderr.log", "wb") as err:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=workdir, env=env)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        ready = _wait_ready(process, ready_file, ready_timeout, argv, workdir)
    except BaseException:
        _terminate(process, owned, 0.0)
        raise
    return Emulator(process, ready, workdir, owned)


def _wait_ready(process: subprocess.Popen, ready_file: Path, timeout: float, args: list, workdir: Path) -> Dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            raise EmulatorError(
                f"{BINARY_NAME} exited with status {code} before it was ready.\ncommand: {' '.join(args)}\n"
                f"stderr:\n{_read_text(workdir / 'serve.stderr.log')}"
            )
        try:
            ready = json.loads(ready_file.read_text())
        except (FileNotFoundError, ValueError):
            ready = None
        if ready and ready.get("pid") == process.pid:
            return ready
        if time.monotonic() > deadline:
            raise EmulatorError(
                f"{BINARY_NAME} wrote no ready file within {timeout:.0f}s.\ncommand: {' '.join(args)}\n"
                f"stderr:\n{_read_text(workdir / 'serve.stderr.log')}"
            )
        time.sleep(0.05)


def _terminate(process: subprocess.Popen, owned_dirs: list, timeout: float) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for path in owned_dirs:
        shutil.rmtree(path, ignore_errors=True)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _parse_rfc3339(text: str) -> _dt.datetime:
    """The emulator's ``now`` (nanosecond fraction, ``Z``) as an aware datetime; Python < 3.11 reads
    neither more than six fraction digits nor ``Z``."""
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text.strip())
    if not match:
        raise EmulatorError(f"not an RFC 3339 time: {text!r}")
    base, fraction, zone = match.groups()
    micro = f".{(fraction or '0')[:6]:0<6}"
    zone = "+00:00" if zone == "Z" else zone
    return _dt.datetime.fromisoformat(base + micro + zone).astimezone(_dt.timezone.utc)
