"""Real headless Chromium (Debian's, driven by Playwright) loads every page of a running
`mltrainer serve`: no console errors, no request leaves the server, every chart has data
points, links navigate, and pages refresh without a reload when new runs land.

A failed test keeps a screenshot under its pytest tmp dir (the path is printed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrainer.config import load_config
from mltrainer.data import load_bars
from mltrainer.monitor import monitor

from .conftest import Filled

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


@pytest.fixture
def decision_url(filled: Filled) -> Iterator[str]:
    """The decision page of a record the filled server's own predictions wrote."""
    import httpx

    from .conftest import start_serve, stop

    proc, url = start_serve(filled)
    first = httpx.get(f"{url}/api/models/spy/decisions").json()["decisions"][-1]
    try:
        yield f"{url}/models/spy/decisions/{first['decision_id']}"
    finally:
        stop(proc)


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
