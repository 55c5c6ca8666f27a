"""Steps the Mirror sidebar and session-view tests share: open the sidebar, search, open a
session, read what the page shows. Each waits for the state it needs with ``expect``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

expect = pytest.importorskip("playwright.sync_api").expect


def _browser_conftest() -> Any:
    """This folder's conftest.py as a module of its own name: ``import conftest`` would get
    whichever test folder's conftest pytest imported last."""
    name = "activemirror_browser_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("conftest.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before running it: its dataclasses look themselves up
        spec.loader.exec_module(module)
    return sys.modules[name]


_conftest = _browser_conftest()
#: For tests that start their own JupyterLab (a broken store, a restart, user settings).
LabPage = _conftest.LabPage
start_jupyter_lab = _conftest.start_jupyter_lab
WAIT_MS = _conftest.WAIT_MS

SIDEBAR_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="activemirror-sidebar"]'


def open_sidebar(lab: Any) -> Any:
    lab.page.click(SIDEBAR_TAB)
    sidebar = lab.page.locator('.am-Sidebar[data-state="ready"]')
    expect(sidebar).to_be_visible()
    return sidebar


def session_item(sidebar: Any, session_id: str) -> Any:
    return sidebar.locator(f'.am-SessionItem[data-session-id="{session_id}"]')


def open_session(lab: Any, session_id: str) -> Any:
    """Click the session in the sidebar; the view once it has loaded."""
    lab.page.locator(
        f'.am-SessionItem[data-session-id="{session_id}"] > .am-SessionItem-row .am-SessionItem-body'
    ).click()
    return session_view(lab, session_id)


def session_view(lab: Any, session_id: str) -> Any:
    view = lab.page.locator(f'.am-SessionView[data-session-id="{session_id}"][data-state="ready"]')
    expect(view).to_be_visible()
    return view


def search(sidebar: Any, text: str) -> Any:
    """Type ``text`` in the search box; the hits list (wait on its contents)."""
    box = sidebar.locator(".am-Search-input")
    box.fill(text)
    return sidebar.locator(".am-HitList")


def record_dialogs(page: Any) -> list[str]:
    """Every alert/confirm/prompt the page tries to show (there should be none)."""
    seen: list[str] = []

    def record(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return seen


def dark_screenshot(lab: Any, name: str) -> None:
    """A screenshot of the page as it is, in the dark theme; the light one is put back."""
    dark_theme(lab)
    try:
        lab.page.wait_for_selector("#jupyterlab-splash", state="detached")
        lab.screenshot(name)
    finally:
        lab.execute("apputils:change-theme", {"theme": "JupyterLab Light"})
        lab.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")


def dark_theme(lab: Any) -> None:
    """Switch JupyterLab to its dark theme and wait until it applies."""
    lab.execute("apputils:change-theme", {"theme": "JupyterLab Dark"})
    lab.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    lab.page.wait_for_function(
        """() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color1').trim()
            .toLowerCase() !== '#ffffff' && getComputedStyle(document.body)
            .getPropertyValue('--jp-layout-color1').trim().toLowerCase() !== 'white'"""
    )
