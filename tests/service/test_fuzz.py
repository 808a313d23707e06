"""The OpenAPI schema fuzzed with schemathesis: no request makes the server fail (no 500).

Every operation of ``/openapi.json`` gets a bounded number of generated requests (valid and
invalid parameters and bodies, the token sent so that predict is reached); each answer must
be below 500 and, when it is an error, carry a JSON message.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from mltrainer.service import ServiceSettings, create_app

from .conftest import TOKEN, Filled

EXAMPLES = 15  # per operation: ~20 operations, well under a minute in all


def _checker(operation: Any, seen: dict[str, set[int]]) -> Any:
    """A hypothesis test of one operation: generated requests, none answered >= 500."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
        case.validate_response(response, checks=[not_a_server_error])
        seen.setdefault(operation.label, set()).add(response.status_code)
        if response.status_code >= 400:
            assert response.json()["error"]["message"], response.text

    return check


def test_no_server_errors(filled: Filled) -> None:
    settings_ = ServiceSettings(
        token=TOKEN, max_rows=50, allowed_hosts=("testserver", "localhost", "127.0.0.1")
    )
    app = create_app(filled.store_url, filled.registry, settings_)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    seen: dict[str, set[int]] = {}
    for operation in operations:
        try:
            _checker(operation, seen)()
        except Exception as exc:
            pytest.fail(f"{operation.label}: {exc}")
    assert all(codes for codes in seen.values())
