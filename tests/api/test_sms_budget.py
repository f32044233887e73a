"""GET /sms-budget: the console's view of the SMS budget, per person and scoped."""

from __future__ import annotations

from datetime import timedelta

from cloud.alerts.model import NH3_HIGH, AlertKey, Severity
from cloud.alerts.policy import Audience
from cloud.notify.budget import Action
from cloud.notify.ledger import BudgetEntry
from cloud.notify.ledger_pg import PgLedger
from tests.api import world
from tests.api.conftest import ApiWorld


def budget_entry(i: int, farm: str, user: int, action: Action, reason: str) -> BudgetEntry:
    key = AlertKey(farm, world.house(farm), NH3_HIGH)
    return BudgetEntry(f"a{i}:farmer:warning:{user}", str(user), "+8613800001234", Audience.FARMER, f"a{i}",
                       str(key), NH3_HIGH, Severity.WARNING, action, reason,
                       world.NOW - timedelta(hours=i), "氨气24ppm", scope=farm)


def test_the_budget_per_person_says_what_was_sent_held_or_suppressed_and_why(api: ApiWorld) -> None:
    farmer1, farmer3 = api.ids["users"]["farmer1"], api.ids["users"]["farmer3"]
    with api.db.connect() as conn:
        ledger = PgLedger(conn)
        ledger.add(budget_entry(1, "f1", farmer1, Action.SENT, "new, to act on today"))
        ledger.add(budget_entry(2, "f1", farmer1, Action.HELD, "repeat: already told 07-09 14:00"))
        ledger.add(budget_entry(3, "f1", farmer1, Action.HELD, "repeat: already told 07-09 14:00"))
        ledger.add(budget_entry(4, "f3", farmer3, Action.SUPPRESSED, "repeat only: no digest SMS"))
        conn.commit()
    r = api.client.get("/api/v1/sms-budget", headers=api.headers("tech1"))
    assert r.status_code == 200, r.text
    people = r.json()
    assert [(p["recipient"], p["sent"], p["held"], p["suppressed"]) for p in people] == [(str(farmer1), 1, 2, 0)]
    assert people[0]["phone"] == "*" * 10 + "1234"  # only the last four digits; tech1 covers f1, not f3
    assert people[0]["why"][0] == {"action": "held", "reason": "repeat: already told 07-09 14:00", "count": 2}
    everyone = api.client.get("/api/v1/sms-budget", headers=api.headers("admin")).json()
    assert {p["recipient"] for p in everyone} == {str(farmer1), str(farmer3)}
    mine = api.client.get("/api/v1/sms-budget", headers=api.headers("farmer3")).json()
    assert [(p["recipient"], p["suppressed"]) for p in mine] == [(str(farmer3), 1)]  # f3 only

