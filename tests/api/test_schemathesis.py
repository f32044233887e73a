"""Property-based requests from the OpenAPI document (schemathesis): the API never answers 5xx,
whoever asks and whatever they send.

Every operation runs as one user of each role (administrator, technician, programme staff,
farmer), and as the administrator once more with a NUL character appended to every string of
the request. Bounded so the suite stays quick: FUHUIYANG_SCHEMATHESIS_EXAMPLES examples per
operation (default 6; raise it to hunt).

Some generated requests end sessions (logout, a password change, an administrator deactivating
or revoking a user): every case starts with live sessions and active, unlocked users again.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from cloud.api import sessions
from tests.api.conftest import ApiWorld

ROLES = ("admin", "tech1", "staff2", "farmer1")  # one user of each role (tests/api/world.py)
EXAMPLES = int(os.environ.get("FUHUIYANG_SCHEMATHESIS_EXAMPLES", "6"))


def test_no_server_errors(api: ApiWorld) -> None:
    schema = schemathesis.openapi.from_dict(api.client.get("/openapi.json").json())
    operations = [op for op in (result.ok() for result in schema.get_all_operations())  # type: ignore[union-attr]
                  if op.path != "/api/v1/alerts/stream"]  # an SSE stream never ends: tested in tests/alerts
    assert len(operations) > 25
    statuses: Counter[int] = Counter()
    by_role: Counter[str] = Counter()

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_5xx(case: schemathesis.Case) -> None:
            tokens = fresh_sessions(api)
            for user in ROLES:
                statuses[send(api, case, tokens[user])] += 1
                by_role[user] += 1
            # NUL in the body reaches the request models; NUL in the query string the middleware.
            for part in ("json", "data", "params"):
                statuses[send(api, case, tokens["admin"], nul_in=part)] += 1

        no_5xx()
    # Generated requests got past validation into the handlers, not only 422s.
    statuses.pop(0, None)
    assert statuses[200] + statuses[201] > 50 and sum(statuses.values()) > 600, statuses
    assert set(by_role) == set(ROLES)


def send(api: ApiWorld, case: schemathesis.Case, token: str, nul_in: str | None = None) -> int:
    kwargs = _httpx(case.as_transport_kwargs(base_url="http://testserver",
                                             headers={"Authorization": f"Bearer {token}"}))
    path = case.formatted_path
    if nul_in is not None:
        if not kwargs.get(nul_in):
            return 0  # nothing of that kind in this request
        kwargs[nul_in] = with_nul(kwargs[nul_in])
    response = api.client.request(case.method, path, **kwargs)
    assert response.status_code < 500, (case.method, path, kwargs, response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}, response.text  # the one error shape
    return response.status_code


def with_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, dict):
        return {k: with_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_nul(v) for v in value]
    return value


def fresh_sessions(api: ApiWorld) -> dict[str, str]:
    """Live tokens for every role, whatever the previous case did to users and sessions."""
    issuer = api.client.app.state.issuer  # type: ignore[attr-defined]
    with api.db.connect() as conn:
        conn.execute("UPDATE users SET active = true")
        conn.execute("DELETE FROM login_failures")
        rows = conn.execute("SELECT id, username, role FROM users WHERE username = ANY(%s)", (list(ROLES),)).fetchall()
        tokens = {name: sessions.open_session(conn, issuer, uid, role, datetime.now(UTC)) for uid, name, role in rows}
        conn.commit()
    return tokens


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
