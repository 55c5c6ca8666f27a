"""Browser tests: a real JupyterLab server and Debian's Chromium driven by Playwright.

Fixtures for any browser test in this folder:

- ``jupyter_lab`` — a :class:`LabServer` started for the test module: ``jupyter lab`` on a free
  loopback port, no token, its own temporary ``ACTIVEMIRROR_HOME``, notebook folder, Jupyter
  config/runtime/settings/workspace folders, and ``--LabApp.expose_app_in_browser`` so tests
  can read JupyterLab's state. ``jupyter_lab.mirror()`` opens the store it serves (kernels it
  starts see the same ``ACTIVEMIRROR_HOME``); ``jupyter_lab.write_notebook(name, sources)``
  puts a notebook in its folder. ``start_jupyter_lab(folder)`` starts another one.
- ``browser`` — headless ``/usr/bin/chromium`` (never a Playwright browser download).
- ``lab`` — a fresh page on ``jupyter_lab`` wrapped in :class:`LabPage`: ``open()``,
  ``open_notebook(name)`` (in JupyterLab or Notebook 7), ``run_cell(source)``,
  ``execute(command, args)``, ``wait_for_sources(sources)``, ``screenshot(name)``. A failing
  test leaves a screenshot in ``test-artifacts/``.

Tests never read the page right after an action: they wait for the state they need with
Playwright's ``expect(...)`` (which retries; its timeout is raised to 30 s here, for loaded
machines) or ``page.wait_for_function``, and never sleep.

Chromium or Playwright missing? The tests are skipped with the reason (failures under
``make test``); ``make system-deps`` installs Debian's ``chromium``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dependencies import missing_dependency

from activemirror_jupyter.core.mirror import ActiveMirror

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("ACTIVEMIRROR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT = 120  # seconds; two busy cores can make a first start slow
WAIT_MS = 30_000  # Playwright's waits and expect(); generous for a loaded machine
KERNEL_WAIT_MS = 120_000  # a kernel starting, or running a cell that imports pandas

# JupyterLab user settings that keep the page quiet and offline: no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running ``jupyter lab`` and the folders it uses."""

    url: str  # base URL, ending in "/"
    root: Path  # everything this server owns lives below here
    home: Path  # its ACTIVEMIRROR_HOME
    notebook_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    _mirrors: list[ActiveMirror] = field(default_factory=list)

    def mirror(self, **kwargs: Any) -> ActiveMirror:
        """Open the store the server serves (its default SQLite database)."""
        mirror = ActiveMirror(db_path=self.home / "conversations.db", **kwargs)
        self._mirrors.append(mirror)
        return mirror

    def write_notebook(self, name: str, sources: list[str] | None = None) -> Path:
        """A notebook of code cells with the ``python3`` kernel, so no kernel dialog appears."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        nb.cells = [nbformat.v4.new_code_cell(source) for source in (sources or [""])]
        path = self.notebook_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close_mirrors(self) -> None:
        for mirror in self._mirrors:
            mirror.close()
        self._mirrors.clear()


def _lab_environment(root: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    folders = {
        "ACTIVEMIRROR_HOME": home,
        "JUPYTER_CONFIG_DIR": root / "jupyter-config",
        "JUPYTER_RUNTIME_DIR": root / "jupyter-runtime",
        "JUPYTER_DATA_DIR": root / "jupyter-data",
        "JUPYTERLAB_SETTINGS_DIR": root / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": root / "lab-workspaces",
        "IPYTHONDIR": root / "ipython",
    }
    for name, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    for name, value in LAB_SETTINGS.items():
        path = folders["JUPYTERLAB_SETTINGS_DIR"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    # The server's own Python comes first, so kernels and `jupyter-*` helpers are this venv's.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("JUPYTER_TOKEN", None)
    return env


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with {process.returncode}:\n{log_path.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url + "api/status", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"jupyter lab did not answer at {url} within {STARTUP_TIMEOUT}s:\n"
        f"{log_path.read_text()[-4000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (it shuts its kernels down), then SIGKILL what is left of the
    process group it leads — only processes this fixture started."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


@contextmanager
def start_jupyter_lab(root: Path, *extra_args: str, port: int | None = None) -> Iterator[LabServer]:
    """Run ``jupyter lab`` with everything under ``root`` (on ``port``, or a free one); stop
    it on exit. The same ``root`` and ``port`` again is the same server restarted."""
    root.mkdir(parents=True, exist_ok=True)
    home = root / "activemirror-home"
    notebook_dir = root / "notebooks"
    notebook_dir.mkdir(exist_ok=True)
    env = _lab_environment(root, home)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={notebook_dir}",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        *extra_args,
    ]
    log_path = root / "jupyter-lab.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=notebook_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kernels are stopped with it
        )
    server = LabServer(url, root, home, notebook_dir, log_path, process)
    try:
        _wait_until_ready(url, process, log_path)
        yield server
    finally:
        server.close_mirrors()
        _stop(process)


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One JupyterLab per test module, over an empty store of its own."""
    with start_jupyter_lab(tmp_path_factory.mktemp("jupyter-lab")) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing_dependency(f"{CHROMIUM}; `make system-deps` installs Debian's chromium")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as error:
        missing_dependency(f"playwright ({error}); pip install -e '.[test]'")

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def artifact_path(test_name: str, label: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{test_name}-{label}")
    return ARTIFACTS / f"{safe[:150]}.png"


class LabPage:
    """A Playwright page on a JupyterLab, with the steps tests keep needing."""

    def __init__(self, page: Any, server: LabServer, test_name: str) -> None:
        self.page = page
        self.server = server
        self.test_name = test_name

    def open(self, path: str = "lab", *, reset: bool = True) -> None:
        """Load JupyterLab (``lab`` or ``lab/tree/<notebook>``) or Notebook 7
        (``notebooks/<notebook>``) and wait until the application has started and restored.

        ``reset`` starts from the default layout, not the one an earlier test left saved."""
        self.page.goto(self.server.url + path + ("?reset" if reset else ""))
        self.page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=KERNEL_WAIT_MS)
        # Polls until the app exists, then waits for its promise (a promise is adopted).
        self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.started", timeout=KERNEL_WAIT_MS
        )
        self.page.wait_for_function("() => window.jupyterapp.restored", timeout=KERNEL_WAIT_MS)

    def execute(self, command: str, args: dict[str, Any] | None = None) -> Any:
        """Run a JupyterLab command, as the palette or a menu would."""
        return self.page.evaluate(
            "async ([id, args]) => { await window.jupyterapp.commands.execute(id, args); }",
            [command, args or {}],
        )

    def open_notebook(self, name: str, *, ui: str = "lab") -> None:
        """Open ``name`` (relative to the notebook folder) in JupyterLab (``ui="lab"``) or
        Notebook 7 (``ui="notebook"``), and wait until its kernel is connected and idle:
        a cell run earlier could be lost while the kernel connection is still being made."""
        self.open(f"lab/tree/{name}" if ui == "lab" else f"notebooks/{name}", reset=ui == "lab")
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        self.page.wait_for_function(
            """() => {
                const panel = window.jupyterapp.shell.currentWidget;
                const context = panel && panel.sessionContext;
                const kernel = context && context.isReady && context.session
                    && context.session.kernel;
                return kernel && kernel.connectionStatus === 'connected'
                    && kernel.status === 'idle';
            }""",
            timeout=KERNEL_WAIT_MS,
        )

    def notebook_sources(self) -> list[str]:
        """The sources of the current notebook's cells, in order."""
        return self.page.evaluate(
            """() => {
                const nb = window.jupyterapp.shell.currentWidget.content;
                return nb.widgets.map(cell => cell.model.sharedModel.getSource());
            }"""
        )

    def wait_for_sources(self, sources: list[str]) -> None:
        """Wait until the current widget is a notebook whose cells hold exactly ``sources``,
        in order."""
        current = """() => {
            const content = window.jupyterapp.shell.currentWidget?.content;
            return content?.widgets && content.model
                ? content.widgets.map(cell => cell.model.sharedModel.getSource()) : null;
        }"""
        try:
            self.page.wait_for_function(
                f"(sources) => JSON.stringify(({current})()) === JSON.stringify(sources)",
                arg=sources,
            )
        except Exception as error:
            now = self.page.evaluate(current)
            raise AssertionError(f"the notebook never held {sources!r}; now: {now!r}") from error

    def run_cell(self, source: str) -> Any:
        """Put ``source`` in the last cell of the current notebook, run it with Shift+Enter
        and wait until the kernel has finished it; fail if it raised.

        Returns the cell's own output area as a Playwright locator: check it with
        ``expect(...)``, since outputs are drawn a moment after the kernel is done."""
        from playwright.sync_api import expect

        index = self.page.evaluate(
            """(source) => {
                const nb = window.jupyterapp.shell.currentWidget.content;
                const index = nb.widgets.length - 1;
                if (nb.widgets[index].model.executionCount !== null) {
                    return -1;  // already run: its count would end the wait below at once
                }
                nb.activeCellIndex = index;
                nb.widgets[index].model.sharedModel.setSource(source);
                return index;
            }""",
            source,
        )
        assert index >= 0, "the last cell has run already: Shift+Enter should have added one"
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.locator(".jp-InputArea-editor").click()
        expect(cell.locator(".jp-InputArea-editor .cm-content")).to_be_focused()
        self.page.keyboard.press("Shift+Enter")
        # The execution count is set once the reply and every output have arrived.
        self.page.wait_for_function(
            """(index) => {
                const panel = window.jupyterapp.shell.currentWidget;
                const model = panel.content.widgets[index].model;
                return model.executionCount !== null
                    && panel.sessionContext.session.kernel.status === 'idle';
            }""",
            arg=index,
            timeout=KERNEL_WAIT_MS,
        )
        errors = self.page.evaluate(
            """(index) => {
                const model = window.jupyterapp.shell.currentWidget.content.widgets[index].model;
                return model.outputs.toJSON()
                    .filter(output => output.output_type === 'error')
                    .map(output => `${output.ename}: ${output.evalue}`);
            }""",
            index,
        )
        assert not errors, f"{source!r} raised {errors}"
        return cell.locator(".jp-Cell-outputArea").first

    def screenshot(self, label: str) -> Path:
        path = artifact_path(self.test_name, label)
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def lab(browser: Any, jupyter_lab: LabServer, request: pytest.FixtureRequest) -> Iterator[LabPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    lab_page = LabPage(page, jupyter_lab, request.node.name)
    yield lab_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            lab_page.screenshot("failure")
        except Exception as error:  # the page may be gone; the test's own error matters more
            print(f"no failure screenshot: {error}")
    context.close()
