"""The JSON API under ``/api``: read endpoints over the registry and the store, and predict.

Every ``{name}`` is checked against the registry (404 otherwise) before a key is built;
versions are numbers, aliases or ``latest``; list sizes and time ranges are validated
(422 beyond the limits in :class:`~mltrainer.service.ServiceSettings`).
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from mltrainer.exceptions import ConfigError, NotFoundError
from mltrainer.service import _decisions, _reads, _views
from mltrainer.service._metrics import ServiceMetrics
from mltrainer.service._predict import PredictRequest, predict
from mltrainer.service._security import presented_token, token_matches
from mltrainer.service._settings import ServiceSettings
from mltrainer.service._state import ServiceState
from mltrainer.store import valid_name

__all__ = ["api_router"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Name = Annotated[str, Path(pattern=_NAME, max_length=128, description="registered model name")]
Version = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        max_length=64,
        description="version number, alias or 'latest'",
    ),
]
VersionQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        max_length=64,
        description="version number, alias or 'latest' (default: latest)",
    ),
]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and _utc(start) > _utc(end):
        raise ConfigError(f"start {start.isoformat()} is after end {end.isoformat()}")


def api_router(state: ServiceState, metrics: ServiceMetrics) -> APIRouter:
    """The ``/api`` routes of one app."""
    settings: ServiceSettings = state.settings
    router = APIRouter(prefix="/api")
    Limit = Annotated[
        int, Query(ge=1, le=settings.max_list, description=f"at most {settings.max_list}")
    ]

    def need_token(request: Request) -> None:
        """Write endpoints: the server's token, always."""
        from fastapi import HTTPException

        if settings.token is None:
            raise HTTPException(
                403,
                "write endpoints are off: start the server with MLTRAINER_API_TOKEN set and "
                "send Authorization: Bearer <token>",
            )
        if not token_matches(settings, presented_token(request.scope)):
            raise HTTPException(
                401,
                "missing or wrong token: send Authorization: Bearer <MLTRAINER_API_TOKEN>",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def model(name: str) -> str:
        return state.model_name(name)

    @router.get("/models", summary="Registered models with versions, aliases, headline score")
    def list_models() -> dict[str, Any]:
        return {"models": _views.overview(state)}

    @router.get("/models/{name}", summary="One model: versions, aliases, what was recorded")
    def get_model(name: Name) -> dict[str, Any]:
        return _views.model_summary(state, model(name))

    @router.get("/models/{name}/versions", summary="Every version, oldest first")
    def list_versions(name: Name) -> dict[str, Any]:
        name = model(name)
        return {
            "name": name,
            "versions": state.registry.list_versions(name),
            "aliases": state.registry.aliases(name),
        }

    @router.get("/models/{name}/versions/{version}", summary="A version's metadata and lineage")
    def get_version(name: Name, version: Version) -> dict[str, Any]:
        return _views.version_detail(state, model(name), version)

    @router.get("/models/{name}/scores", summary="Out-of-sample fold scores and training runs")
    def get_scores(name: Name, version: VersionQuery = None) -> dict[str, Any]:
        return _views.scores(state, model(name), version)

    @router.get("/models/{name}/attributions", summary="Global attributions of a version")
    def get_attributions(name: Name, version: VersionQuery = None) -> dict[str, Any]:
        return _views.global_attributions(state, model(name), version)

    @router.get("/models/{name}/metrics", summary="Names of the monitored metrics")
    def list_metrics(name: Name) -> dict[str, Any]:
        name = model(name)
        return {"name": name, "metrics": _reads.tracked_metrics(state.store, name)}

    @router.get(
        "/models/{name}/metrics/{metric}",
        summary="Metric history in a time range, downsampled to at most max_points",
    )
    def get_metric(
        name: Name,
        metric: Annotated[str, Path(pattern=_NAME, max_length=128)],
        start: Annotated[datetime | None, Query(description="first time (ISO 8601)")] = None,
        end: Annotated[datetime | None, Query(description="last time (ISO 8601)")] = None,
        version: Annotated[int | None, Query(ge=1, le=10**9)] = None,
        max_points: Annotated[int, Query(ge=1, le=settings.max_points)] = settings.max_points,
    ) -> dict[str, Any]:
        name = model(name)
        valid_name(metric, what="metric name")
        _window(start, end)
        known = _reads.tracked_metrics(state.store, name)
        if metric not in known:
            from mltrainer.exceptions import did_you_mean

            raise NotFoundError(
                f"model '{name}' has no history of metric '{metric}'"
                f"{did_you_mean(metric, known)}; metrics: {', '.join(known) or 'none yet'}"
            )
        out = _reads.metric_history(
            state.store,
            name,
            metric,
            start=start,
            end=end,
            version=version,
            max_points=max_points,
        )
        out["thresholds"] = _views.thresholds(state, name, metric)
        return out

    @router.get("/models/{name}/drift", summary="The latest drift report")
    def get_drift(name: Name) -> dict[str, Any]:
        name = model(name)
        report = _reads.drift_latest(state.store, name)
        if report is None:
            raise NotFoundError(f"model '{name}' has no drift report yet: run mltrainer monitor")
        return report

    @router.get("/models/{name}/drift/history", summary="Per-feature drift of the latest windows")
    def get_drift_history(name: Name, limit: Limit = 50) -> dict[str, Any]:
        name = model(name)
        return {"name": name, "windows": _reads.drift_history(state.store, name, limit=limit)}

    @router.get("/models/{name}/alerts", summary="Alerts, newest first")
    def get_alerts(name: Name, limit: Limit = 100) -> dict[str, Any]:
        name = model(name)
        return {"name": name, "alerts": _reads.alerts(state.store, name, limit=limit)}

    @router.get("/models/{name}/decisions", summary="Critical-decision records, oldest first")
    def get_decisions(
        name: Name,
        since: Annotated[datetime | None, Query(description="first decision time")] = None,
        until: Annotated[datetime | None, Query(description="last decision time")] = None,
        limit: Limit = 100,
    ) -> dict[str, Any]:
        name = model(name)
        _window(since, until)
        records = _decisions.read_decisions(
            state.store, name, since=since, until=until, limit=limit
        )
        return {"name": name, "recorded": True, "decisions": records}

    @router.get("/models/{name}/decisions/{decision_id}", summary="One decision and why")
    def get_decision(
        name: Name,
        decision_id: Annotated[str, Path(pattern=r"^[0-9]{1,20}-[0-9]{1,20}$", max_length=41)],
    ) -> dict[str, Any]:
        return _decisions.get_decision(state.store, model(name), decision_id)

    @router.get("/models/{name}/tuning", summary="Tuning studies: last result, best params")
    def get_tuning(name: Name) -> dict[str, Any]:
        name = model(name)
        return {"name": name, "studies": _reads.tuning_summary(state.store, name)}

    @router.get(
        "/models/{name}/tuning/{model_type}",
        summary="One study: history of results, trials and parameter importances",
    )
    def get_study(
        name: Name,
        model_type: Annotated[str, Path(pattern=_NAME, max_length=64)],
        limit: Limit = 200,
    ) -> dict[str, Any]:
        from mltrainer.service._tuning import study_detail

        return study_detail(state, model(name), model_type, limit=limit)

    @router.get("/models/{name}/stream", summary="Online learner's status, offset, checkpoint")
    def get_stream(name: Name) -> dict[str, Any]:
        name = model(name)
        stream = _reads.stream_state(state.store, name)
        if stream is None:
            raise NotFoundError(f"model '{name}' has no online learner state: run mltrainer stream")
        return stream

    @router.post(
        "/models/{name}/predict",
        summary="Predict from feature rows or bars (needs the API token)",
        dependencies=[Depends(need_token)],
    )
    def post_predict(name: Name, body: Annotated[PredictRequest, Body()]) -> dict[str, Any]:
        out = predict(state, model(name), body)
        metrics.predictions.labels(name).inc(out["n_rows"])
        return out

    return router
