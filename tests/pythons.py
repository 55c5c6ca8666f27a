"""Run the fast core of the suite on the oldest and newest Python the package supports
(`make test-pythons`, `make test-pythons PYTHONS="3.10 3.12"`).

    python3 tests/pythons.py 3.10 3.13

For each version: find an interpreter (pyenv's newest 3.X.*, then python3.X on PATH, checked
by running it), make `.venv-3.X` with the package and its test extras (again only when
pyproject.toml changed), and run
`pytest -m "not browser and not postgresql and not slow and not notebook"` in it.

The JupyterLab frontend is not rebuilt for these venvs: when `make install` has built it
(activemirror_jupyter/labextension/), HATCH_JUPYTER_BUILDER_SKIP_NPM=1 tells
hatch-jupyter-builder to skip npm. In a fresh clone without that build the install runs npm
once, like `make install`. Each venv then links that build (`jupyter labextension develop`),
as `make install` does for .venv, so it never serves a copy older than the build.

A version with no interpreter is reported loudly and makes the run fail, as does a failing
test: asking for a version and not testing it would be a silent skip. To test fewer
versions, say so: `make test-pythons PYTHONS=3.10`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAST_CORE = "not browser and not postgresql and not slow and not notebook"
BUILT_FRONTEND = REPO / "activemirror_jupyter" / "labextension" / "package.json"


def version_of(python: str) -> str | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name))


def candidates(version: str) -> list[str]:
    """Places a Python ``version`` may be, best first; each is checked by running it."""
    found: list[str] = []
    pyenv = shutil.which("pyenv") or str(Path.home() / ".pyenv" / "bin" / "pyenv")
    if Path(pyenv).exists():
        latest = subprocess.run([pyenv, "latest", version], capture_output=True, text=True)
        if latest.returncode == 0:
            prefix = subprocess.run(
                [pyenv, "prefix", latest.stdout.strip()], capture_output=True, text=True
            )
            if prefix.returncode == 0:
                found.append(str(Path(prefix.stdout.strip()) / "bin" / "python"))
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installed = (root / "versions").glob(f"{version}.*/bin/python")
    found += [str(p) for p in sorted(installed, key=_version_key, reverse=True)]
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(on_path)
    return found


def find_python(version: str) -> tuple[str | None, list[str]]:
    """(an interpreter that really is ``version``, or None; the places looked at)."""
    looked = candidates(version)
    for python in looked:
        if version_of(python) == version:
            return python, looked
    return None, looked


def run(command: list[str], **kwargs: object) -> int:
    print("+", " ".join(command), flush=True)
    return subprocess.call(command, cwd=REPO, **kwargs)  # type: ignore[arg-type]


def install(python: str, venv: Path) -> bool:
    """Make ``venv`` with the package (editable) and its test extras, unless it is current."""
    stamp = venv / ".installed"
    pyproject = REPO / "pyproject.toml"
    if stamp.exists() and stamp.stat().st_mtime >= pyproject.stat().st_mtime:
        return True
    if not (venv / "bin" / "python").exists() and run([python, "-m", "venv", str(venv)]) != 0:
        return False
    env = dict(os.environ)
    if BUILT_FRONTEND.exists():
        print("frontend already built: HATCH_JUPYTER_BUILDER_SKIP_NPM=1 (no npm)", flush=True)
        env["HATCH_JUPYTER_BUILDER_SKIP_NPM"] = "1"
    else:
        print("frontend not built yet: the install runs npm to build it", flush=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    if run([*pip, "--upgrade", "pip"], env=env) != 0:
        return False
    if run([*pip, "-e", ".[test]"], env=env) != 0:
        return False
    stamp.touch()
    return True


def link_frontend(venv: Path) -> bool:
    """Serve the current build from ``venv`` (a link, not the copy pip installed)."""
    if not BUILT_FRONTEND.exists():
        return True
    env = dict(os.environ, PATH=str(venv / "bin") + os.pathsep + os.environ.get("PATH", ""))
    jupyter = str(venv / "bin" / "jupyter")
    develop = [jupyter, "labextension", "develop", "--overwrite", "."]
    return run(develop, env=env, stdout=subprocess.DEVNULL) == 0


def main(versions: list[str]) -> int:
    results: list[tuple[str, str, str]] = []  # version, interpreter, outcome
    for version in versions:
        print(f"\n=== Python {version} ===", flush=True)
        python, looked = find_python(version)
        if python is None:
            print(f"!!! Python {version} NOT FOUND; looked at: {looked or 'nothing'}", flush=True)
            print(f"!!! install it (e.g. `pyenv install {version}`) to test it", flush=True)
            results.append((version, "-", "NOT FOUND"))
            continue
        venv = REPO / f".venv-{version}"
        if not install(python, venv) or not link_frontend(venv):
            results.append((version, python, "INSTALL FAILED"))
            continue
        started = time.monotonic()
        code = run(
            [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--require-all", "-m", FAST_CORE]
        )  # fmt: skip
        outcome = "passed" if code == 0 else f"FAILED (pytest exit {code})"
        results.append((version, python, f"{outcome} in {time.monotonic() - started:.0f} s"))

    print("\ntest-pythons:")
    for version, python, outcome in results:
        print(f"  Python {version:5} {outcome:28} {python}")
    ok = all(outcome.startswith("passed") for _, _, outcome in results)
    if not ok:
        print("test-pythons FAILED: see above (a missing interpreter counts as a failure)")
    return 0 if ok and results else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["3.10", "3.13"]))
