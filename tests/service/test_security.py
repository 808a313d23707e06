"""Security: bind address and token, write endpoints, exposed reads, hosts, CORS, headers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from mltrainer.cli import main
from mltrainer.exceptions import ConfigError
from mltrainer.service import ServiceSettings, check_bind, create_app, is_loopback

from .conftest import TOKEN, Filled

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        check_bind(host, None)
    else:
        with pytest.raises(ConfigError, match="set MLTRAINER_API_TOKEN"):
            check_bind(host, None)
        check_bind(host, TOKEN)


def test_serve_refuses_another_address_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.delenv("MLTRAINER_API_TOKEN", raising=False)
    args = [
        "serve",
        "--host",
        "0.0.0.0",
        "--store",
        f"sqlite:///{tmp_path}/s.db",
        "--registry",
        str(tmp_path),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--host 0.0.0.0 exposes the service beyond this machine: set MLTRAINER_API_TOKEN" in err
    assert not (tmp_path / "s.db").exists()  # refused before anything was opened


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="shorter than 16"):
        ServiceSettings(token="short")
    with pytest.raises(ConfigError, match="exposes the API"):
        ServiceSettings(host="0.0.0.0")
    with pytest.raises(ConfigError, match="hard cap"):
        ServiceSettings(max_points=10_001)
    with pytest.raises(ConfigError, match="'\\*' is not allowed"):
        ServiceSettings(cors_origins=("*",))


@pytest.fixture
def exposed(filled: Filled) -> Callable[[], TestClient]:
    def make() -> TestClient:
        settings = ServiceSettings(host="0.0.0.0", token=TOKEN, allowed_hosts=("testserver",))
        return TestClient(create_app(filled.store_url, filled.registry, settings))

    return make


def test_exposed_server_needs_the_token_for_reads(exposed: Callable[[], TestClient]) -> None:
    with exposed() as client:
        assert client.get("/health").status_code == 200  # probes need no token
        refused = client.get("/api/models")
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "Unauthorized"
        assert client.get("/metrics").status_code == 401
        assert client.get("/api/models", headers=AUTH).status_code == 200
        page = client.get("/models/spy", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/models/spy"
        wrong = client.post("/login", data={"token": "nope", "next": "/models/spy"})
        assert wrong.status_code == 401
        assert "wrong token" in wrong.text
        signed = client.post(
            "/login", data={"token": TOKEN, "next": "/models/spy"}, follow_redirects=False
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/models/spy"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert client.get("/models/spy").status_code == 200  # the cookie signs the browser in
        assert client.get("/api/models").status_code == 200


def test_login_never_redirects_elsewhere(exposed: Callable[[], TestClient]) -> None:
    with exposed() as client:
        for target in ("https://evil.example", "//evil.example/x"):
            response = client.post(
                "/login", data={"token": TOKEN, "next": target}, follow_redirects=False
            )
            assert response.headers["location"] == "/"


def test_unknown_host_headers_are_refused(filled: Filled) -> None:
    app = create_app(filled.store_url, filled.registry, ServiceSettings())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/models").status_code == 200
        assert client.get("/api/models", headers={"Host": "attacker.example"}).status_code == 400
        assert client.get("/api/models", headers={"Host": "localhost:8000"}).status_code == 200


def test_no_cors_by_default_and_only_named_origins(filled: Filled) -> None:
    origin = {"Origin": "https://grafana.example.com"}
    app = create_app(filled.store_url, filled.registry, ServiceSettings())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.get("/api/models", headers=origin)
        assert "access-control-allow-origin" not in response.headers
        preflight = client.options(
            "/api/models", headers={**origin, "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in preflight.headers
    settings = ServiceSettings(cors_origins=("https://grafana.example.com",))
    with TestClient(
        create_app(filled.store_url, filled.registry, settings), base_url="http://127.0.0.1"
    ) as client:
        allowed = client.get("/api/models", headers=origin)
        assert allowed.headers["access-control-allow-origin"] == "https://grafana.example.com"
        other = client.get("/api/models", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_security_headers_and_no_external_urls_in_pages(filled: Filled) -> None:
    app = create_app(filled.store_url, filled.registry, ServiceSettings())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for path in (
            "/",
            "/models/spy",
            "/models/spy/tuning",
            "/docs",
            "/login",
            "/ui/models/spy/fragments/summary",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            csp = response.headers["content-security-policy"]
            assert "default-src 'self'" in csp
            assert "script-src 'self'" in csp
            assert response.headers["x-frame-options"] == "DENY"
            external = re.findall(r"(?:src|href|action)\s*=\s*[\"']?(?:https?:)?//", response.text)
            assert external == [], (path, external)
        js = client.get("/static/dashboard.js").text + client.get("/static/docs.js").text
        assert "http" not in js
        assert client.get("/api/models").headers["cache-control"] == "no-store"


def test_request_body_bound_counts_chunked_bodies(filled: Filled) -> None:
    settings = ServiceSettings(token=TOKEN, max_body_bytes=1000)
    app = create_app(filled.store_url, filled.registry, settings)

    def chunks():
        yield b'{"rows": [' + b'{"a": 1.0},' * 200
        yield b'{"a": 1.0}]}'

    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post(
            "/api/models/spy/predict",
            content=chunks(),
            headers={**AUTH, "Content-Type": "application/json"},
        )
    assert response.status_code == 413
