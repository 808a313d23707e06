"""The dashboard: server-rendered pages whose tables and charts refresh without a reload.

Pages are Jinja2 templates (autoescaped) of the same views the API answers with. Each
table is a *fragment* (``data-fragment`` URL) and each chart a *figure* (``data-figure``
URL, plotly JSON from :mod:`mltrainer.service._figures`); the page's script re-fetches both
every ``refresh_seconds`` or on "Refresh", so a page follows the store as monitoring runs
land. Scripts, styles and plotly.js come from this server (``/static``), nothing from a CDN.
"""

import hashlib
import importlib.resources
import importlib.util
import json
import pathlib
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from mltrainer import __version__
from mltrainer.exceptions import ConfigError, MltrainerError, NotFoundError
from mltrainer.service import _decisions, _figures, _reads, _views
from mltrainer.service._errors import status_of
from mltrainer.service._security import COOKIE, token_matches
from mltrainer.service._state import ServiceState
from mltrainer.service._tuning import study_detail

__all__ = ["pages_router"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Name = Annotated[str, Path(pattern=_NAME, max_length=128)]
_ID = Annotated[str, Path(pattern=r"^[0-9]{1,20}-[0-9]{1,20}$", max_length=41)]
_TOP_DRIFT = 15


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("mltrainer.service", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["tojson_compact"] = lambda v: json.dumps(v, default=str, sort_keys=True)
    env.globals["quote"] = lambda v: quote(str(v), safe="")
    return env


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            f"{value:.{digits}g}"
            if abs(value) < 1e-3 or abs(value) >= 1e5
            else f"{value:.{digits}f}"
        )
    return str(value)


def _swagger_static() -> pathlib.Path:
    """Swagger UI's files as the ``swagger-ui-py`` package ships them (found, not imported)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the API page needs the swagger-ui-py package: pip install 'swagger-ui-py>=25.7'"
        )
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "static"


class _Static:
    """The dashboard's script, style and plotly.js, read once per app, with ETags."""

    def __init__(self) -> None:
        import plotly.offline

        package = importlib.resources.files("mltrainer.service") / "static"
        swagger = _swagger_static()
        self.files: dict[str, tuple[bytes, str]] = {
            "plotly.min.js": (plotly.offline.get_plotlyjs().encode(), "text/javascript"),
            "dashboard.js": ((package / "dashboard.js").read_bytes(), "text/javascript"),
            "dashboard.css": ((package / "dashboard.css").read_bytes(), "text/css"),
            "docs.js": ((package / "docs.js").read_bytes(), "text/javascript"),
            "swagger-ui-bundle.js": (
                (swagger / "swagger-ui-bundle.js").read_bytes(),
                "text/javascript",
            ),
            "swagger-ui.css": ((swagger / "swagger-ui.css").read_bytes(), "text/css"),
        }
        self.etags = {k: hashlib.sha256(v[0]).hexdigest()[:32] for k, v in self.files.items()}

    def response(self, name: str, request: Request) -> Response:
        if name not in self.files:
            raise NotFoundError(f"no static file {name[:60]!r}")
        etag = f'"{self.etags[name]}"'
        headers = {"ETag": etag, "Cache-Control": "public, max-age=3600"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        body, media = self.files[name]
        return Response(body, media_type=media, headers=headers)


def _drift_rows(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not report:
        return []
    columns = (report.get("feature_drift") or {}).get("columns") or {}
    rows = []
    for feature, row in columns.items():
        effect, threshold = row.get("effect"), row.get("effect_threshold")
        ratio = effect / threshold if effect is not None and threshold else None
        rows.append({"feature": feature, "ratio": ratio, **row})
    rows.sort(key=lambda r: -(r["ratio"] if r["ratio"] is not None else -1.0))
    return rows[:_TOP_DRIFT]


def pages_router(state: ServiceState) -> APIRouter:
    """The dashboard routes of one app (pages, fragments, figures, static files, login)."""
    settings = state.settings
    env = _environment()
    static = _Static()
    router = APIRouter(include_in_schema=False)

    def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = env.get_template(template).render(
            refresh=settings.refresh_seconds, mltrainer_version=__version__, **context
        )
        return HTMLResponse(page, status_code=status)

    def failed(exc: MltrainerError) -> HTMLResponse:
        return render(
            "error.html",
            status=status_of(exc),
            title="Not found" if isinstance(exc, NotFoundError) else "Error",
            message=str(exc),
        )

    # -- fragments: (state, name, query) -> template context --------------------------------
    def models_fragment(_: str | None, __: dict[str, str]) -> dict[str, Any]:
        return {"models": _views.overview(state)}

    def summary_fragment(name: str | None, query: dict[str, str]) -> dict[str, Any]:
        assert name is not None
        summary = _views.model_summary(state, name)
        detail = _views.version_detail(state, name, query.get("version"))
        return {"name": name, "summary": summary, "detail": detail}

    def alerts_fragment(name: str | None, _: dict[str, str]) -> dict[str, Any]:
        assert name is not None
        return {"name": name, "alerts": _reads.alerts(state.store, name, limit=20)}

    def drift_fragment(name: str | None, _: dict[str, str]) -> dict[str, Any]:
        assert name is not None
        report = _reads.drift_latest(state.store, name)
        return {"name": name, "report": report, "rows": _drift_rows(report)}

    def decisions_fragment(name: str | None, _: dict[str, str]) -> dict[str, Any]:
        assert name is not None
        records = _decisions.read_decisions(state.store, name, since=None, until=None, limit=20)
        return {
            "name": name,
            "decisions": list(reversed(records)),
            "recorded": True,
        }

    def stream_fragment(name: str | None, _: dict[str, str]) -> dict[str, Any]:
        assert name is not None
        return {"name": name, "stream": _reads.stream_state(state.store, name)}

    def study_fragment(name: str | None, query: dict[str, str]) -> dict[str, Any]:
        assert name is not None
        return {"name": name, "study": study_detail(state, name, query["type"], limit=50)}

    fragments: dict[str, tuple[str, Callable[[str | None, dict[str, str]], dict[str, Any]]]] = {
        "models": ("fragments/models.html", models_fragment),
        "summary": ("fragments/summary.html", summary_fragment),
        "alerts": ("fragments/alerts.html", alerts_fragment),
        "drift": ("fragments/drift.html", drift_fragment),
        "decisions": ("fragments/decisions.html", decisions_fragment),
        "stream": ("fragments/stream.html", stream_fragment),
        "study": ("fragments/study.html", study_fragment),
    }

    def fragment_html(part: str, name: str | None, query: dict[str, str]) -> str:
        template, build = fragments[part]
        return env.get_template(template).render(**build(name, query))

    def fragment_url(part: str, name: str | None = None, **query: Any) -> str:
        base = f"/ui/fragments/{part}" if name is None else f"/ui/models/{name}/fragments/{part}"
        given = {k: v for k, v in query.items() if v is not None}
        return base + (f"?{urlencode(given)}" if given else "")

    def block(part: str, name: str | None = None, **query: Any) -> dict[str, str]:
        given = {k: str(v) for k, v in query.items() if v is not None}
        return {"url": fragment_url(part, name, **given), "html": fragment_html(part, name, given)}

    # -- pages --------------------------------------------------------------------------------
    @router.get("/", response_class=HTMLResponse)
    def overview_page() -> HTMLResponse:
        return render("overview.html", title="Models", blocks={"models": block("models")})

    @router.get("/models/{name}", response_class=HTMLResponse)
    def model_page(
        name: Name,
        version: Annotated[str | None, Query(pattern=_NAME, max_length=64)] = None,
        metric: Annotated[str | None, Query(pattern=_NAME, max_length=128)] = None,
    ) -> HTMLResponse:
        try:
            name = state.model_name(name)
            number = state.version(name, version)
            metrics = _reads.tracked_metrics(state.store, name)
            headline = _views.headline(state.metadata(name, number))
            chosen = (
                metric
                if metric in metrics
                else (
                    headline
                    if headline in metrics
                    else ("roc_auc" if "roc_auc" in metrics else (metrics[0] if metrics else None))
                )
            )
            tuned = [s["model_type"] for s in _reads.tuning_summary(state.store, name)]
            return render(
                "model.html",
                title=name,
                name=name,
                version=number,
                metrics=metrics,
                metric=chosen,
                tuned=tuned,
                blocks={
                    part: block(part, name, version=number if part == "summary" else None)
                    for part in ("summary", "alerts", "drift", "decisions", "stream")
                },
            )
        except MltrainerError as exc:
            return failed(exc)

    @router.get("/models/{name}/decisions/{decision_id}", response_class=HTMLResponse)
    def decision_page(name: Name, decision_id: _ID) -> HTMLResponse:
        try:
            name = state.model_name(name)
            record = _decisions.get_decision(state.store, name, decision_id)
            contributions = dict((str(f), v) for f, v in record.get("contributions") or [])
            inputs = [
                {"feature": f, "value": v, "contribution": contributions.get(f)}
                for f, v in (record.get("features") or {}).items()
            ]
            inputs.sort(key=lambda r: -abs(r["contribution"] or 0.0))
            return render(
                "decision.html",
                title=f"Decision {decision_id}",
                name=name,
                decision_id=decision_id,
                record=record,
                inputs=inputs,
            )
        except MltrainerError as exc:
            return failed(exc)

    @router.get("/models/{name}/tuning", response_class=HTMLResponse)
    def tuning_page(
        name: Name,
        type: Annotated[str | None, Query(pattern=_NAME, max_length=64)] = None,
    ) -> HTMLResponse:
        try:
            name = state.model_name(name)
            studies = [s["model_type"] for s in _reads.tuning_summary(state.store, name)]
            if not studies:
                raise NotFoundError(f"model '{name}' was never tuned: run mltrainer tune")
            chosen = type if type is not None and type in studies else studies[0]
            detail = study_detail(state, name, chosen, limit=50)
            return render(
                "tuning.html",
                title=f"Tuning {name}",
                name=name,
                studies=studies,
                model_type=chosen,
                dashboard=detail["optuna_dashboard"],
                blocks={"study": block("study", name, type=chosen)},
            )
        except MltrainerError as exc:
            return failed(exc)

    # -- fragments and figures ------------------------------------------------------------------
    @router.get("/ui/fragments/{part}", response_class=HTMLResponse)
    def global_fragment(part: Annotated[str, Path(pattern=r"^models$")]) -> HTMLResponse:
        return HTMLResponse(fragment_html(part, None, {}))

    @router.get("/ui/models/{name}/fragments/{part}", response_class=HTMLResponse)
    def model_fragment(
        name: Name,
        part: Annotated[str, Path(pattern=r"^(summary|alerts|drift|decisions|stream|study)$")],
        request: Request,
    ) -> HTMLResponse:
        name = state.model_name(name)
        query = {k: v for k, v in request.query_params.items() if k in ("version", "type")}
        if part == "study" and "type" not in query:
            raise NotFoundError("the study fragment needs ?type=<model type>")
        return HTMLResponse(fragment_html(part, name, query))

    @router.get("/ui/figures/headlines")
    def headline_figure() -> JSONResponse:
        return JSONResponse(_figures.headlines(_views.overview(state)))

    @router.get("/ui/models/{name}/figures/{figure}")
    def model_figure(
        name: Name,
        figure: Annotated[
            str, Path(pattern=r"^(folds|training|metric|drift|alerts|attributions)$")
        ],
        version: Annotated[str | None, Query(pattern=_NAME, max_length=64)] = None,
        metric: Annotated[str | None, Query(pattern=_NAME, max_length=128)] = None,
    ) -> JSONResponse:
        name = state.model_name(name)
        if figure in ("folds", "training"):
            scores = _views.scores(state, name, version)
            out = (
                _figures.fold_scores(scores)
                if figure == "folds"
                else _figures.train_history(scores)
            )
        elif figure == "metric":
            if metric is None or metric not in _reads.tracked_metrics(state.store, name):
                raise NotFoundError(f"model '{name}' has no history of metric {metric!r}")
            history = _reads.metric_history(
                state.store,
                name,
                metric,
                start=None,
                end=None,
                version=None,
                max_points=settings.max_points,
            )
            history["thresholds"] = _views.thresholds(state, name, metric)
            out = _figures.metric_history(history)
        elif figure == "drift":
            out = _figures.drift_heatmap(_reads.drift_history(state.store, name, limit=50))
        elif figure == "alerts":
            out = _figures.alerts_timeline(
                _reads.alerts(state.store, name, limit=settings.max_list)
            )
        else:
            out = _figures.attributions(_views.global_attributions(state, name, version))
        return JSONResponse(out)

    @router.get("/ui/models/{name}/decisions/{decision_id}/figures/{figure}")
    def decision_figure(
        name: Name, decision_id: _ID, figure: Annotated[str, Path(pattern=r"^(waterfall|lime)$")]
    ) -> JSONResponse:
        record = _decisions.get_decision(state.store, state.model_name(name), decision_id)
        out = _figures.waterfall(record) if figure == "waterfall" else _figures.lime_weights(record)
        return JSONResponse(out)

    @router.get("/ui/models/{name}/tuning/{model_type}/figures/{figure}")
    def tuning_figure(
        name: Name,
        model_type: Annotated[str, Path(pattern=_NAME, max_length=64)],
        figure: Annotated[str, Path(pattern=r"^(history|trials|importances)$")],
    ) -> JSONResponse:
        detail = study_detail(state, state.model_name(name), model_type, limit=settings.max_list)
        build = {
            "history": _figures.tuning_history,
            "trials": _figures.trials,
            "importances": _figures.param_importances,
        }[figure]
        return JSONResponse(build(detail))

    @router.get("/docs", response_class=HTMLResponse)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(env.get_template("docs.html").render())

    # -- static files and sign-in -----------------------------------------------------------
    @router.get("/static/{filename}")
    def static_file(filename: Annotated[str, Path(max_length=64)], request: Request) -> Response:
        return static.response(filename, request)

    @router.get("/login", response_class=HTMLResponse)
    def login_page(next: Annotated[str, Query(max_length=512)] = "/") -> HTMLResponse:
        return render(
            "login.html", title="Sign in", next=next if next.startswith("/") else "/", error=None
        )

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body())[:2048].decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        next_ = (form.get("next") or ["/"])[0]
        target = next_ if next_.startswith("/") and not next_.startswith("//") else "/"
        if not token_matches(settings, token):
            return render(
                "login.html", status=401, title="Sign in", next=target, error="wrong token"
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=False, max_age=12 * 3600
        )
        return response

    return router
