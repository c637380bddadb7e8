"""Headless Chromium (Debian's ``chromium``) for the page's tests: screenshots, the rendered DOM, a PDF.

Each call starts a fresh browser with its own ``--user-data-dir`` in a temporary directory,
removed afterwards, and no network of its own (no background networking, component updates or
sync). ``probe`` renders a copy of the page with a small script appended that measures, in
the real layout, what a reader sees: each section's title and verdict, the verdict at the top,
the first-failure box, and whether anything is wider than the window.

Headless Chromium lays pages out at least 500 CSS pixels wide (a smaller ``--window-size`` only
crops the screenshot). For a narrower screen, the copy's root element is given that width:
the page's narrow-screen rules apply from 640 pixels down, so what is measured and shot is the
page as a phone of that width shows it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
TIMEOUT = 90.0
MIN_WINDOW = 500  # headless Chromium's narrowest layout
PROBE_ID = "living-guide-probe"
PROBE = """
<script>
(() => {
  const shown = (el) => {
    if (!el) return false;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.display !== "none"
      && parseFloat(style.opacity) > 0;
  };
  const text = (el) => (el ? el.textContent.replace(/\\s+/g, " ").trim() : "");
  const top = (el) => (el ? el.getBoundingClientRect().top + window.scrollY : null);
  const sections = [...document.querySelectorAll("main .guide-section")].map((section) => {
    const title = section.querySelector(".section-title");
    const badge = title && title.querySelector(".badge");
    return { id: section.id, title: text(title), shown: shown(title), verdict: text(badge),
             verdictShown: shown(badge), top: top(section) };
  });
  const verdict = document.getElementById("verdict");
  const first = document.getElementById("first-failure");
  const link = first && first.querySelector("h2 a");
  const steps = [...document.querySelectorAll(".step-text")];
  let right = 0, widest = "";
  for (const el of document.body.querySelectorAll("*")) {
    if (el.parentElement && el.parentElement.closest("pre.log")) continue;  // a log scrolls in its own box
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > right + 0.5) { right = box.right; widest = el.tagName + "." + el.className; }
  }
  const out = {
    width: Math.min(window.innerWidth, document.documentElement.getBoundingClientRect().width),
    right, widest,
    verdict: text(verdict), verdictShown: shown(verdict), verdictTop: top(verdict),
    firstFailure: first ? { shown: shown(first), top: top(first), href: link && link.getAttribute("href"),
                            text: text(first) } : null,
    sections,
    smallestStepFont: Math.min(...steps.map((el) => parseFloat(getComputedStyle(el).fontSize))),
    resources: [...document.querySelectorAll("[src], link[href], img, iframe, object, embed")].length,
    links: [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")),
  };
  const pre = document.createElement("pre");
  pre.id = "__PROBE_ID__";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
""".replace("__PROBE_ID__", PROBE_ID)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(*args: str) -> str:
    binary = chromium()
    assert binary is not None, "chromium is not installed (apt-get install chromium)"
    with tempfile.TemporaryDirectory(prefix="living-guide-chromium-") as profile:
        argv = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={**os.environ, "HOME": profile},
        )
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError(f"chromium did not finish within {TIMEOUT:.0f} s: {' '.join(args)}") from None
    assert proc.returncode == 0, f"chromium exited with {proc.returncode}:\n{err[-2000:]}"
    return out


def _copy(page: Path, width: int, script: str = "") -> Path:
    """A copy of ``page`` beside it, laid out ``width`` wide, with ``script`` appended."""
    style = f"<style>html {{ width: {width}px; }}</style>" if width < MIN_WINDOW else ""
    copy = page.with_name(f".{width}-{page.name}")
    text = page.read_text(encoding="utf-8").replace("</head>", style + "</head>").replace("</body>", script + "</body>")
    copy.write_text(text, encoding="utf-8")
    return copy


def screenshot(page: Path, png: Path, width: int, height: int) -> tuple[int, int]:
    """Render ``page`` in a ``width`` x ``height`` window into ``png``; return the PNG's size."""
    copy = _copy(page, width)
    try:
        _run(f"--screenshot={png}", f"--window-size={width},{height}", copy.as_uri())
    finally:
        copy.unlink()
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    return struct.unpack(">II", data[16:24])


def pdf(page: Path, target: Path) -> int:
    """Print ``page`` (print CSS) into a PDF; return its number of pages."""
    _run("--no-pdf-header-footer", f"--print-to-pdf={target}", page.as_uri())
    return len(re.findall(rb"/Type\s*/Page(?!s)", target.read_bytes()))


def probe(page: Path, width: int, height: int = 1200) -> dict[str, Any]:
    """What a reader sees of ``page`` in a window ``width`` wide (measured in the rendered layout)."""
    copy = _copy(page, width, PROBE)
    try:
        size = f"--window-size={max(width, MIN_WINDOW)},{height}"
        dom = _run("--dump-dom", "--virtual-time-budget=2000", size, copy.as_uri())
    finally:
        copy.unlink()
    found = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', dom, re.DOTALL)
    assert found, f"the probe did not run in the page:\n{dom[-1500:]}"
    return json.loads(html.unescape(found.group(1)))
