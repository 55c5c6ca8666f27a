"""The install a user gets: both extensions enabled, the frontend current with its sources,
and the wheel carrying the built frontend and the switch that enables the server extension."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from dependencies import missing_dependency

from activemirror_jupyter import __version__

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SOURCES = REPO / "labextension"
LABEXT_NAME = "activemirror-jupyter"


def run_jupyter(*args: str) -> str:
    """A `jupyter` command as a user would run it: outside pytest-jupyter's temporary
    Jupyter folders, without colour codes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env["HOME"] = os.environ.get("HOME", "/root")
    env["NO_COLOR"] = "1"
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        [str(BIN / "jupyter"), *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout + result.stderr
    return text.replace("\x1b[32m", "").replace("\x1b[0m", "")


def test_the_server_extension_is_enabled_and_loads():
    out = run_jupyter("server", "extension", "list")
    assert "activemirror_jupyter enabled" in out
    assert f"activemirror_jupyter {__version__} OK" in out


def test_the_labextension_is_enabled_and_ok():
    out = run_jupyter("labextension", "list")
    line = next(line for line in out.splitlines() if LABEXT_NAME in line)
    assert f"v{__version__} enabled OK" in line, out


def installed_labextension() -> Path:
    path = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / LABEXT_NAME
    assert (path / "package.json").exists(), f"{path} missing: run `make install`"
    return path


def test_the_installed_frontend_is_built_from_the_current_sources():
    """JupyterLab serves what was last built: fail (and say how to fix it) when
    labextension/ has changed since."""
    installed = installed_labextension()
    built = json.loads((installed / "package.json").read_text())
    source = json.loads((SOURCES / "package.json").read_text())
    assert built["version"] == source["version"]
    build_time = (installed / "package.json").stat().st_mtime
    inputs = [
        *(SOURCES / "src").glob("*.ts"),
        *(SOURCES / "style").glob("*"),
        *(SOURCES / "schema").glob("*.json"),
        SOURCES / "tsconfig.json",
        SOURCES / "package.json",
    ]
    stale = [str(p.relative_to(REPO)) for p in inputs if p.stat().st_mtime > build_time]
    assert not stale, f"labextension build is older than {stale}: run `make install`"
    remote = [p.name for p in (installed / "static").glob("remoteEntry.*.js")]
    assert len(remote) == 1, remote
    assert json.loads((installed / "install.json").read_text())["packageName"] == (
        "activemirror-jupyter"
    )


def test_the_wheel_ships_the_frontend_and_enables_the_server_extension(tmp_path):
    if not (REPO / "activemirror_jupyter" / "labextension" / "package.json").exists():
        missing_dependency("the built frontend; `make install` builds it")
    pytest.importorskip("hatch_jupyter_builder")
    env = dict(os.environ, HATCH_JUPYTER_BUILDER_SKIP_NPM="1")  # reuse the current build
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        env=env,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("activemirror_jupyter-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = f"activemirror_jupyter-{__version__}.data/data/"
    labext = data + f"share/jupyter/labextensions/{LABEXT_NAME}/"
    assert labext + "package.json" in names
    assert labext + "install.json" in names
    assert any(n.startswith(labext + "static/remoteEntry.") for n in names)
    config = data + "etc/jupyter/jupyter_server_config.d/activemirror_jupyter.json"
    assert config in names
    enabled = json.loads(zipfile.ZipFile(wheel).read(config))
    assert enabled == {"ServerApp": {"jpserver_extensions": {"activemirror_jupyter": True}}}
    assert "activemirror_jupyter/server/handlers.py" in names
    assert not any("node_modules" in n for n in names)


def test_the_extension_hooks_keep_the_package_import_light():
    code = (
        "import sys, activemirror_jupyter as a\n"
        "points = a._jupyter_server_extension_points()\n"
        "paths = a._jupyter_labextension_paths()\n"
        "heavy = [m for m in ('IPython', 'pandas', 'ipywidgets') if m in sys.modules]\n"
        "print(points[0]['module'], paths[0]['dest'], heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["activemirror_jupyter.server", LABEXT_NAME, "[]"]
