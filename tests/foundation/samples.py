"""One valid example of every wire message, for round-trip and fuzz tests."""

from __future__ import annotations

import hashlib
from datetime import date

import protocol as p

T0 = 1_780_000_000_000  # 2026-05-28T20:26:40Z


def tiny_jpeg() -> bytes:
    import cv2
    import numpy as np

    image = np.full((8, 8, 3), 128, dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def samples() -> dict[p.Kind, object]:
    jpeg = tiny_jpeg()
    return {
        p.Kind.TELEMETRY: p.Telemetry(
            gateway_id="gw-001", seq=7, sent_at=T0 + 1000,
            points=[
                p.Reading(ts=T0, sensor="th1", metric=p.Metric.TEMPERATURE_C, value=24.5, house="h1"),
                p.Reading(ts=T0, sensor="nh3", metric=p.Metric.NH3_PPM, value=12.0, quality="suspect"),
            ],
        ),
        p.Kind.WEIGHING: p.Weighing(
            gateway_id="gw-001", seq=8, sent_at=T0, scale="scale1", house="h1",
            weights=[p.Weight(ts=T0, g=1012.5, dwell_s=4.2), p.Weight(ts=T0 + 60_000, g=990.0)],
            summaries=[p.WeighingSummary(
                date=date(2026, 5, 28), house="h1", count=120, mean_g=1005.0, median_g=1001.0,
                sd_g=95.0, cv_pct=9.45, uniformity_pct=78.0, expected_g=1012.0)],
        ),
        p.Kind.FRAME: p.Frame(
            meta=p.FrameMeta(gateway_id="gw-001", seq=9, ts=T0, camera="cam1", house="h1",
                             width=8, height=8, size=len(jpeg), trigger="scene_change",
                             sha256=hashlib.sha256(jpeg).hexdigest()),
            jpeg=jpeg,
        ),
        p.Kind.STATUS: p.GatewayStatus(gateway_id="gw-001", seq=1, ts=T0, state="online", software="0.1.0"),
        p.Kind.HEALTH: p.Health(
            gateway_id="gw-001", seq=10, ts=T0, uptime_s=3600, cpu_pct=3.5, mem_mb=42.0,
            disk_free_mb=900.0, software="0.1.0",
            outbox=p.messages.OutboxState(depth=3, bytes=2048, oldest_age_s=12.5, drops={"frames": 2},
                                          unconfirmed=2, held_from=7),
            sensors=[p.messages.SensorState(sensor="th1", metric=p.Metric.TEMPERATURE_C, state="fault",
                                            faults=["stuck"])],
            cameras=[p.messages.CameraState(camera="cam1", state="ok")],
            clock_offset_s=0.4,
        ),
        p.Kind.ALERT: p.Alert(gateway_id="gw-001", seq=11, ts=T0, house="h1", type="nh3_critical",
                              severity="critical", value=31.0, threshold=25.0, message="NH3 31 ppm",
                              alarm="on", since=T0 - 60_000, sms_to=["+8613800000001"]),
        p.Kind.CONFIG_DESIRED: p.DesiredConfig(gateway_id="gw-001", seq=3, version=3, issued_at=T0,
                                               config={"sampling": {"env_interval_s": 60}}),
        p.Kind.CONFIG_APPLIED: p.AppliedConfig(gateway_id="gw-001", seq=12, ts=T0, version=3,
                                               status="rejected", error="sampling.env_interval_s: must be >= 5"),
        p.Kind.RECEIPT: p.Receipt(gateway_id="gw-001", ts=T0, upto=6, ranges=[(8, 9), (12, 12)]),
        p.Kind.RELEASE_DESIRED: p.ReleaseDesired(
            gateway_id="gw-001", seq=0, rollout_id=3, issued_at=T0,
            release=p.ReleaseManifest(name="fuhuiyang-0.2.0-py3-none-any.whl", version="0.2.0", sha256="ab" * 32,
                                      size=123_456, min_protocol="1.3", created_at=T0),
            signature="c2lnbmF0dXJl", url="/api/v1/gateway/releases/4/bundle"),
        p.Kind.RELEASE_STATE: p.ReleaseState(gateway_id="gw-001", seq=14, ts=T0, rollout_id=3, version="0.2.0",
                                             state="rolled_back", running="0.1.0",
                                             reason="not healthy within 600 s: sensors not read"),
        p.Kind.ALARM_ACK: p.AlarmAck(gateway_id="gw-001", ts=T0, house="h1", types=["nh3_critical"]),
    }


def encoded_samples() -> dict[p.Kind, bytes]:
    return {kind: p.encode(message) for kind, message in samples().items()}  # type: ignore[arg-type]
