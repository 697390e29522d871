"""A real headless browser for the tests: Debian's ``chromium-headless-shell`` (or ``chromium``).

``render(page, width=...)`` opens an HTML file at a window ``width`` pixels wide, takes a
screenshot into the artefact folder (``$TEST_ARTEFACTS``, default ``test-artefacts/``) and returns
what the rendered page measured: how wide its content is against the window, its pictures, its
scripts, its visible text. The measuring script is added to a copy of the page (one browser run
measures the copy and takes its screenshot; what the script adds is hidden); the page itself is
not changed. Without a browser the tests that need one are skipped with the reason, except under
CI (``CI`` set), where a missing browser fails them: ``make test`` installs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = Path(os.environ.get("TEST_ARTEFACTS", ROOT / "test-artefacts"))
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio")

MEASURE = """
<script id="__measure_script">
window.addEventListener("load", function () {
  var ours = document.getElementById("__measure_script");
  var images = Array.prototype.map.call(document.images, function (img) {
    var box = img.getBoundingClientRect();
    return {width: box.width, right: box.right, natural: img.naturalWidth, complete: img.complete};
  });
  var out = document.createElement("pre");
  out.id = "__measure";
  out.style.display = "none";  // measured before it is added; hidden from the screenshot
  out.textContent = JSON.stringify({
    scroll_width: document.documentElement.scrollWidth,
    window_width: window.innerWidth,
    images: images,
    scripts: document.scripts.length - 1,
    title: document.title,
    text: document.body ? document.body.innerText : "",
    ran: Object.keys(window).filter(function (k) { return k.indexOf("__student") === 0; })
  });
  (ours.parentNode || document.body).appendChild(out);
});
</script>
"""


def browser() -> str | None:
    found = os.environ.get("CHROMIUM")
    if found:
        return found
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def need_browser() -> str:
    """The browser's path; skip (or, under CI, fail) the test without one."""
    path = browser()
    if path is None:
        reason = f"no headless browser ({', '.join(BROWSERS)}): apt-get install chromium-headless-shell"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@dataclass
class Rendered:
    """What one page measured in the browser at one width."""

    width: int
    scroll_width: int
    window_width: int
    images: list[dict] = field(default_factory=list)
    scripts: int = 0
    title: str = ""
    text: str = ""
    ran: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def scrolls_sideways(self) -> bool:
        return self.scroll_width > self.window_width

    @property
    def broken_images(self) -> list[dict]:
        return [i for i in self.images if not i["complete"] or not i["natural"]]

    @property
    def images_too_wide(self) -> list[dict]:
        return [i for i in self.images if i["right"] > self.window_width + 0.5]


def _run(path: str, *args: str, timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [path, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the browser failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def render(page: Path, *, width: int, height: int = 900, name: str = "") -> Rendered:
    """Open ``page`` at ``width`` x ``height`` pixels: measure it, and save a screenshot as an artefact."""
    path = need_browser()
    page = Path(page).resolve()
    html = page.read_text(encoding="utf-8")
    measured_copy = page.with_name(f".measure-{width}-{page.name}")
    at = html.lower().rfind("</body>")
    measured_copy.write_text(html[:at] + MEASURE + html[at:] if at >= 0 else html + MEASURE, encoding="utf-8")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / f"{name or page.stem}-{width}px.png"
    shot.unlink(missing_ok=True)
    try:
        size = f"--window-size={width},{height}"
        dom = _run(
            path, size, "--virtual-time-budget=5000", "--dump-dom", f"--screenshot={shot}", measured_copy.as_uri()
        )
    finally:
        measured_copy.unlink(missing_ok=True)
    found = re.search(r'<pre id="__measure"[^>]*>(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError(f"the page did not finish loading in the browser: {page}")
    if not shot.is_file():
        raise RuntimeError(f"the browser took no screenshot of {page}")
    data = json.loads(_unescape(found.group(1)))
    return Rendered(width=width, screenshot=shot, **data)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
