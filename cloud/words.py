"""The words for values the system stores as identifiers, in zh-CN and English.

Alert types, breeds, sensor and camera states, roles and region levels are kept as short
English identifiers; people never see those. Pages (cloud/web/i18n.py) and exports
(cloud/reports/export.py) both say them through this table.
"""

from __future__ import annotations

# The words for values the system stores as identifiers: alert types, breeds, states, roles.
LABELS: dict[str, tuple[str, str]] = {
    # alert types (cloud/alerts/model.py)
    "mortality": ("死亡偏多", "High mortality"),
    "suspected_notifiable_disease": ("疑似重大疫病", "Suspected notifiable disease"),
    "egg_drop": ("产蛋下降", "Egg drop"),
    "water_drop": ("饮水减少", "Water drop"),
    "water_flat": ("饮水不增", "Water not rising"),
    "water_surge": ("饮水突增", "Water surge"),
    "weight_below_curve": ("体重低于标准", "Weight below standard"),
    "weight_gain_slow": ("增重变慢", "Slow weight gain"),
    "uniformity_falling": ("均匀度下降", "Uniformity falling"),
    "temperature_out_of_band": ("温度不适宜", "Temperature out of range"),
    "temperature_fast_change": ("温度变化过快", "Temperature changing fast"),
    "heat_stress": ("热应激", "Heat stress"),
    "nh3_high": ("氨气偏高", "Ammonia high"),
    "co2_high": ("二氧化碳偏高", "CO₂ high"),
    "humidity_out_of_range": ("湿度不适宜", "Humidity out of range"),
    "gateway_offline": ("网关离线", "Gateway offline"),
    "sensor_fault": ("传感器故障", "Sensor fault"),
    "camera_blind": ("摄像头看不见", "Camera blind"),
    "outbox_backlog": ("数据积压", "Data backlog"),
    "clock_skew": ("网关时钟不准", "Gateway clock wrong"),
    "sensor_drift": ("传感器漂移", "Sensor drift"),
    "regional_outbreak": ("区域疫情", "Regional outbreak"),
    "dead_bird": ("发现死鸡", "Dead bird seen"),
    "record_suspect": ("记录可能有误", "Record looks wrong"),
    # breeds (farming/growth.py)
    "ross308": ("罗斯308", "Ross 308"),
    "cobb500": ("科宝500", "Cobb 500"),
    "yellow_feather": ("黄羽肉鸡", "Yellow-feather broiler"),
    "local_xiushan": ("秀山土鸡", "Xiushan local chicken"),
    "hyline_brown": ("海兰褐蛋鸡", "Hy-Line Brown layer"),
    # sensor and camera states and faults (protocol/messages.py)
    "ok": ("正常", "OK"),
    "fault": ("故障", "Fault"),
    "missing": ("无数据", "Missing"),
    "blind": ("看不见", "Blind"),
    "stuck": ("读数卡住", "Stuck"),
    "flatline": ("读数不变", "Flat"),
    "out_of_range": ("超出量程", "Out of range"),
    "spike": ("跳变", "Spikes"),
    "drift": ("漂移", "Drift"),
    # alert and message states
    "acknowledged": ("已确认", "Acknowledged"),
    "resolved": ("已解除", "Resolved"),
    "pending": ("待发送", "Pending"),
    "sending": ("发送中", "Sending"),
    "sent": ("已发送", "Sent"),
    "delivered": ("已送达", "Delivered"),
    "failed": ("发送失败", "Failed"),
    "suppressed": ("未发送", "Not sent"),
    # a gateway's answer to a pushed config (protocol/messages.py)
    "applied": ("已生效", "Applied"),
    "rejected": ("被拒绝", "Refused"),
    "rolled_back": ("已回退", "Rolled back"),
    "camera": ("摄像头", "Camera"),
    # alert severities
    "info": ("提示", "Info"),
    "warning": ("警告", "Warning"),
    "critical": ("严重", "Critical"),
    "farm": ("农场", "Farm"),
    # roles
    "farmer": ("养殖户", "Farmer"),
    "technician": ("技术员", "Technician"),
    "program_staff": ("项目人员", "Programme staff"),
    "admin": ("管理员", "Administrator"),
    # region levels
    "province": ("省", "Province"),
    "county": ("县", "County"),
    "township": ("乡镇", "Township"),
    "village": ("村", "Village"),
}


def word(key: str, lang: str) -> str:
    """`key` in `lang`; an identifier without a word stays as it is (and the zh-CN page test fails)."""
    pair = LABELS.get(key)
    return key if pair is None else pair[0 if lang == "zh-CN" else 1]
