"""`Directory` on users and user_scopes: who hears about a farm or a township.

A farmer hears about the farms in their scope (and the farms they own); technicians and
programme staff about everything under a region in their scope, at any level above the farm.
Users without a phone number or inactive ones get no SMS, nor those whose number the SMS
provider refused (until the number is changed: cloud/db/migrations/0013_sms_templates.sql).
"""

from __future__ import annotations

import psycopg

from cloud.alerts.messages import place_label
from cloud.alerts.model import AlertKey
from cloud.alerts.policy import Audience
from cloud.db.transactions import end_read
from cloud.notify.recipients import Recipient

_QUERY = """
WITH RECURSIVE up(id, parent_id) AS (
    SELECT id, parent_id FROM regions
    WHERE id = coalesce(%(region)s, (SELECT region_id FROM farms WHERE id = %(farm)s))
    UNION ALL
    SELECT r.id, r.parent_id FROM regions r JOIN up ON r.id = up.parent_id)
SELECT DISTINCT u.id, u.phone, u.locale
FROM users u LEFT JOIN user_scopes s ON s.user_id = u.id
WHERE u.role = %(role)s AND u.active AND coalesce(u.phone, '') <> '' AND u.phone_refused_at IS NULL
  AND ((%(farm)s IS NOT NULL AND s.farm_id = %(farm)s)
       OR s.region_id IN (SELECT id FROM up)
       OR u.id = (SELECT owner_user_id FROM farms WHERE id = %(farm)s))
ORDER BY u.id
"""


class PgDirectory:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def recipients(
        self, audience: Audience, farm: str | None, region: str | None
    ) -> list[Recipient]:
        rows = self.conn.execute(
            _QUERY, {"role": audience.value, "farm": farm, "region": region}
        ).fetchall()
        self._end_read()
        return [Recipient(str(uid), phone, audience, lang=locale) for uid, phone, locale in rows]

    def place(self, key: AlertKey, lang: str) -> str:
        """Farm and house as people know them, for message text."""
        if key.farm is None:
            return ""
        row = self.conn.execute(
            """SELECT f.name, h.name FROM farms f LEFT JOIN houses h ON h.id = %s AND h.farm_id = f.id
               WHERE f.id = %s""",
            (key.house, key.farm),
        ).fetchone()
        self._end_read()
        if row is None:
            return place_label(key.farm, key.house, lang)
        farm_name, house_name = row
        return place_label(farm_name, house_name or key.house, lang)

    def region_name(self, region: str) -> str:
        row = self.conn.execute("SELECT name FROM regions WHERE id = %s", (region,)).fetchone()
        self._end_read()
        return region if row is None else str(row[0])

    def _end_read(self) -> None:
        end_read(self.conn)
