"""Page text in Chinese (default) and English; the choice lives in a cookie."""

from __future__ import annotations

from collections.abc import Callable

from cloud.words import LABELS

LANG_COOKIE = "fhy_lang"
LANGS = ("zh-CN", "en")

TEXT: dict[str, tuple[str, str]] = {  # key: (zh-CN, en)
    "app": ("富慧养", "Fuhuiyang"),
    "tagline": ("小农户家禽监测", "Poultry monitoring for small farms"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误", "Wrong username or password"),
    "locked": ("登录失败次数过多，请稍后再试", "Too many failed logins; try again later"),
    "switch_lang": ("English", "中文"),
    "my_farm": ("我的农场", "My farm"),
    "console": ("技术员控制台", "Technician console"),
    "sms_budget": ("短信预算（近7天）", "SMS budget (last 7 days)"),
    "person": ("接收人", "Person"),
    "farmer": ("农户", "Farmer"),
    "technician": ("技术员", "Technician"),
    "program_staff": ("项目人员", "Programme staff"),
    "role": ("角色", "Role"),
    "sms_total": ("短信条数", "SMS"),
    "sent_now": ("即时发送", "Sent at once"),
    "held_for_digest": ("并入每日摘要", "Held for the digest"),
    "digests": ("条摘要", "digests"),
    "suppressed": ("未发送", "Suppressed"),
    "why": ("原因", "Why"),
    "reports": ("区域报告", "Regional reports"),
    "flock": ("鸡群", "Flock"),
    "today": ("今日鸡群", "Today's flock"),
    "birds_alive": ("存栏", "Birds alive"),
    "age_days": ("日龄", "Age (days)"),
    "mean_weight": ("平均体重", "Mean weight"),
    "standard": ("品种标准", "Breed standard"),
    "deaths_week": ("本周死亡", "Deaths this week"),
    "environment": ("环境", "Environment"),
    "no_data": ("暂无数据", "No data yet"),
    "alerts": ("告警", "Alerts"),
    "no_alerts": ("没有未处理的告警", "No open alerts"),
    "advice": ("建议", "Advice"),
    "acknowledge": ("我知道了", "Acknowledge"),
    "acknowledged": ("已确认", "Acknowledged"),
    "daily_record": ("今日记录", "Today's record"),
    "deaths": ("死亡数", "Deaths"),
    "culls": ("淘汰数", "Culls"),
    "feed_kg": ("饲料 (公斤)", "Feed (kg)"),
    "water_l": ("饮水 (升)", "Water (litres)"),
    "eggs": ("产蛋数", "Eggs"),
    "day": ("日期", "Day"),
    "save": ("保存", "Save"),
    "saved": ("已保存", "Saved"),
    "dead_photos": ("疑似死鸡照片", "Possible dead birds"),
    "confirm_dead": ("是死鸡", "Yes, dead"),
    "reject_dead": ("不是", "No"),
    "no_photos": ("没有待确认的照片", "No photos to confirm"),
    "gateways": ("网关", "Gateways"),
    "last_seen": ("最后在线", "Last seen"),
    "outbox": ("待发消息", "Outbox"),
    "outbox_age": ("最早待发 (秒)", "Oldest (s)"),
    "sensor_faults": ("传感器故障", "Sensor faults"),
    "cameras": ("摄像头", "Cameras"),
    "software": ("软件版本", "Software"),
    "status": ("状态", "Status"),
    "sensors": ("传感器", "Sensors"),
    "config": ("远程配置", "Remote config"),
    "config_help": ("JSON 格式；推送前先检查", "JSON; it is checked before it is pushed"),
    "check": ("检查", "Check"),
    "push": ("推送", "Push"),
    "valid": ("配置有效", "The config is valid"),
    "invalid": ("配置无效", "The config is not valid"),
    "changes": ("变更", "Changes"),
    "history": ("历史版本", "History"),
    "version": ("版本", "Version"),
    "pushed": ("已推送版本", "Pushed version"),
    "charts": ("传感器曲线 (48 小时)", "Sensor charts (48 hours)"),
    "period": ("时间段", "Period"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "show": ("查看", "Show"),
    "download": ("下载", "Download"),
    "print": ("打印 PDF", "Printable PDF"),
    "coverage": ("覆盖", "Coverage"),
    "mortality": ("死亡率", "Mortality"),
    "daily_mortality": ("每日死亡率 (%) 与预期", "Daily mortality (%) against expected"),
    "expected": ("预期", "Expected"),
    "weekly_mortality": ("每周死亡率", "Weekly mortality"),
    "week_from": ("周起始日", "Week from"),
    "alerts_by_type": ("告警类型与级别", "Alerts by type and severity"),
    "count": ("数量", "Count"),
    "type": ("类型", "Type"),
    "severity": ("级别", "Severity"),
    "total": ("合计", "Total"),
    "forbidden": ("您没有权限查看此页面", "You may not see this page"),
    "not_found": ("找不到该页面", "Page not found"),
    "error": ("出错了", "Something went wrong"),
    "new_alerts": ("有新告警，点击刷新", "New alerts: tap to refresh"),
    "back": ("返回", "Back"),
    "invalid_input": ("填写有误", "Please check what you entered"),
    "record_for_day": ("记录日期", "Record for"),
    "open_day": ("打开", "Open"),
    "desired_version": ("期望配置", "Desired config"),
    "no_answer_yet": ("网关尚未回复", "No answer from the gateway yet"),
    "gateway_answer": ("网关回复", "Gateway's answer"),
    "waiting_for_gateway": ("等待网关应用新配置…", "waiting for the gateway to apply it…"),
    "setting": ("设置项", "Setting"),
    "applied_value": ("网关当前", "On the gateway"),
    "desired_value": ("要设置为", "Set to"),
    "gateway_default": ("保持默认", "Gateway default"),
    "advanced_json": ("高级：设备列表等（JSON）", "Advanced: devices and more (JSON)"),
    "true": ("是", "Yes"),
    "false": ("否", "No"),
    "platform": ("平台秤", "Platform scale"),
    "hanging": ("吊秤", "Hanging scale"),
    "next": ("下一页", "Next"),
    "previous": ("上一页", "Previous"),
    "full_frame": ("查看整幅画面", "See the whole frame"),
    "choose_farm": ("选择农场", "Choose a farm"),
    "comfort_ok": ("适宜", "Comfortable"),
    "comfort_warn": ("注意", "Watch"),
    "comfort_bad": ("超标", "Out of range"),
    "open": ("未处理", "Open"),
    "online": ("在线", "Online"),
    "offline": ("离线", "Offline"),
    "never_seen": ("未上线", "Never seen"),
    "read_only": ("只读", "Read only"),
    "register_gateway": ("注册新网关", "Register a gateway"),
    "gateway_id_optional": ("网关编号（可不填，自动生成）", "Gateway id (optional, generated if empty)"),
    "register": ("注册", "Register"),
    "credentials": ("网关凭据", "Gateway credentials"),
    "shown_once": ("密码只显示这一次，请立即记下或扫码", "The password is shown only once: note it or scan the code now"),
    "download_yaml": ("下载 gateway.yaml", "Download gateway.yaml"),
    "qr_essentials": ("扫码获取网关编号、密码和服务器", "Scan for the gateway id, password and broker"),
    "temperature_c": ("温度", "Temperature"),
    "humidity_pct": ("湿度", "Humidity"),
    "nh3_ppm": ("氨气", "Ammonia"),
    "co2_ppm": ("二氧化碳", "CO₂"),
    "light_lux": ("光照", "Light"),
}


for _key, _pair in LABELS.items():  # the stored identifiers' words, on every page
    TEXT.setdefault(_key, _pair)


def translator(lang: str) -> Callable[[str], str]:
    index = 0 if lang != "en" else 1

    def t(key: str) -> str:
        pair = TEXT.get(key)
        return key if pair is None else pair[index]

    return t


def pick(cookie: str | None, user_locale: str | None = None) -> str:
    if cookie in LANGS:
        return str(cookie)
    return user_locale if user_locale in LANGS else "zh-CN"
