"""The README's code blocks run as written.

The convention (stated in the README too, under "About the code blocks in this README"):

* A fenced block whose info string is exactly ``sh``, ``python`` or ``js`` is runnable, wherever it is.
* A ``python``/``js`` block whose first line reads ``# FILE — run with: COMMAND`` (``//`` for js) is saved
  as FILE in the scratch directory and COMMAND is run there with bash. Every such file is saved before
  any block runs, so a later block (the CI recipe's ``python -m pytest``) finds the earlier test files.
* Any other ``python`` block runs as ``python FILE``, any other ``js`` block as
  ``node --input-type=module -e``, and an ``sh`` block with ``bash -eo pipefail``.
* Every other block must say what it is: ``text`` (synopses with placeholders, output, commands this
  test cannot run), ``yaml``, ``toml`` or ``rust``. An untagged or unknown block fails the test.

Each block runs in one shared scratch directory, in its own process group (killed afterwards, so a
block that fails half-way leaves no server behind), with the environment of a user's machine: the
system CA bundle preset in ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``/``CURL_CA_BUNDLE``/``NODE_EXTRA_CA_CERTS``,
no Azure variables, and this venv's ``bin`` (the wheel's ``azureml-emulator``, ``python``, ``pytest``)
first on ``PATH``. ``node_modules`` in the scratch dir links to ``client-tests/node/node_modules``, where
the Node helper (by path) and ``@azure/identity`` are installed. So every block starts its own fresh
emulator, through the same packages a user installs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"
NODE_MODULES = HERE.parent / "node" / "node_modules"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BLOCK_TIMEOUT_SECONDS = 180

RUNNABLE = {"sh", "python", "js"}
NOT_RUN = {"text", "yaml", "toml", "rust"}
HEADER = re.compile(r"^(?:#|//)\s*(?P<file>[\w.\-]+)\s+—\s+run with:\s+(?P<command>.+)$")


@dataclass
class Block:
    line: int
    info: str
    code: str

    @property
    def header(self) -> re.Match | None:
        first = self.code.splitlines()[0] if self.code.strip() else ""
        return HEADER.match(first)

    @property
    def id(self) -> str:
        h = self.header
        return f"L{self.line}-{self.info}" + (f"-{h['file']}" if h else "")


def readme_blocks() -> list[Block]:
    blocks: list[Block] = []
    lines = README.read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(`{3,})(.*)$", lines[i])
        if fence:
            start, info, body = i + 1, fence.group(2).strip(), []
            i += 1
            while i < len(lines) and not lines[i].startswith(fence.group(1)):
                body.append(lines[i])
                i += 1
            blocks.append(Block(start, info, "\n".join(body) + "\n"))
        i += 1
    return blocks


BLOCKS = readme_blocks()
RUNNABLE_BLOCKS = [b for b in BLOCKS if b.info in RUNNABLE]


def test_every_block_is_runnable_or_says_what_it_is():
    unmarked = [(b.line, b.info) for b in BLOCKS if b.info not in RUNNABLE | NOT_RUN]
    assert unmarked == [], f"README blocks with no or an unknown info string (line, info): {unmarked}"


def test_the_quick_start_and_packages_sections_have_runnable_blocks():
    kinds = {info: sum(1 for b in RUNNABLE_BLOCKS if b.info == info) for info in RUNNABLE}
    assert kinds["sh"] >= 2 and kinds["python"] >= 2 and kinds["js"] >= 2, kinds
    files = {b.header["file"] for b in RUNNABLE_BLOCKS if b.header}
    assert {"test_arm.py", "arm.test.mjs", "env.test.mjs"} <= files, files


def test_rust_blocks_are_compiled_examples():
    """A ``rust`` block is an example the crate compiles (``cargo build --all-targets`` in CI)."""
    examples = "".join(p.read_text() for p in (README.parent / "emulator" / "examples").glob("*.rs"))
    missing = [b.line for b in BLOCKS if b.info == "rust" and b.code not in examples]
    assert missing == [], f"README rust blocks not found verbatim in emulator/examples (lines): {missing}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """The shared scratch dir, with every FILE block saved and node_modules linked."""
    root = tmp_path_factory.mktemp("readme")
    (root / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    for block in RUNNABLE_BLOCKS:
        if block.header:
            (root / block.header["file"]).write_text(block.code)
    return root


def user_env() -> dict[str, str]:
    """A user's shell: machine CA presets, no Azure or emulator variables, this venv's bin first."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "ARM_", "MSI_", "IDENTITY_", "PYTEST_")) and k != "NODE_OPTIONS"
        and not (k.startswith("AZUREML_EMULATOR_") and k != "AZUREML_EMULATOR_BIN")
    }
    if os.path.exists(SYSTEM_BUNDLE):
        for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
            env[name] = SYSTEM_BUNDLE
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def command_for(block: Block, scratch: Path) -> list[str]:
    header = block.header
    if header:
        return ["bash", "-eo", "pipefail", "-c", header["command"]]
    if block.info == "sh":
        return ["bash", "-eo", "pipefail", "-c", block.code]
    if block.info == "python":
        path = scratch / f"readme_block_{block.line}.py"
        path.write_text(block.code)
        return [sys.executable, str(path)]
    return ["node", "--input-type=module", "-e", block.code]


@pytest.mark.parametrize("block", RUNNABLE_BLOCKS, ids=[b.id for b in RUNNABLE_BLOCKS])
def test_block_runs_as_written(block: Block, scratch: Path):
    proc = subprocess.Popen(
        command_for(block, scratch),
        cwd=scratch,
        env=user_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=BLOCK_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        output = "(timed out)"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever the block left running
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 0, f"README line {block.line} ({block.info}) exited {proc.returncode}:\n{output[-6000:]}"
