"""A store and a registry filled as a person fills them: `mltrainer train`, `monitor`,
`tune`, `models promote` and `predict`, run through the CLI on the bundled S&P 500 bars."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from mltrainer.cli import main

#: The API token of the test servers (long enough for the service's check).
TOKEN = "test-token-0123456789abcdef"
MONITOR_TIMES = ("2017-03-01", "2017-06-01", "2017-09-01", "2017-12-01")


@dataclass(frozen=True)
class Filled:
    """Where the filled store and registry are, and the config that filled them."""

    root: Path
    config: Path
    store_url: str
    registry: Path
    optuna: str
    name: str = "spy"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str) -> None:
    code = main(list(args))
    assert code == 0, f"mltrainer {' '.join(args)} exited {code}"


def fill(root: Path) -> Filled:
    """Train two versions, monitor four windows, tune a little, promote, predict."""
    raw = {
        "name": "spy",
        "data": {"source": "sp500", "start": "2012-01-01", "end": "2016-12-31"},
        "model": {"type": "xgboost", "params": {"n_estimators": 30, "max_depth": 3}},
        "cv": {"n_splits": 3},
        "registry": {"root": str(root / "models")},
        "store": {"url": f"sqlite:///{root / 'store.db'}"},
        "tuning": {"storage": f"sqlite:///{root / 'optuna.db'}", "n_trials": 4},
        "monitor": {
            "rules": [
                {
                    "name": "auc-low",
                    "metric": "roc_auc",
                    "op": "below",
                    "threshold": 0.6,
                    "window": 1,
                    "cooldown": "1s",
                },
            ]
        },
    }
    # decision records of every 100th prediction
    raw["explain"] = {"critical": {"every_n": 100, "top_contributions": 8}}
    config = root / "spy.yaml"
    config.write_text(yaml.safe_dump(raw))
    _cli("train", str(config), "--quiet")
    _cli("train", str(config), "--quiet", "--set", "model.params.max_depth=2")
    for stamp in MONITOR_TIMES:
        _cli("monitor", "spy", "--config", str(config), "--data", "sp500", "--timestamp", stamp)
    _cli("tune", str(config), "--trials", "4")
    _cli("models", "--root", str(root / "models"), "promote", "spy", "1")
    _cli(
        "predict",
        "spy",
        "--data",
        "sp500",
        "--root",
        str(root / "models"),
        "--out",
        str(root / "predictions.csv"),
    )
    return Filled(
        root=root,
        config=config,
        store_url=raw["store"]["url"],
        registry=root / "models",
        optuna=raw["tuning"]["storage"],
    )


@pytest.fixture(scope="session")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    """The filled store and registry (one per test process)."""
    return fill(tmp_path_factory.mktemp("filled"))


def wait_healthy(url: str, proc: subprocess.Popen[bytes], *, timeout: float = 60.0) -> None:
    """Wait until ``url/health`` answers 200 (failing at once if the server died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            stop(proc)
            pytest.fail(f"mltrainer serve exited {proc.returncode}: {out[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"mltrainer serve did not answer {url}/health within {timeout} s")


def start_serve(
    filled: Filled, *extra: str, token: str | None = TOKEN
) -> tuple[subprocess.Popen[bytes], str]:
    """`mltrainer serve` in a subprocess on a free port; return it and its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "MLTRAINER_LOG_LEVEL": "warning"}
    env.pop("MLTRAINER_API_TOKEN", None)
    if token is not None:
        env["MLTRAINER_API_TOKEN"] = token
    args = [
        sys.executable,
        "-m",
        "mltrainer.cli",
        "serve",
        "--port",
        str(port),
        "--store",
        filled.store_url,
        "--registry",
        str(filled.registry),
        *extra,
    ]
    proc = subprocess.Popen(
        args, env=env, cwd=filled.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`start_serve`."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="session")
def served(filled: Filled) -> Iterator[str]:
    """`mltrainer serve` over the filled store and registry (refreshing every second)."""
    proc, url = start_serve(filled, "--refresh", "1")
    try:
        yield url
    finally:
        stop(proc)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Keep each phase's report on the test item (the browser tests screenshot failures)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
