"""A small knowledge base of raising techniques: one practical line per alert type (and rule).

Kept short on purpose: it rides in an SMS to a basic phone. Keys are the alert type, or
"type:rule" where the right advice depends on the direction (too cold vs too hot).
"""

from __future__ import annotations

from cloud.alerts import model as m

ADVICE: dict[str, tuple[str, str]] = {
    m.MORTALITY: (
        "捡出死鸡深埋或无害化处理，记下数量，联系技术员剖检。",
        "Remove and bury dead birds, count them, call your technician.",
    ),
    m.SUSPECTED_DISEASE: (
        "立即隔离鸡群，禁止移动和出售鸡只，马上报告乡镇兽医站。",
        "Isolate the flock, do not move or sell birds, call the vet station now.",
    ),
    m.EGG_DROP: (
        "检查饮水、饲料和光照，留意咳嗽、肿头等症状。",
        "Check water, feed and lighting; look for coughing or swollen heads.",
    ),
    m.WATER_DROP: (
        "先查水线水箱是否堵塞断水，再看鸡群精神和采食。",
        "Check lines and tank for blockage first, then watch the birds.",
    ),
    m.WATER_FLAT: (
        "检查饮水器高度和水压，观察鸡群是否精神差、吃料少。",
        "Check drinker height and pressure; watch for dull birds eating less.",
    ),
    m.WATER_SURGE: (
        "检查水线和乳头是否漏水，垫料是否潮湿。",
        "Check lines and nipples for leaks and wet litter.",
    ),
    m.WEIGHT_BELOW_CURVE: (
        "检查饲料质量和料位是否够，弱小鸡挑出分群饲养。",
        "Check feed quality and feeder space; pen small birds separately.",
    ),
    m.WEIGHT_GAIN_SLOW: (
        "增重变慢常是发病或断料前兆，查采食、饮水和粪便。",
        "Slow gain often comes before disease: check feed, water, droppings.",
    ),
    m.UNIFORMITY_FALLING: (
        "大小不齐：分群饲养，增加料位，挑出病弱鸡。",
        "Uneven flock: split by size, add feeder space, pick out weak birds.",
    ),
    f"{m.TEMPERATURE_BAND}:too_cold": (
        "偏冷：关小通风口并加温，防止鸡群扎堆压死。",
        "Too cold: close vents, add heat, stop birds piling up.",
    ),
    f"{m.TEMPERATURE_BAND}:too_hot": (
        "偏热：加强通风，供足凉水，中午少喂料。",
        "Too hot: ventilate more, give cool water, feed less at midday.",
    ),
    m.TEMPERATURE_CHANGE: (
        "温度骤变易引发呼吸道病：调整通风，避免冷风直吹鸡群。",
        "Sudden change brings respiratory disease: avoid drafts on birds.",
    ),
    m.HEAT_STRESS: (
        "开风机湿帘，供凉水加电解多维，降低密度。",
        "Run fans and cooling pads, give cool water with electrolytes.",
    ),
    m.HEAT_WAVE: (
        "比鸡群近一周热得多：全开风机窗帘，供凉水加电解多维，中午停喂。",
        "Far hotter than the birds are used to: open everything, cool water, no midday feed.",
    ),
    m.NH3_HIGH: (
        "氨气超标：加强通风，清除湿粪和结块垫料。",
        "Ammonia high: ventilate, remove wet manure and caked litter.",
    ),
    m.CO2_HIGH: (
        "通风不足：开风机或窗户换气，兼顾保温。",
        "Poor ventilation: run fans or open windows, keep birds warm.",
    ),
    f"{m.HUMIDITY_RANGE}:humidity_low": (
        "偏干：地面洒水或加湿，减少粉尘。",
        "Too dry: sprinkle the floor or humidify to cut dust.",
    ),
    f"{m.HUMIDITY_RANGE}:humidity_high": (
        "偏湿：加强通风，更换潮湿垫料，查漏水。",
        "Too damp: ventilate, replace wet litter, look for leaks.",
    ),
    m.GATEWAY_OFFLINE: (
        "请检查网关电源和网络，技术员已收到通知。",
        "Check the gateway power and network; the technician is told.",
    ),
    m.SENSOR_FAULT: (
        "检查传感器接线，擦去灰尘和鸡粪。",
        "Check sensor wiring and wipe off dust and droppings.",
    ),
    m.SENSOR_DRIFT: (
        "用检测管或手持仪核对氨气；读数属实则检查垫料是否潮湿。",
        "Check ammonia with a test tube or handheld meter; if real, check for wet litter.",
    ),
    m.CAMERA_BLIND: (
        "擦拭镜头，检查是否被遮挡或光线不足。",
        "Wipe the lens; check it is not blocked or too dark.",
    ),
    m.OUTBOX_BACKLOG: (
        "网关上传受阻：检查网络信号和流量卡。",
        "Uploads are stuck: check signal and the SIM data plan.",
    ),
    m.CLOCK_SKEW: (
        "网关时间不准：检查网络授时设置。",
        "Gateway clock is off: check its time sync settings.",
    ),
    m.DEAD_BIRD: (
        "尽快捡出死鸡，在应用里看照片并确认是否死鸡。",
        "Remove the bird and confirm the photo in the app.",
    ),
    f"{m.DEAD_BIRD}:doubted_camera": (
        "此摄像头近来常误报：请在应用里看照片确认是否死鸡，技术员会来调整。",
        "This camera often misreports: check the photo in the app; your technician will adjust it.",
    ),
    m.RECORD_SUSPECT: (
        "请核对后在应用里改正，此数不计入预警。",
        "Please check and correct it in the app; it is left out of alerts.",
    ),
    m.REGIONAL_OUTBREAK: (
        "组织排查周边养殖场，暂停活禽调运，按规定采样送检。",
        "Check nearby farms, stop live bird movement, sample for testing.",
    ),
}


def advice_for(kind: str, rule: str | None, lang: str) -> str:
    """The advice line for an alert type in `lang` ("zh-CN" or "en"); "" when none is known."""
    entry = ADVICE.get(f"{kind}:{rule}") or ADVICE.get(kind)
    if entry is None:
        return ""
    return entry[1] if lang.startswith("en") else entry[0]
