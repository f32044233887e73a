"""An SMS budget per person, set per role: what goes now, what waits for the daily digest, what not.

A person who gets five messages a day mutes them and then misses the one that matters. So:
- a condition already told to this person (same farm, house and type) is not told again unless
  it got worse, or it had been quiet for `remember` and came back; otherwise it is one line in
  the daily digest;
- technicians and programme staff get warnings as one daily digest SMS; critical alerts go at
  once to everyone the route names, except that programme staff are told at once only of what
  is theirs to act on (a suspected notifiable disease, a regional outbreak): one farm's other
  emergencies are the farmer's and the technician's, and reach staff in the digest;
- farmers get warnings they can act on today at once (the message carries the one action), at
  most `per_day` of them a day; more wait for the digest;
- a digest goes out only when it holds something new: a digest of repeats alone is not sent.

Pure: the caller reads the person's history and the clock and records the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from cloud.alerts.model import (
    HEAT_STRESS,
    HEAT_WAVE,
    HUMIDITY_RANGE,
    REGIONAL_OUTBREAK,
    SUSPECTED_DISEASE,
    TEMPERATURE_BAND,
    TEMPERATURE_CHANGE,
    UNIFORMITY_FALLING,
    WEIGHT_BELOW_CURVE,
    WEIGHT_GAIN_SLOW,
    AlertKey,
    Severity,
)
from cloud.alerts.policy import Audience


class Action(StrEnum):
    SENT = "sent"  # queued in the outbox now
    HELD = "held"  # a line in the next daily digest
    SUPPRESSED = "suppressed"  # no SMS: the console says why


@dataclass(frozen=True)
class RoleBudget:
    immediate: Severity  # this severity and above goes at once (when it is news)
    per_day: int  # most non-critical SMS at once per local day; the rest wait for the digest
    digest_at: time = time(18, 0)  # local: the day's digest, while there is light to act
    critical_types: frozenset[str] | None = None  # criticals told at once; None: every type


DEFAULT_BUDGETS: Mapping[Audience, RoleBudget] = {
    Audience.FARMER: RoleBudget(Severity.WARNING, per_day=2),
    Audience.TECHNICIAN: RoleBudget(Severity.CRITICAL, per_day=0),
    Audience.PROGRAM_STAFF: RoleBudget(Severity.CRITICAL, per_day=0,
                                       critical_types=frozenset({SUSPECTED_DISEASE, REGIONAL_OUTBREAK})),
}
REMEMBER = timedelta(days=3)  # quiet this long, a condition that comes back is news again
# One hot house shows as heat stress, temperature out of band, fast change and humidity: one
# condition to whoever was told. For a technician or programme officer the weather over their
# area is one condition: the first farm's emergency is news, the next farms' are digest lines.
# (Measured on the 30-day demo's first 15 days: technicians 36 -> 7 SMS, programme staff 45 -> 1.)
CLIMATE = frozenset({HEAT_STRESS, TEMPERATURE_BAND, TEMPERATURE_CHANGE, HUMIDITY_RANGE})
# Trends a farmer cannot act on today: they wait for the evening digest unless critical.
TRENDS = frozenset({WEIGHT_BELOW_CURVE, WEIGHT_GAIN_SLOW, UNIFORMITY_FALLING})


def condition(key: AlertKey, role: Audience) -> str:
    """What counts as "the same condition" for a person in this role.

    A heat wave is worse than the summer's heat already told, so for the farmer it is its own
    condition (news, with its action); for a technician or programme officer it is part of the
    weather over their area, which the farmers are told of directly.
    """
    if key.type == HEAT_WAVE and role is not Audience.FARMER:
        return "climate"
    if key.type not in CLIMATE:
        return str(key)
    if role is Audience.FARMER:
        return f"{key.farm}/{key.house or '-'}/climate"
    return "climate"


@dataclass(frozen=True)
class Told:
    """An earlier decision for this person about the same condition."""

    at: datetime
    severity: Severity
    local: bool = False  # the gateway's own modem texted them (the uplink was down)


# A farmer whom the gateway's modem texted about a condition during an outage is not texted the
# same again by the cloud when the link returns (cloud/alerts/gateway_events.py); for this long.
LOCAL_COVERS = timedelta(hours=6)
LOCAL_KEY_PREFIX = "gateway-sms:"  # ledger entries of SMS the gateway sent itself


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    repeat: bool = False  # a line about something this person already knows


def decide(
    role: Audience,
    severity: Severity,
    now: datetime,
    history: Sequence[Told],
    sent_today: int,
    budgets: Mapping[Audience, RoleBudget] = DEFAULT_BUDGETS,
    remember: timedelta = REMEMBER,
    today: bool = True,
    kind: str = "",
) -> Decision:
    """What to do with one notification for one person.

    `history`: this person's earlier decisions about the same condition; `sent_today`: the
    non-critical SMS this person got at once today (local day); `today`: something to act on
    today (a trend is not); `kind`: the alert type.
    """
    budget = budgets[role]
    local = [t for t in history if t.local and now - LOCAL_COVERS <= t.at <= now]
    if local and severity <= max(t.severity for t in local):
        last = max(t.at for t in local)
        return Decision(Action.SUPPRESSED, f"told by the gateway's own SMS at {last:%m-%d %H:%M}", repeat=True)
    recent = [t for t in history if now - remember <= t.at <= now]
    if recent and severity <= max(t.severity for t in recent):
        if role is Audience.FARMER and severity >= Severity.CRITICAL:
            return Decision(Action.SENT, "critical: every critical alert reaches the farmer")
        last = max(t.at for t in recent)
        return Decision(Action.HELD, f"repeat: already told {last:%m-%d %H:%M}", repeat=True)
    worse = bool(recent)
    if severity >= Severity.CRITICAL:
        if budget.critical_types is not None and kind not in budget.critical_types:
            return Decision(Action.HELD, f"critical {kind or 'alert'}: daily digest for {role.value}")
        return Decision(Action.SENT, "critical, worse than told" if worse else "critical")
    if severity < budget.immediate:
        return Decision(Action.HELD, f"{severity.label}: daily digest for {role.value}")
    if not today:
        return Decision(Action.HELD, "a trend, not for today: daily digest")
    if sent_today >= budget.per_day:
        return Decision(Action.HELD, f"over today's budget of {budget.per_day}")
    return Decision(Action.SENT, "worse than told" if worse else "new, to act on today")


def local_day(at: datetime, utc_offset_h: float) -> date:
    return at.astimezone(timezone(timedelta(hours=utc_offset_h))).date()


def digest_cutoff(now: datetime, budget: RoleBudget, utc_offset_h: float) -> datetime:
    """The latest digest time at or before `now`: lines held before it belong to that digest."""
    tz = timezone(timedelta(hours=utc_offset_h))
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), budget.digest_at, tzinfo=tz)
    if at > local:
        at -= timedelta(days=1)
    return at.astimezone(now.tzinfo)


def digest_worth_sending(repeats: Sequence[bool]) -> bool:
    """Only a digest with at least one line the person does not know yet is worth an SMS."""
    return any(not r for r in repeats)
