"""Property-based requests from the OpenAPI document (schemathesis): the API never answers 5xx.

Bounded so the suite stays quick: a few examples per operation, as the administrator (who
reaches the deepest code) and as a farmer (who mostly meets the scope checks).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import ApiWorld


def test_no_server_errors(api: ApiWorld) -> None:
    schema = schemathesis.openapi.from_dict(api.client.get("/openapi.json").json())
    operations = [op for op in (result.ok() for result in schema.get_all_operations())  # type: ignore[union-attr]
                  if op.path != "/api/v1/alerts/stream"]  # an SSE stream never ends: tested in tests/alerts
    assert len(operations) > 25
    statuses: Counter[int] = Counter()

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_5xx(case: schemathesis.Case) -> None:
            for user in ("admin", "farmer1"):
                kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=api.headers(user))
                response = api.client.request(kwargs["method"], case.formatted_path, **_httpx(kwargs))
                statuses[response.status_code] += 1
                assert response.status_code < 500, (case.method, case.formatted_path, response.text)
                if response.status_code >= 400:
                    assert set(response.json()) == {"error"}, response.text  # the one error shape

        no_5xx()
    # Generated requests got past validation into the handlers, not only 422s.
    assert statuses[200] + statuses[201] > 50 and sum(statuses.values()) > 300, statuses


def _httpx(kwargs: dict[str, Any]) -> dict[str, Any]:
    """requests-style keyword arguments -> httpx TestClient ones."""
    out: dict[str, Any] = {"headers": kwargs.get("headers"), "params": kwargs.get("params"),
                           "cookies": kwargs.get("cookies")}
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    if "data" in kwargs:
        out["data" if isinstance(kwargs["data"], dict) else "content"] = kwargs["data"]
    if "files" in kwargs:
        out["files"] = kwargs["files"]
    return out
