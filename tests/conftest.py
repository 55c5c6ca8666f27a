"""Shared fixtures: every test gets its own ACTIVEMIRROR_HOME in a temporary folder, and
``mirror_factory`` opens mirrors over each kind of store (the behaviour tests run on all).

The suite runs in parts. Markers are applied here, at collection, never by hand:

- ``browser``: everything in ``tests/browser/`` (a real JupyterLab and Chromium);
- ``postgresql``: tests on the throwaway PostgreSQL server — they use the ``postgres_dsn`` or
  ``postgres_server`` fixture, or run with the ``"postgresql"`` store as a parameter;
- ``notebook``: tests that run notebooks in real kernels through nbclient;
- ``slow``: the few tests that take seconds even on an idle machine (``SLOW`` below).

``pytest -m "not browser and not postgresql and not slow"`` is the fast core. A test whose
outside dependency is missing (psycopg, PostgreSQL, Chromium) is skipped with the reason;
``--require-all``, which ``make test`` passes, turns those skips into failures.
"""

from __future__ import annotations

import gc
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dependencies import is_missing_dependency

# A throwaway PostgreSQL cluster for the "postgresql" store (tests/postgres_server.py);
# psycopg is imported only once a test asks for the server.
from postgres_server import postgres_dsn, postgres_server, team  # noqa: F401

from activemirror_jupyter.core.mirror import ActiveMirror

# Stores the behaviour tests run against. A store whose tests need a server adds a fixture
# that provides its location (see STORE_OPTIONS).
STORE_TYPES = ["memory", "sqlite", "json", "postgresql"]

# Tests that take seconds on an idle machine: they start (and kill) many processes, or wait
# out connection timeouts. Measured with `pytest --durations=30` on this 2-core machine.
SLOW = {
    "tests/core/test_postgresql.py::test_server_stopped_and_restarted_mid_session",  # 4.3 s
    "tests/core/test_sqlite.py::test_kill_9_during_saves_never_loses_a_returned_save",  # 3.4 s
    "tests/server/test_packaging.py::test_the_labextension_is_enabled_and_ok",  # 2.3 s
    "tests/server/test_packaging.py::test_the_server_extension_is_enabled_and_loads",  # 1.8 s
    "tests/test_reports.py::test_a_10000_message_report_is_written_with_bounded_memory",  # 7.5 s
    "tests/test_capture_kernel.py::test_autolog_changes_nothing_the_notebook_shows",  # 5.4 s
    "tests/test_reports_notebook.py::test_cells_autologged_in_a_kernel_come_back_as_a_notebook_that_reruns",  # 3.2 s
    "tests/test_notebooks.py::test_research_log",  # 2.5 s
    "tests/test_notebook_assistant.py::test_assistant_notebook_runs_headless",  # 2.0 s
    "tests/core/test_journal_processes.py::test_kill_9_in_the_middle_of_chained_saves_leaves_a_chain_that_verifies",  # 2.0 s
    "tests/test_reports_files.py::test_a_report_killed_mid_write_leaves_nothing_after_the_next_backup",
    "tests/core/test_jsonfiles.py::test_kill_9_during_saves_with_attachments_leaves_no_orphan_bytes",
    "tests/test_import_from.py::test_the_llm_program_and_python_dash_m_import_from_llms_own_folder",  # 1.4 s
    "tests/core/test_search_similar.py::test_kill_9_while_vectors_are_made_leaves_nothing_half_written",  # 3 s
    "tests/core/test_sync_properties.py::test_any_schedule_ends_in_one_record_on_every_device",  # 3.9 s
    "tests/core/test_redaction_processes.py::test_kill_9_mid_redaction_leaves_the_old_message_or_the_redacted_one",  # 2.5-3.6 s
    "tests/core/test_sync_faults.py::test_a_sync_killed_at_any_file_write_is_run_again_and_loses_nothing",  # 3 s
    "tests/test_notebooks.py::test_sync_two_machines_in_one_notebook",  # 2.2 s (a kernel)
    "tests/server/test_packaging.py::test_the_extension_hooks_keep_the_package_import_light",  # 1.8 s
    "tests/test_capture_kernel.py::test_the_log_holds_what_the_notebook_shows",  # 1.8 s (a kernel)
    "tests/core/test_journal_processes.py::test_four_writers_make_one_linear_chain",  # 2.9 s in all
}

# Whole files of such tests: the fault-injection sweeps start a process per fault (about 300).
SLOW_FILES = {"tests/core/test_faults.py"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-all",
        action="store_true",
        help="fail, instead of skipping, tests whose outside dependency (psycopg, PostgreSQL, "
        "Chromium, the built frontend) is missing; `make test` passes it",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """What importing and collecting made lives for the whole run: move it out of the garbage
    collector's sight, so each full collection stays cheap — IPython's ``reset()``, which the
    shell fixtures call around every test, runs one (the ``shell`` fixture freezes again what
    the shell brought: the fast core took 93 s with neither, 42 s with both)."""
    gc.collect()
    gc.freeze()


def _is_postgresql(item: pytest.Item) -> bool:
    if {"postgres_dsn", "postgres_server"} & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


def _runs_notebooks(item: pytest.Item) -> bool:
    """The test's module uses nbclient (imports it or something from it)."""
    module = getattr(item, "module", None)
    for value in vars(module).values() if module is not None else ():
        name = getattr(value, "__module__", None) or getattr(value, "__name__", "")
        if isinstance(name, str) and name.split(".")[0] == "nbclient":
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    names = {item.nodeid.replace("\\", "/").split("[")[0] for item in items}
    files = {name.split("::")[0] for name in names}
    for stale in sorted(n for n in SLOW - names if n.split("::")[0] in files):
        warnings.warn(f"SLOW names a test that is not there (renamed?): {stale}", stacklevel=1)
    for item in items:
        path = item.nodeid.replace("\\", "/")
        if path.startswith("tests/browser/"):
            item.add_marker(pytest.mark.browser)
        if _is_postgresql(item):
            item.add_marker(pytest.mark.postgresql)
        if _runs_notebooks(item):
            item.add_marker(pytest.mark.notebook)
        if path.split("[")[0] in SLOW or path.split("::")[0] in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
    # Run the browser tests last: Playwright's sync API leaves an event loop running in this
    # thread for the rest of the session, which the server tests' own loop cannot share.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def _missing_dependency_failure(report: Any) -> None:
    """Under --require-all, a skip for a missing dependency becomes a failure."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3 and is_missing_dependency(longrepr[2]):
        report.outcome = "failed"
        report.longrepr = (
            f"{longrepr[2].removeprefix('Skipped: ')}\n--require-all (make test): a missing dependency is a failure, not "
            "a skip: `make install system-deps` provides everything the suite needs"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and item.config.getoption("require_all"):
        _missing_dependency_failure(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    report = yield
    if report.skipped and collector.config.getoption("require_all"):
        _missing_dependency_failure(report)
    return report


@pytest.fixture(autouse=True)
def _spawnable_main() -> Iterator[None]:
    """A test that makes an IPython shell leaves ``sys.modules["__main__"]`` as the shell's
    user module, which has no ``__spec__``; the ``spawn`` start method reads it, so every
    later test starting a process would fail. Give it the ``None`` a script's module has."""
    yield
    main = sys.modules.get("__main__")
    if main is not None and not hasattr(main, "__spec__"):
        main.__spec__ = None


@pytest.fixture(autouse=True)
def activemirror_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's ACTIVEMIRROR_HOME — and its own IPython folder, so no shell or kernel a
    test starts writes history or profiles to the user's (both restored after the test)."""
    home = tmp_path / "activemirror-home"
    monkeypatch.setenv("ACTIVEMIRROR_HOME", str(home))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return home


def _store_options(storage_type: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict:
    if storage_type == "sqlite":
        return {"db_path": tmp_path / "store" / "conversations.db"}
    if storage_type == "json":
        return {"storage_path": tmp_path / "store" / "conversations"}
    if storage_type == "postgresql":
        return {"dsn": request.getfixturevalue("postgres_dsn")}
    return {}


@pytest.fixture(params=STORE_TYPES)
def storage_type(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def mirror_factory(
    storage_type: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ActiveMirror]]:
    """Opens mirrors on one store; a second call reopens the same store (a new process
    would see the same data, except for the memory store, which is shared in-process)."""
    options = _store_options(storage_type, tmp_path, request)
    opened: list[ActiveMirror] = []
    shared: dict[str, Any] = {}

    def make(**kwargs: Any) -> ActiveMirror:
        mirror = ActiveMirror(storage_type, **options, **kwargs)
        if storage_type == "memory":
            # one in-memory store stands for "the same file" across mirrors
            if "store" in shared:
                mirror.store = shared["store"]
            shared.setdefault("store", mirror.store)
        opened.append(mirror)
        return mirror

    yield make
    for mirror in opened:
        mirror.close()


@pytest.fixture
def mirror(mirror_factory: Callable[..., ActiveMirror]) -> ActiveMirror:
    return mirror_factory()
