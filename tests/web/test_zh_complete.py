"""Every page and export in zh-CN says stored identifiers in words: no `heat_stress`, `ok`,
`yellow_feather` or `county` where a person reads. Fails on any untranslated key."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from cloud.words import LABELS
from tests.api import world
from tests.api.conftest import ApiWorld
from tests.web.conftest import browser_login

# An identifier as the code stores it: snake_case, or one of our stored words standing alone.
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
BARE = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, LABELS), key=len, reverse=True)) + r")(?![\w-])")
# Code and machine text a person does not read as prose: a config editor, a JSON history.
SKIP_TAGS = {"script", "style", "textarea", "pre", "code"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip += tag in SKIP_TAGS
        self.parts += [v for k, v in attrs if k in ("alt", "title", "aria-label", "placeholder") and v]

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in SKIP_TAGS

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def untranslated(text: str) -> set[str]:
    return set(SNAKE.findall(text)) | set(BARE.findall(text))


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def test_the_checker_finds_what_it_should() -> None:
    assert untranslated(visible("<h3>heat_stress</h3><p>状态 ok</p><pre>telemetry_batch_s</pre>")) == {
        "heat_stress", "ok"}
    assert not untranslated(visible("<p>网关 gw-f1 · 温度 21 °C</p>"))


@pytest.mark.parametrize("user,paths", [
    ("farmer1", ["/farm", "/login"]),
    ("tech1", ["/console", f"/console/gateways/{world.gateway('f1')}", "/reports", "/reports/c1", "/console/farms",
               "/console/farms/f1"]),
    ("staff2", ["/reports", "/reports/c2"]),
    ("admin", ["/console", "/reports/p", "/console/users"]),
])
def test_every_page_in_zh_cn_is_in_words(web: ApiWorld, user: str, paths: list[str]) -> None:
    c = browser_login(web.client, user)
    for path in paths:
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert 'lang="zh-CN"' in r.text
        assert not untranslated(visible(r.text)), (path, untranslated(visible(r.text)))


def test_exports_in_zh_cn_are_in_words(web: ApiWorld) -> None:
    api, h = web, web.headers("tech1")
    period = {"start": "2026-11-01", "end": "2026-11-29"}
    csv = api.client.get("/api/v1/reports/regions/c1/export", headers=h, params={**period, "format": "csv"})
    assert not untranslated(csv.content.decode("utf-8-sig")), untranslated(csv.content.decode("utf-8-sig"))
    xlsx = api.client.get("/api/v1/reports/regions/c1/export", headers=h, params={**period, "format": "xlsx"})
    wb = load_workbook(io.BytesIO(xlsx.content))
    cells = [str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    text = "\n".join([*wb.sheetnames, *cells])
    assert not untranslated(text), untranslated(text)
