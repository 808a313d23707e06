"""Real headless Chromium (Debian's, driven by Playwright) loads every page of a running
`mltrainer serve`: no console errors, no request leaves the server, every chart has data
points, links navigate, and pages refresh without a reload when new runs land.

A failed test keeps a screenshot under its pytest tmp dir (the path is printed).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrainer.config import load_config
from mltrainer.data import load_bars
from mltrainer.monitor import monitor

from .conftest import EXPLAIN, Filled, free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    """Skip without Debian's chromium; fail instead under CI's MLTRAINER_REQUIRE_CHROMIUM=1."""
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        reason = "Debian's chromium is not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("MLTRAINER_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"{reason}, but MLTRAINER_REQUIRE_CHROMIUM=1")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page with its console errors, page errors and requests to other hosts recorded."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.errors: list[str] = []
        self.external: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on(
            "request",
            lambda r: None if r.url.startswith((base, "data:")) else self.external.append(r.url),
        )

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    def charts(self) -> dict[str, int]:
        found = self.page.eval_on_selector_all(
            "[data-figure]",
            "els => els.map(e => "
            "[e.dataset.figure, e.dataset.points || '', e.dataset.error || ''])",
        )
        assert all(not error for _, _, error in found), found
        return {url: int(points or 0) for url, points, _ in found}

    def clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.external == [], self.external


@pytest.fixture
def watched(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    def make(base: str) -> Watched:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        made.append(page)
        return Watched(page, base)

    made: list[Any] = []
    yield make
    report = getattr(request.node, "rep_call", None)
    for i, page in enumerate(made):
        if report is not None and report.failed:
            shot = tmp_path / f"failure-{i}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failed page {page.url}: {shot}")
        page.close()


def test_every_page_loads_clean_with_charts(watched: Any, served: str) -> None:
    w = watched(served)
    pages = ["/", "/models/spy", "/models/spy?version=1", "/models/spy/tuning?type=xgboost"]
    for path in pages:
        w.open(path)
        charts = w.charts()
        assert charts, path
        assert all(points > 0 for points in charts.values()), (path, charts)
        w.clean()
    w.page.goto(served + "/docs")
    w.page.wait_for_selector(".opblock", timeout=30_000)
    assert w.page.locator(".opblock").count() >= 15
    w.clean()


def test_navigation(watched: Any, served: str) -> None:
    w = watched(served)
    w.open("/")
    w.page.click("#models a[href='/models/spy']")
    w.page.wait_for_url(f"{served}/models/spy")
    w.page.wait_for_selector("body[data-ready='1']")
    assert w.page.locator("#versions tbody tr").count() == 2
    w.page.click("a[href='/models/spy?version=1']")
    w.page.wait_for_url(f"{served}/models/spy?version=1")
    w.page.wait_for_selector("body[data-ready='1']")
    assert "Version 1" in w.page.inner_text("main")
    w.page.click("a[href='/models/spy/tuning']")
    w.page.wait_for_selector("#verdict")
    w.page.go_back()
    w.page.wait_for_url(f"{served}/models/spy?version=1")
    w.page.click("header a.brand")
    w.page.wait_for_selector("#models")
    w.clean()


def test_metric_choice_redraws_without_reload(watched: Any, served: str) -> None:
    w = watched(served)
    w.open("/models/spy")
    w.page.evaluate("window.__sameDocument = true")
    w.page.select_option("#metric", "drift.max_psi")
    w.page.wait_for_function(
        "() => document.querySelector('#metric-chart .gtitle')"
        "?.textContent.startsWith('drift.max_psi')"
    )
    assert w.page.evaluate("window.__sameDocument") is True
    assert "metric=drift.max_psi" in w.page.url
    w.clean()


def test_pages_follow_new_runs_without_reload(watched: Any, served: str, filled: Filled) -> None:
    w = watched(served)
    w.open("/models/spy")
    w.page.evaluate("window.__sameDocument = true")
    before = w.charts()
    metric = next(url for url in before if "figures/metric" in url)
    alerts_before = w.page.locator("#alerts tbody tr").count()
    config = load_config(str(filled.config))
    monitor("spy", bars=load_bars("sp500"), config=config, timestamp="2018-03-01")
    w.page.click("#refresh-now")
    w.page.wait_for_function(
        f"() => Number(document.querySelector('[data-figure=\"{metric}\"]').dataset.points)"
        f" > {before[metric]}",
        timeout=20_000,
    )
    assert w.page.evaluate("window.__sameDocument") is True  # refreshed, not reloaded
    after = w.charts()
    assert after[metric] == before[metric] + 1
    drift = next(url for url in after if url.endswith("figures/drift"))
    assert after[drift] > before[drift]
    assert w.page.locator("#alerts tbody tr").count() >= alerts_before
    w.clean()


def _fake_decision() -> dict[str, Any]:
    """A record shaped as ``mltrainer.store.DecisionRecord`` (explainability) reads back."""
    return {
        "model": "spy",
        "version": 2,
        "artifact_sha256": "ab" * 32,
        "decision_time": "2018-06-01T20:00:00+00:00",
        "symbol": None,
        "features": {"rsi_14": 61.2, "volatility_20": 0.011, "log_return_5": 0.004},
        "prediction": 1.0,
        "probabilities": {"0": 0.38, "1": 0.62},
        "output": "1",
        "space": "margin",
        "base_value": 0.1,
        "output_value": 0.49,
        "contributions": [["rsi_14", 0.3], ["volatility_20", -0.05], ["log_return_5", 0.14]],
        "n_features": 3,
        "method": "tree",
        "residual": 0.0,
        "reasons": ["every_n=100"],
        "versions": {"mltrainer": "0.1.0"},
        "model_files": {},
        "lime": {"weights": {"rsi_14": 0.2, "log_return_5": 0.1}, "stability": 0.9},
        "decision_id": "1735689600000-0",
        "recorded_at": "2018-06-01T20:00:01+00:00",
    }


@pytest.fixture
def decision_url(filled: Filled, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A decision page: the server's own record when the build explains decisions, else a
    server in this process whose decision reads return a record of the stored shape."""
    if EXPLAIN:
        import httpx

        from .conftest import start_serve, stop

        proc, url = start_serve(filled)
        first = httpx.get(f"{url}/api/models/spy/decisions").json()["decisions"][-1]
        try:
            yield f"{url}/models/spy/decisions/{first['decision_id']}"
        finally:
            stop(proc)
        return
    import uvicorn

    from mltrainer.service import ServiceSettings, _decisions, create_app

    record = _fake_decision()
    monkeypatch.setattr(_decisions, "get_decision", lambda store, name, decision_id: dict(record))
    monkeypatch.setattr(_decisions, "read_decisions", lambda store, name, **kw: [dict(record)])
    app = create_app(filled.store_url, filled.registry, ServiceSettings())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/models/spy/decisions/1735689600000-0"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_decision_page(watched: Any, decision_url: str) -> None:
    base = decision_url.split("/models/")[0]
    w = watched(base)
    w.open(decision_url[len(base) :])
    charts = w.charts()
    assert charts
    assert all(points > 0 for points in charts.values()), charts
    assert w.page.locator("table.t tbody tr").count() >= 3  # the inputs
    w.open("/models/spy")
    w.page.click("#decisions a")
    w.page.wait_for_selector("body[data-ready='1']")
    assert "/decisions/" in w.page.url
    w.clean()
