"""Helpers for the browser test of the Dagster UI: a `dagster dev` process, run polling, error detection on pages."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
INSTANCE_YAML = ROOT / "dagster_home" / "dagster.yaml"

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium (apt-get install chromium); Playwright never downloads a browser of its own here."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

ERROR_PHRASES = (
    # What the Dagster UI (dagster_webserver/webapp) renders when something breaks, checked against its bundle:
    "Something went wrong",  # top-level React error boundary
    "Application error: a client-side exception",  # Next.js crash page
    "An unexpected error occurred",  # non-ideal states (graphs, ops, runs list)
    "An error occurred",  # partition / asset non-ideal states and dialogs
    "Unexpected error",
    "GraphQL Error",  # "GraphQL Error - see console for details"
    "Network error",  # webserver unreachable / 5xx
    "Stack Trace:",  # PythonErrorInfo: a Python exception shown on the page
    "Python error",  # dialog title for a PythonError
    "failed to load",  # "Code location ... failed to load due to errors."
    "Error loading",  # "Error loading code location", "... asset selection", ...
    "Could not load",
    "Unable to load",
)
"""Phrases, not single words: an asset page may legitimately say 'error' (a check name, a run status filter)."""

MISSING_PHRASES = (
    # What it renders when the thing asked for is not there (a code location that failed to load shows these, not an error).
    "Empty graph",  # global lineage without assets
    "There are no matching materialized assets",  # asset page of an unknown key
    "No assets were found",
    "No run found",
)


def free_port() -> int:
    """A localhost port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def page_error_phrases(text: str) -> list[str]:
    """The error or not-found phrases (case-insensitive) that a page's visible text contains."""
    lowered = text.lower()
    return [phrase for phrase in ERROR_PHRASES + MISSING_PHRASES if phrase.lower() in lowered]


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    """POST one query to the webserver's /graphql; returns `data`, raising on transport or GraphQL errors."""
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.load(response)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


LOCATIONS_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
    ... on PythonError { message }
  }
}
"""


def wait_for_code_location(url: str, name: str, deadline: float) -> None:
    """Until the code location is LOADED; raises at once if it loaded with an error (the UI then shows an empty graph)."""
    seen = None
    while time.monotonic() < deadline:
        workspace = graphql(url, LOCATIONS_QUERY)["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise RuntimeError(f"workspace error: {workspace}")
        seen = {entry["name"]: entry for entry in workspace["locationEntries"]}
        entry = seen.get(name)
        if entry and entry["loadStatus"] == "LOADED":
            loaded = entry["locationOrLoadError"]
            if loaded is None or loaded["__typename"] != "RepositoryLocation":
                raise RuntimeError(f"code location {name} failed to load: {loaded}")
            return
        time.sleep(0.5)
    raise TimeoutError(f"code location {name} not loaded in time: {seen}")


RUN_FAILURE_QUERY = """
query ($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message stepKey }
        ... on ErrorEvent { error { message } }
      }
    }
  }
}
"""


def run_failure_summary(url: str, run_id: str, limit: int = 4000) -> str:
    """The run's failure events (step and run failures, in order), for an assertion message."""
    try:
        logs = graphql(url, RUN_FAILURE_QUERY, {"runId": run_id})["logsForRun"]
    except Exception as exc:  # the summary is a courtesy: never hide the real failure behind it
        return f"(could not read the run's events: {exc})"
    lines = []
    for event in logs.get("events", []):
        if "Failure" in event["__typename"] or "Error" in event["__typename"]:
            error = event.get("error") or {}
            lines.append(
                f"{event['__typename']} {event.get('stepKey') or ''}: {event.get('message')} {error.get('message', '')}"
            )
    return "\n".join(lines)[-limit:] or "(no failure events)"


@dataclass
class DagsterDev:
    """A running `dagster dev` (webserver + daemon) on one localhost port."""

    process: subprocess.Popen
    port: int
    log_path: Path
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the combined webserver/daemon log, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_until_up(self, deadline: float) -> None:
        """Until /server_info answers 200, the process dies, or the deadline passes."""
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"dagster dev did not answer on {self.url}/server_info in time:\n{self.log_tail()}")
            time.sleep(0.5)


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to `dagster dev` (it shuts its webserver and daemon down in a few seconds), then SIGKILL whatever is
    left in its group. SIGTERM is ignored when the test runs with SIGINT ignored (a background job of a
    non-interactive shell): the grace then runs out and SIGKILL does the job."""
    pgid = process.pid  # started with start_new_session=True: its own process group
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Run workers, code servers or a stuck child: nothing of the group may outlive the test.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


@contextlib.contextmanager
def dagster_dev(workdir: Path, data_dir: Path, duckdb_path: Path, deadline: float) -> Iterator[DagsterDev]:
    """`dagster dev -w workspace.yaml` from the repo root on a free port, with the project's instance config
    copied into a fresh DAGSTER_HOME; the whole process group is ended on exit, failure or not."""
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(INSTANCE_YAML, home / "dagster.yaml")
    # The code servers' unix sockets and the run workers' temp files go here and are removed with it (a short path:
    # a socket path must stay under 108 bytes, which a deep pytest tmp dir may not).
    scratch = tempfile.mkdtemp(prefix="vax-ui-")
    env = {
        **os.environ,
        "TMPDIR": scratch,
        "DAGSTER_HOME": str(home),
        "VAX_DATA_DIR": str(data_dir),
        "VAX_DUCKDB_PATH": str(duckdb_path),
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    log_path = workdir / "dagster_dev.log"
    try:
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [DAGSTER, "dev", "-w", "workspace.yaml", "-p", str(port), "-h", "127.0.0.1"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            server = DagsterDev(process, port, log_path)
            server.wait_until_up(deadline)
            yield server
        finally:
            stop_process_group(process)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def wait_for_run(client, run_id: str, deadline: float, poll: float = 1.0) -> str:
    """Poll the run's status over GraphQL until it is finished (SUCCESS, FAILURE, CANCELED) or the deadline passes;
    returns the status name (the last one seen on timeout)."""
    finished = {"SUCCESS", "FAILURE", "CANCELED"}
    status = "UNKNOWN"
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in finished:
            return status
        time.sleep(poll)
    return status
