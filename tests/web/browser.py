"""A live server for the app and Debian's Chromium driven by Playwright (no browser downloads)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: Any, lifespan: str = "off") -> Iterator[str]:
    """Serve an app on a free port: by default one whose lifespan already ran (the pool is open);
    with lifespan="on" the server runs it, so its background tasks live on the serving loop."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.02)  # waiting for a socket to listen, not timing behaviour
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


# Basic accessibility checks run in the page: labels, headings, language, image text,
# text contrast (WCAG 2 formula, AA thresholds), touch target size and horizontal overflow.
A11Y_JS = r"""
() => {
  const problems = [];
  const lum = (rgb) => {
    const c = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const parse = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(x => parseFloat(x)); return {rgb: p.slice(0, 3), a: p.length > 3 ? p[3] : 1}; };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c.rgb;
    }
    return [255, 255, 255];
  };
  if (!document.documentElement.lang) problems.push('html has no lang');
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push('expected one h1, found ' + h1);
  let last = 0;
  for (const h of document.querySelectorAll('h1,h2,h3,h4,h5,h6')) {
    const level = Number(h.tagName[1]);
    if (last && level > last + 1) problems.push('heading level skips: ' + h.tagName + ' ' + h.textContent.trim());
    last = level;
  }
  for (const el of document.querySelectorAll('input:not([type=hidden]),select,textarea')) {
    const labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.getAttribute('aria-label')
      || el.closest('label');
    if (!labelled) problems.push('unlabelled ' + el.tagName + ' ' + (el.name || ''));
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('img without alt');
  for (const svg of document.querySelectorAll('svg')) if (!svg.getAttribute('aria-label') && !svg.querySelector('title'))
    problems.push('svg without a title');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || seen.has(el) || !walker.currentNode.textContent.trim()) continue;
    seen.add(el);
    if (el.closest('svg')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || el.offsetParent === null && style.position !== 'fixed') continue;
    const fg = parse(style.color); if (!fg) continue;
    const bg = background(el);
    const l1 = lum(fg.rgb), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) problems.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': ' + el.textContent.trim().slice(0, 30));
  }
  for (const el of document.querySelectorAll('button, .button, input:not([type=hidden]), textarea, select')) {
    const r = el.getBoundingClientRect();
    if (r.width && (r.height < 44 || r.width < 44)) problems.push('small target ' + r.width.toFixed(0) + 'x' + r.height.toFixed(0) + ' ' + (el.textContent || el.name || '').trim().slice(0, 20));
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    problems.push('page wider than the viewport: ' + document.documentElement.scrollWidth);
  return problems;
}
"""


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (callers skip first when either is missing)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def on_frame(page: Any, size: tuple[int, int], x: float, y: float) -> tuple[float, float]:
    """A point of a frame (`size` = its width, height in pixels) -> page pixels over the labelling
    editor's drawn frame (#boxes)."""
    r = page.locator("#boxes").bounding_box()
    return r["x"] + x * r["width"] / size[0], r["y"] + y * r["height"] / size[1]


def drag_on_frame(page: Any, size: tuple[int, int], start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press at `start`, move to `end` in steps, release (frame pixels); start == end is a click."""
    page.mouse.move(*on_frame(page, size, *start))
    page.mouse.down()
    page.mouse.move(*on_frame(page, size, *end), steps=6)
    page.mouse.up()


def sign_in(browser: Any, url: str, username: str, password: str, viewport: dict[str, int],
            locale: str = "zh-CN") -> Any:
    """A new browser context signed in through the login form, as a person would; its page."""
    page = browser.new_context(viewport=viewport, locale=locale).new_page()
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page
