"""``minigrad demo``: every registered method gets a section, every file the HTML references
exists and decodes, and each printed command reproduces its picture."""
from __future__ import annotations

import shlex
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from visualize import cli
from visualize.method import registered


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.sections, self.commands, self._in_code = [], [], [], False
        self.alts, self.sidecars = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("img", "a") and (attrs.get("src") or attrs.get("href", "")).endswith(".png"):
            self.links.append(attrs.get("src") or attrs["href"])
        if tag == "section":
            self.sections.append(attrs["id"])
        if tag == "img":
            self.alts.append(attrs.get("alt", ""))
        if tag == "a" and attrs.get("href", "").endswith(".json"):
            self.sidecars.append(attrs["href"])
        self._in_code = tag == "code"

    def handle_data(self, data):
        if self._in_code and data.startswith("minigrad ") and " --out " in data:
            self.commands.append(data)

    def handle_endtag(self, tag):
        self._in_code = False


@pytest.fixture(scope="module")
def gallery(demo_gallery):
    out = demo_gallery
    parser = _Links()
    parser.feed((out / "index.html").read_text())
    return out, parser


def test_every_method_has_a_section(gallery):
    _, parsed = gallery
    assert parsed.sections == [m.name for m in registered()]


def test_every_picture_has_a_caption_and_a_sidecar_link(gallery):
    out, parsed = gallery
    assert len(parsed.alts) == len(parsed.sidecars) >= len(registered())
    assert all(alt.startswith("model ") for alt in parsed.alts), parsed.alts
    for link in parsed.sidecars:
        assert (out / link).is_file(), link


def test_the_page_says_which_methods_are_built_and_which_models_ran(gallery):
    from visualize import lecture
    out, _ = gallery
    page = (out / "index.html").read_text()
    built = len(registered())
    assert f"{built} of the lecture's {len(lecture.ORDER)} methods" in page
    missing = [n for n in lecture.ORDER if n not in {m.name for m in registered()}]
    assert all(f"{n} (not built yet)" in page for n in missing)
    assert "minigrad weights fetch vgg16" in page and "Models that ran: mnist_random" in page


def test_every_referenced_picture_exists_and_decodes(gallery):
    out, parsed = gallery
    assert len(parsed.links) >= 2 * len(registered())
    for link in parsed.links:
        path = out / link
        assert path.is_file(), link
        with Image.open(path) as im:
            im.load()
            assert im.size[0] > 20 and im.mode == "RGB"


def test_the_first_command_of_every_method_reproduces_its_pictures_in_the_gallery_folder(gallery, monkeypatch):
    """Pasted in the gallery's folder (the page names it), each printed command writes the
    same picture bytes again."""
    out, parsed = gallery
    monkeypatch.chdir(out)
    firsts = {}
    for command in parsed.commands:
        firsts.setdefault(shlex.split(command)[1], command)
    assert set(firsts) == {m.name for m in registered()}
    for name, command in firsts.items():
        argv = shlex.split(command)[1:]
        folder = out / argv[argv.index("--out") + 1]
        before = {p.name: p.read_bytes() for p in folder.glob("*.png")}
        assert before, command
        assert cli.main(argv) == 0, command
        assert {p.name: p.read_bytes() for p in folder.glob("*.png")} == before, command
