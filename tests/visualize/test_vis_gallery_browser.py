"""The gallery in a real browser (headless Chromium): every image loads, no console errors,
no request leaves the page's folder, and the layout does not overflow at 1400 and 420 px.

Chromium is Debian's ``chromium`` package; ``.ci/run`` installs it. Elsewhere the test skips
with the reason when it is missing. With ``MINIGRAD_SCREENSHOTS=FOLDER`` set, it also saves a
screenshot of the top of the page and of each method family's first section (the README's
pictures).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from visualize import lecture

pytest.importorskip("websocket", reason="websocket-client is not installed (pip install -e .[test])")

from chromium_page import Browser, find_chromium, screenshots_folder  # noqa: E402  (this folder's helper)

CHROMIUM = find_chromium()
if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("CI: chromium is not installed (.ci/run installs Debian's chromium package)",
                    pytrace=False)
    pytestmark = pytest.mark.skip(reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def gallery(demo_gallery):
    return demo_gallery / "index.html"


@pytest.fixture(scope="module")
def browser():
    with Browser(CHROMIUM) as b:
        yield b


@pytest.mark.parametrize("width", [1400, 420])
def test_gallery_in_chromium(gallery, browser, width):
    folder = gallery.parent.resolve()
    browser.console.clear(), browser.exceptions.clear(), browser.requests.clear(), browser.failed.clear()
    browser.open(gallery.resolve().as_uri(), width=width)
    images = browser.evaluate("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete,"
                              " i.naturalWidth])")
    assert len(images) >= 5
    broken = [src for src, complete, natural in images if not (complete and natural > 0)]
    assert not broken, f"images that did not load: {broken}"
    assert not browser.exceptions and not [m for m in browser.console if m[0] in ("error", "warning")], (
        browser.exceptions, browser.console)
    outside = [u for u in browser.requests if not u.startswith(folder.as_uri() + "/")]
    assert not outside, f"requests outside the gallery's folder: {outside}"
    assert not browser.failed, browser.failed
    overflow = browser.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a {width} px window"
    wide = browser.evaluate("Array.from(document.querySelectorAll('body *')).filter(e => "
                            "e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName)")
    assert not wide, f"elements past the right edge at {width} px: {wide[:10]}"

    shots = screenshots_folder()
    if shots is not None and width == 1400:
        browser.screenshot(shots / "gallery-top.png", "body > table")
        for family, names in lecture.FAMILIES:
            first = next((n for n in names if browser.evaluate(f"!!document.getElementById('{n}')")), None)
            if first:
                slug = family.replace(" ", "-")
                browser.screenshot(shots / f"gallery-{slug}.png", f"section#{first} .entry")


def test_screenshots_are_pngs_of_the_page(gallery, browser, tmp_path):
    browser.open(gallery.resolve().as_uri(), width=1400)
    shot = browser.screenshot(tmp_path / "page.png")
    data = Path(shot).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
