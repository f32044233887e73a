"""The gateway agent loop: sample, weigh, capture, queue in the outbox, drain over MQTT.

Single-threaded apart from the uplink's network thread: every SQLite write and every decision
happens here. `step()` does one bounded round of work, so tests drive it with a manual clock.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from edge.agent_update import RESTART_EXIT_CODE, AgentUpdate
from edge.alarm import LocalAlarm, Report, Text
from edge.config import GatewayConfig
from edge.daybook import DayBook
from edge.health import SensorHealth, SystemProbe
from edge.outbox import PRIORITY_OF_KIND, Outbox, OutboxLimits, Priority
from edge.remote import ConfigStore, evaluate
from edge.rules import AlertSpec, LocalRules
from edge.sampling import Sampler, SensorDriver
from edge.scale_channel import ScaleChannel
from edge.update import Signals
from edge.uplink import Ack, Connected, Disconnected, Inbound, Uplink
from edge.weighing import Weigher
from protocol import (
    AlarmAck,
    Alert,
    AppliedConfig,
    DecodeError,
    FrameMeta,
    GatewayStatus,
    Health,
    Kind,
    Reading,
    Receipt,
    ReleaseState,
    Telemetry,
    Weighing,
    decode,
    encode,
    encode_frame,
    topic_for,
)
from protocol.limits import LIMITS
from protocol.messages import CameraState

log = logging.getLogger(__name__)

OUTPUT_RETRY_S = 10.0  # after the alarm output failed to answer



class Clock(Protocol):
    def now_ms(self) -> int: ...


class ScaleSource(Protocol):
    def read(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...


@dataclass(frozen=True)
class CapturedFrame:
    ts_ms: int
    camera: str
    house: str | None
    width: int
    height: int
    jpeg: bytes
    trigger: str


class FrameSource(Protocol):
    camera_id: str

    def poll(self, now_ms: int) -> list[CapturedFrame]: ...

    def state(self) -> str: ...


class AlarmOutput(Protocol):
    """The relay or buzzer (edge/drivers/alarm_output.py); DriverError when it does not answer."""

    def switch(self, on: bool) -> None: ...

    def button_pressed(self) -> bool: ...


class Modem(Protocol):
    def send_sms(self, phone: str, text: str) -> str: ...


@dataclass
class Devices:
    """What the composition root built from config; the agent never opens devices itself."""

    sensors: dict[str, SensorDriver]
    scale: ScaleSource | None = None
    cameras: list[FrameSource] | None = None
    alarm: AlarmOutput | None = None
    modem: Modem | None = None


def close_devices(devices: Devices) -> None:
    """Release sockets and serial ports of drivers that are being replaced."""
    for dev in [*devices.sensors.values(), devices.scale, *(devices.cameras or []), devices.alarm,
                devices.modem]:
        close = getattr(dev, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:  # a half-dead device must not block the new config
                log.debug("closing %s: %s", dev, exc)


def _report_message(gw: str, seq: int, r: Report, sms_to: list[str]) -> Alert:
    a: AlertSpec = r.spec
    return Alert(gateway_id=gw, seq=seq, ts=a.ts_ms, house=a.house, type=a.type, severity=a.severity,
                 value=a.value, threshold=a.threshold, message=a.message, alarm=r.alarm,
                 since=r.since_ms, sms_to=sms_to)


class Agent:
    def __init__(self, config: GatewayConfig, base_doc: dict[str, Any], clock: Clock, outbox: Outbox,
                 devices: Devices, store: ConfigStore, *, software: str,
                 uplink_factory: Callable[[GatewayConfig], Uplink],
                 rebuild_devices: Callable[[GatewayConfig], Devices] | None = None,
                 mono: Callable[[], float] = time.monotonic, update: AgentUpdate | None = None) -> None:
        self.config = config
        self.base_doc = base_doc
        self.clock = clock
        self.outbox = outbox
        self.devices = devices
        self.store = store
        self.software = software
        self._uplink_factory = uplink_factory
        self._rebuild_devices = rebuild_devices
        self._mono = mono
        self.applied_version, _ = store.load()
        self.health = SensorHealth()
        self.rules = LocalRules(config.rules, config.flock, config.utc_offset_h)
        self.alarm = LocalAlarm(config.alarm)
        self._output_on: bool | None = None  # what the alarm output was last switched to
        self._next_button = 0
        self._output_retry = 0.0  # monotonic time before which the failed output is left alone
        self.sampler = Sampler(self.health, self._on_reading)
        self.probe = SystemProbe(str(config.data_dir))
        self.uplink: Uplink | None = None
        self._inflight: dict[tuple[int, int], int] = {}
        self._points: list[Reading] = []
        self.scale_channel = ScaleChannel(DayBook(config.resolve(Path("weights.db"))))
        self._tokens = 0.0
        self._budget_seen: dict[str, tuple[int, int]] = {}
        self.errors: dict[str, int] = {}
        self._last_mono = mono()
        self._rollback: tuple[GatewayConfig, int, dict[str, Any], float] | None = None
        # Over-the-air updates: what "healthy" means for a new version (edge/update.py).
        self.update = update
        self.exit_code = 0
        self._sensors_read: set[str] = set()
        self._health_inflight: set[tuple[int, int]] = set()
        self.heartbeat_acked = False
        now = clock.now_ms()
        self._next_flush = now + int(config.telemetry_batch_s * 1000)
        self._next_health = now
        self._next_expire = now
        self._apply(config, now)

    # -- configuration ----------------------------------------------------------------------
    def _apply(self, config: GatewayConfig, now_ms: int) -> None:
        old = self.config
        self.config = config
        self.rules.settings = config.rules
        self.rules.flock, self.rules.utc_offset_h = config.flock, config.utc_offset_h
        self.alarm.configure(config.alarm)
        self.outbox.limits = OutboxLimits(
            max_bytes=int(config.outbox.max_mb * 2**20),
            receipt_timeout_s=config.outbox.receipt_timeout_s,
            max_age_s={Priority.ALERT: config.outbox.data_max_age_h * 3600,
                       Priority.TELEMETRY: config.outbox.data_max_age_h * 3600,
                       Priority.WEIGHING: config.outbox.data_max_age_h * 3600,
                       Priority.FRAME: config.outbox.frame_max_age_h * 3600})
        cams = {c.camera_id: c for c in self.devices.cameras or []}
        same_cameras = [c.id for c in config.cameras] == list(cams) and all(
            getattr(cams[c.id], "settings", None) is not None and cams[c.id].settings.source == c.source  # type: ignore[attr-defined]
            for c in config.cameras)
        if self._rebuild_devices is not None and (old is not config) and (
                old.sensors != config.sensors or old.scale != config.scale or old.alarm != config.alarm
                or (old.cameras != config.cameras and not same_cameras)):
            close_devices(self.devices)
            self.devices = self._rebuild_devices(config)
            self._output_on = None  # a new output module: switch it to the state it should be in
        elif same_cameras:
            for c in config.cameras:  # schedule and budget change in place: today's spend is kept
                cams[c.id].settings = c  # type: ignore[attr-defined]
        self.sampler.configure(config.sensors, self.devices.sensors, now_ms)
        self.scale_channel.configure(config)

    def start(self) -> None:
        if self.update is not None and self.uplink is None:
            self.update.on_boot()
        self.uplink = self._uplink_factory(self.config)
        self._set_will()
        self.uplink.start()

    def _set_will(self) -> None:
        assert self.uplink is not None
        seq = self.outbox.allocate_seq()
        msg = GatewayStatus(gateway_id=self.config.gateway_id, seq=seq, ts=self.clock.now_ms(),
                            state="offline", software=self.software, reason="connection lost")
        self.uplink.set_will(topic_for(self.config.gateway_id, Kind.STATUS), encode(msg))

    def shutdown(self) -> None:
        if self.uplink is not None:
            seq = self.outbox.allocate_seq()
            msg = GatewayStatus(gateway_id=self.config.gateway_id, seq=seq, ts=self.clock.now_ms(),
                                state="offline", software=self.software, reason="shutdown")
            self.uplink.stop(final=(topic_for(self.config.gateway_id, Kind.STATUS), encode(msg)))
        self._flush(self.clock.now_ms())
        close_devices(self.devices)
        self.scale_channel.daybook.close()

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event, tick_s: float = 0.2) -> None:
        self.start()
        try:
            while not stop.is_set() and not self.exit_code:
                self.step()
                stop.wait(tick_s)
        finally:
            self.shutdown()

    def step(self) -> None:
        now = self.clock.now_ms()
        self._guard("sensors", lambda: self.sampler.poll(now))
        self._guard("scale", lambda: self._read_scale(now))
        for cam in self.devices.cameras or []:
            self._guard(f"camera {cam.camera_id}", lambda cam=cam: self._poll_camera(cam, now))  # type: ignore[misc]
        if now >= self._next_flush:
            self._flush(now)
            self._next_flush = now + int(self.config.telemetry_batch_s * 1000)
            self._summaries(now)
        if now >= self._next_health:
            self._queue_health(now)
            self._next_health = now + int(self.config.health_interval_s * 1000)
        if now >= self._next_expire:
            self.outbox.expire(now)
            self._next_expire = now + 600_000
        self.pump(now)
        self._guard("alarm", lambda: self._alarm_step(now))
        if self.update is not None:
            self._guard("update", lambda: self._step_update(now))

    def _step_update(self, now_ms: int) -> None:
        assert self.update is not None
        gw = self.config.gateway_id
        while not self.update.reports.empty():
            state, version, rollout, running, reason = self.update.reports.get_nowait()
            fields = {"gateway_id": gw, "ts": now_ms, "rollout_id": rollout, "version": version, "state": state,
                      "running": running or None, "reason": reason}
            self._put(Kind.RELEASE_STATE, lambda seq, f=fields: ReleaseState(seq=seq, **f), now_ms)  # type: ignore[misc]
        sensors = {s.id for s in self.config.sensors}
        connected = self.uplink is not None and self.uplink.connected
        self.update.step(Signals(connected, self.heartbeat_acked, sensors <= self._sensors_read), now_ms)
        if self.update.restart_wanted.is_set() and self.update.reports.empty():
            self._queue_health(now_ms)  # the last word before the restart carries the state
            self.exit_code = RESTART_EXIT_CODE

    def _guard(self, part: str, work: Callable[[], object]) -> None:
        """One misbehaving device or a bug in one part must not stop the others."""
        try:
            work()
        except Exception:
            self.errors[part] = self.errors.get(part, 0) + 1
            if self.errors[part] == 1:
                log.exception("%s failed; the agent carries on (further failures counted)", part)

    def _poll_camera(self, cam: FrameSource, now: int) -> None:
        for frame in cam.poll(now):
            self._queue_frame(frame)
        self._count_budget_drops(cam)

    # -- producers ------------------------------------------------------------------------
    def _put(self, kind: Kind, make: Callable[[int], BaseModel], now_ms: int) -> int | None:
        """Queue a message; one that does not satisfy the wire contract is counted, not sent."""
        gw = self.config.gateway_id
        try:
            return self.outbox.put(kind, topic_for(gw, kind), lambda seq: encode(make(seq)), now_ms)
        except ValueError as exc:  # pydantic ValidationError: e.g. a weight outside the schema
            self.outbox.count_drops(PRIORITY_OF_KIND[kind], 1, 0, "invalid")
            log.error("%s message not queued, it violates the wire contract: %s", kind.value, exc)
            return None

    def _on_reading(self, reading: Reading) -> None:
        self._points.append(reading)
        self._sensors_read.add(reading.sensor)
        gw = self.config.gateway_id
        # A stuck probe or a one-reading spike must not sound the farm's alarm (or open a
        # critical alert): a house does not jump 6 °C or 10 ppm in one reading.
        if reading.quality == "suspect" or self.health.jumped(reading.sensor, reading.metric):
            return self._flush_full(reading.ts)
        for a in self.rules.observe(reading.ts, reading.metric, reading.value, reading.house):
            seq = self._put(Kind.ALERT, lambda seq, a=a: Alert(  # type: ignore[misc]
                gateway_id=gw, seq=seq, ts=a.ts_ms, house=a.house, type=a.type, severity=a.severity,
                value=a.value, threshold=a.threshold, message=a.message), reading.ts)
            self._alarm_do(self.alarm.observe(a, seq), reading.ts)
        self._flush_full(reading.ts)

    def _flush_full(self, ts_ms: int) -> None:
        if len(self._points) >= LIMITS.max_points_per_batch:
            self._flush(ts_ms)

    # -- the local alarm (edge/alarm.py) ------------------------------------------------------
    def _alarm_step(self, now_ms: int) -> None:
        link_up = self.uplink is not None and self.uplink.connected
        self._alarm_do(self.alarm.step(now_ms, link_up, lambda seq: not self.outbox.holds(seq)), now_ms)
        output = self.devices.alarm
        if output is None or self._mono() < self._output_retry:
            return
        from edge.drivers import DriverError

        try:
            if self.alarm.output_on and now_ms >= self._next_button:
                self._next_button = now_ms + 1000
                if output.button_pressed():
                    log.warning("alarm acknowledged with the farm's button")
                    self._alarm_do(self.alarm.acknowledge(now_ms), now_ms)
            want = self.alarm.output_on
            if want != self._output_on:
                output.switch(want)
                self._output_on = want
                log.warning("alarm output switched %s", "on" if want else "off")
        except DriverError as exc:
            # An unplugged module must not stall the loop on Modbus timeouts: try again later.
            self._output_retry = self._mono() + OUTPUT_RETRY_S
            self.errors["alarm output"] = self.errors.get("alarm output", 0) + 1
            log.log(logging.ERROR if self.errors["alarm output"] == 1 else logging.DEBUG,
                    "alarm output: %s (trying again in %.0f s)", exc, OUTPUT_RETRY_S)

    def acknowledge_alarm(self, now_ms: int) -> None:
        """A person silenced the alarm (the farm's button is polled in step)."""
        self._alarm_do(self.alarm.acknowledge(now_ms), now_ms)

    def _alarm_do(self, actions: list[Report | Text], now_ms: int) -> None:
        """Texts first (a report must not claim an SMS the modem failed to send), then reports."""
        failed: set[str] = set()
        for text in [a for a in actions if isinstance(a, Text)]:
            if not self._send_text(text):
                failed.add(text.phone)
                self.alarm.unsent(text)
        gw = self.config.gateway_id
        for r in [a for a in actions if isinstance(a, Report)]:
            sms_to = [p for p in r.sms_to if p not in failed]
            self._put(Kind.ALERT, lambda seq, r=r, s=sms_to: _report_message(gw, seq, r, s), now_ms)  # type: ignore[misc]

    def _send_text(self, text: Text) -> bool:
        from edge.drivers import DriverError

        modem = self.devices.modem
        if modem is None:
            self.errors["modem"] = self.errors.get("modem", 0) + 1
            log.error("alarm SMS not sent: the modem is enabled in the settings but not installed")
            return False
        try:
            ref = modem.send_sms(text.phone, text.text)
        except DriverError as exc:
            self.errors["modem"] = self.errors.get("modem", 0) + 1
            log.error("alarm SMS not sent: %s", exc)
            return False
        log.warning("alarm SMS sent by the gateway's modem (ref %s)", ref or "-")
        return True

    @property
    def weigher(self) -> Weigher | None:
        return self.scale_channel.weigher

    def _read_scale(self, now_ms: int) -> None:
        scale = self.devices.scale
        if scale is None or self.scale_channel.weigher is None:
            return
        from edge.drivers import DriverError

        try:
            ts, raw = scale.read()
        except DriverError as exc:
            log.debug("scale: %s", exc)
            return
        self.scale_channel.feed(ts, raw)
        if len(self.scale_channel.pending) >= LIMITS.max_weights_per_message:
            self._flush(now_ms)

    def _flush(self, now_ms: int) -> None:
        gw = self.config.gateway_id
        if self._points:
            points, self._points = self._points, []
            self._put(Kind.TELEMETRY, lambda seq: Telemetry(gateway_id=gw, seq=seq, sent_at=now_ms,
                                                            points=points), now_ms)
        scale = self.config.scale
        if self.scale_channel.pending and scale is not None:
            weights = self.scale_channel.take_weights()
            self._put(Kind.WEIGHING, lambda seq: Weighing(gateway_id=gw, seq=seq, sent_at=now_ms, scale=scale.id,
                                                          house=scale.house, weights=weights), now_ms)

    def _summaries(self, now_ms: int) -> None:
        """Finished days' weighing summaries, once past summary_hour local time."""
        summaries, days = self.scale_channel.due_summaries(now_ms)
        scale = self.config.scale
        if not summaries or scale is None:
            return
        gw = self.config.gateway_id
        self._put(Kind.WEIGHING, lambda seq: Weighing(gateway_id=gw, seq=seq, sent_at=now_ms, scale=scale.id,
                                                      house=scale.house, summaries=summaries[-31:]), now_ms)
        self.scale_channel.forget(days)

    def _queue_frame(self, f: CapturedFrame) -> None:
        gw = self.config.gateway_id

        def build(seq: int) -> bytes:
            meta = FrameMeta(gateway_id=gw, seq=seq, ts=f.ts_ms, camera=f.camera, house=f.house, width=f.width,
                             height=f.height, size=len(f.jpeg), trigger=f.trigger,
                             sha256=hashlib.sha256(f.jpeg).hexdigest())
            return encode_frame(meta, f.jpeg)

        try:
            self.outbox.put(Kind.FRAME, topic_for(gw, Kind.FRAME), build, f.ts_ms)
        except ValueError as exc:  # larger than the contract allows, or bad dimensions
            self.outbox.count_drops(Priority.FRAME, 1, len(f.jpeg), "invalid")
            log.error("frame from %s not queued: %s", f.camera, exc)

    def _count_budget_drops(self, cam: FrameSource) -> None:
        """Frames the daily budget refused join the outbox's persistent drop counters."""
        stats = getattr(cam, "stats", None)
        if stats is None:
            return
        seen = self._budget_seen.get(cam.camera_id, (0, 0))
        n, size = stats.dropped_budget - seen[0], stats.bytes_dropped - seen[1]
        if n > 0:
            self.outbox.count_drops(Priority.FRAME, n, size, "budget")
        self._budget_seen[cam.camera_id] = (stats.dropped_budget, stats.bytes_dropped)

    def _queue_health(self, now_ms: int) -> None:
        cpu, mem = self.probe.cpu_mem()
        cams = [CameraState(camera=c.camera_id, state=c.state()) for c in self.devices.cameras or []]
        gw = self.config.gateway_id
        state = self.outbox.state(now_ms)
        sensors = self.health.states(now_ms)
        self._put(Kind.HEALTH, lambda seq: Health(
            gateway_id=gw, seq=seq, ts=now_ms, uptime_s=round(self.probe.uptime_s(), 1), cpu_pct=round(cpu, 1),
            mem_mb=round(mem, 1), disk_free_mb=round(self.probe.disk_free_mb(), 1), software=self.software,
            outbox=state, sensors=sensors[:256], cameras=cams[:64]), now_ms)

    # -- uplink ---------------------------------------------------------------------------
    def pump(self, now_ms: int) -> None:
        uplink = self.uplink
        if uplink is None:
            return
        acked: list[int] = []
        while True:
            try:
                ev = uplink.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(ev, Ack):
                row_id = self._inflight.pop((ev.generation, ev.mid), None)
                if row_id is not None and ev.ok:
                    acked.append(row_id)
                    if (ev.generation, ev.mid) in self._health_inflight:
                        self.heartbeat_acked = True
                self._health_inflight.discard((ev.generation, ev.mid))
            elif isinstance(ev, Connected):
                self._on_connected(now_ms)
            elif isinstance(ev, Disconnected):
                self._inflight.clear()  # unacked rows stay in the outbox and go again
            elif isinstance(ev, Inbound):
                self._on_inbound(ev, now_ms)
        self.outbox.ack(acked, now_ms)  # sent: deleted only when a receipt covers it
        self._check_rollback(now_ms)
        if not uplink.connected:
            self._inflight.clear()
            return
        mono = self._mono()
        rate = self.config.outbox.drain_per_s
        self._tokens = min(rate, self._tokens + (mono - self._last_mono) * rate)
        self._last_mono = mono
        free = self.config.mqtt.inflight - len(self._inflight)
        live_since = now_ms - int(self.config.outbox.live_window_s * 1000)
        rows = self.outbox.peek(free, set(self._inflight.values()), live_since_ms=live_since,
                                backlog_limit=int(self._tokens), now_ms=now_ms)
        for row in rows:
            sent = uplink.publish(row.topic, row.payload)
            if sent is None:
                break
            self._inflight[sent] = row.id
            if row.topic.endswith("/health"):
                self._health_inflight.add(sent)
            if row.created_ms < live_since:
                self._tokens -= 1

    def _on_connected(self, now_ms: int) -> None:
        assert self.uplink is not None
        self._inflight.clear()
        gw = self.config.gateway_id
        seq = self.outbox.allocate_seq()
        status = GatewayStatus(gateway_id=gw, seq=seq, ts=now_ms, state="online", software=self.software)
        self.uplink.publish(topic_for(gw, Kind.STATUS), encode(status), retain=True)
        self.uplink.subscribe(topic_for(gw, Kind.CONFIG_DESIRED))
        self.uplink.subscribe(topic_for(gw, Kind.RECEIPT))
        if self.update is not None:
            self.uplink.subscribe(topic_for(gw, Kind.RELEASE_DESIRED))
        self.uplink.subscribe(topic_for(gw, Kind.ALARM_ACK))
        self._set_will()  # the next connection's will carries a fresh seq
        if self._rollback is not None:
            log.warning("uplink works with config v%s", self.applied_version)
            self._rollback = None

    def _on_inbound(self, ev: Inbound, now_ms: int) -> None:
        if ev.topic == topic_for(self.config.gateway_id, Kind.RECEIPT):
            self._on_receipt(ev.payload)
            return
        if ev.topic == topic_for(self.config.gateway_id, Kind.RELEASE_DESIRED):
            if self.update is not None:
                self.update.on_desired(ev.payload)
            return
        if ev.topic == topic_for(self.config.gateway_id, Kind.ALARM_ACK):
            self._on_alarm_ack(ev.payload, now_ms)
            return
        if ev.topic != topic_for(self.config.gateway_id, Kind.CONFIG_DESIRED):
            return
        decision = evaluate(ev.payload, self.base_doc, self.config.gateway_id, self.applied_version)
        if decision.status == "ignored":
            return
        if decision.status == "rejected" or decision.config is None:
            log.warning("remote config v%s rejected: %s", decision.version, decision.error)
            self._report(decision.version, "rejected", decision.error, now_ms)
            return
        previous = (self.config, self.applied_version, self.store.load()[1])
        assert decision.overlay is not None
        self.store.save(decision.version, decision.overlay)
        self.applied_version = decision.version
        mqtt_changed = decision.config.mqtt != self.config.mqtt
        self._apply(decision.config, now_ms)
        log.warning("remote config v%s applied", decision.version)
        self._report(decision.version, "applied", None, now_ms)
        if mqtt_changed:
            self._rollback = (*previous, self._mono() + self.config.mqtt.connect_timeout_s * 6)
            self._restart_uplink()

    def _on_receipt(self, payload: bytes) -> None:
        """The cloud has stored these seqs: only now may they leave the outbox."""
        try:
            receipt: Receipt = decode(Kind.RECEIPT, payload)
        except DecodeError as exc:
            self.errors["receipt"] = self.errors.get("receipt", 0) + 1
            log.warning("ignoring a receipt that does not decode: %s", exc)
            return
        if receipt.gateway_id != self.config.gateway_id:
            self.errors["receipt"] = self.errors.get("receipt", 0) + 1
            log.warning("ignoring a receipt addressed to %s", receipt.gateway_id)
            return
        deleted = self.outbox.confirm(receipt.upto, receipt.ranges)
        log.debug("receipt up to %s (+%s ranges): %s messages confirmed", receipt.upto, len(receipt.ranges),
                  deleted)

    def _on_alarm_ack(self, payload: bytes, now_ms: int) -> None:
        """A person acknowledged the alarm's alert in the app: silence it here too."""
        try:
            ack: AlarmAck = decode(Kind.ALARM_ACK, payload)
        except DecodeError as exc:
            self.errors["alarm_ack"] = self.errors.get("alarm_ack", 0) + 1
            log.warning("ignoring an alarm acknowledgement that does not decode: %s", exc)
            return
        if ack.gateway_id != self.config.gateway_id:
            self.errors["alarm_ack"] = self.errors.get("alarm_ack", 0) + 1
            return
        actions = self.alarm.acknowledge_from_app(now_ms, ack.house, ack.types, ack.ts)
        if actions:
            log.warning("alarm acknowledged in the app")
        self._alarm_do(actions, now_ms)

    def _check_rollback(self, now_ms: int) -> None:
        if self._rollback is None or self._mono() < self._rollback[3]:
            return
        old_config, old_version, old_overlay, _ = self._rollback
        failed = self.applied_version
        log.warning("config v%s lost the uplink; rolling back to v%s", failed, old_version)
        self._rollback = None
        self.store.save(old_version, old_overlay)
        self.applied_version = old_version
        self._apply(old_config, now_ms)
        self._restart_uplink()
        # Keep the failed version as "applied" so the retained desired message is not retried.
        self.applied_version = max(old_version, failed)
        self.store.save(self.applied_version, old_overlay)
        self._report(failed, "rolled_back", "new settings could not reach the broker", now_ms)

    def _restart_uplink(self) -> None:
        if self.uplink is not None:
            self.uplink.stop()
        self._inflight.clear()
        self.start()

    def _report(self, version: int, status: str, error: str | None, now_ms: int) -> None:
        gw = self.config.gateway_id
        self._put(Kind.CONFIG_APPLIED, lambda seq: AppliedConfig(
            gateway_id=gw, seq=seq, ts=now_ms, version=version, status=status,
            error=error), now_ms)
