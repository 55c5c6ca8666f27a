"""Run the whole suite several times beside a CPU hog, to catch tests that flake on a loaded
machine (`make test-stress`, `make test-stress RUNS=3`).

    python tests/stress.py [--runs N] [-- extra pytest arguments]

One busy process per core spins for the whole time; this script starts them and kills them
at the end, also on Ctrl-C, SIGTERM or a failure (and each one stops by itself if this script
dies without cleaning up). Each run's full output goes to test-artifacts/stress/run-K.log.
Prints every run's result, wall time and failed tests, then how many runs passed and the
total time. Exits 0 only if every run passed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO / "test-artifacts" / "stress"
# Spins until its parent (this script) is gone, so no hog outlives an aborted stress run.
HOG = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    pass\n"


def start_hogs() -> list[subprocess.Popen[bytes]]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(cores or 1)]


def stop_hogs(hogs: list[subprocess.Popen[bytes]]) -> None:
    for hog in hogs:
        hog.kill()
    for hog in hogs:
        hog.wait()


def failed_tests(output: str) -> list[str]:
    """The ids of the tests that failed or errored, from pytest's short summary (-rfE)."""
    failed = []
    for line in output.splitlines():
        outcome, _, rest = line.partition(" ")
        if outcome in ("FAILED", "ERROR") and rest:
            failed.append(rest.split(" - ")[0])
    return failed


class Interrupted(KeyboardInterrupt):
    """SIGTERM: unwind like Ctrl-C, so the hogs are stopped."""


def on_sigterm(signum: int, frame: object) -> None:
    raise Interrupted


def run_suite(number: int, pytest_args: list[str]) -> tuple[bool, float, list[str], str]:
    """One full run: (passed, seconds, failed tests, pytest's last summary line)."""
    log = LOGS / f"run-{number}.log"
    command = [sys.executable, "-m", "pytest", "--require-all", "-rfE"]
    started = time.monotonic()
    with log.open("w") as out:
        pytest = subprocess.Popen([*command, *pytest_args], cwd=REPO, stdout=out, stderr=out)
        try:
            code = pytest.wait()
        except KeyboardInterrupt as stop:
            # Ctrl-C reached pytest too; SIGTERM did not: pass it on as Ctrl-C. Either way
            # pytest tears its fixtures down (servers, PostgreSQL) before it exits.
            if isinstance(stop, Interrupted):
                pytest.send_signal(signal.SIGINT)
            try:
                pytest.wait(timeout=120)
            except subprocess.TimeoutExpired:
                pytest.kill()
                pytest.wait()
            raise
    seconds = time.monotonic() - started
    output = log.read_text(errors="replace")
    lines = [line for line in output.splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else "no output"
    failed = failed_tests(output)
    if code != 0 and not failed:
        failed = [f"pytest exited with {code} without naming a failed test (see {log})"]
    return code == 0, seconds, failed, summary


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="how many full runs (default 5)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)

    signal.signal(signal.SIGTERM, on_sigterm)
    hogs = start_hogs()
    print(f"stress: {args.runs} runs of the suite beside {len(hogs)} busy processes", flush=True)
    results = []
    started = time.monotonic()
    try:
        for number in range(1, args.runs + 1):
            passed, seconds, failed, summary = run_suite(number, args.pytest_args)
            results.append((number, passed, seconds, failed))
            verdict = "passed" if passed else "FAILED"
            print(f"run {number}/{args.runs}: {verdict} in {minutes(seconds)} — {summary}")
            for test in failed:
                print(f"    failed: {test}")
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("stress: interrupted", flush=True)
    finally:
        stop_hogs(hogs)
    total = time.monotonic() - started

    passed_runs = sum(1 for _, passed, _, _ in results if passed)
    print(f"\nstress: {passed_runs}/{args.runs} runs passed, {minutes(total)} in total")
    for number, passed, seconds, failed in results:
        failures = ", ".join(failed) if failed else "no failures"
        print(f"  run {number}: {'passed' if passed else 'FAILED'}  {minutes(seconds)}  {failures}")
    print(f"logs: {LOGS.relative_to(REPO)}/run-K.log")
    return 0 if passed_runs == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
