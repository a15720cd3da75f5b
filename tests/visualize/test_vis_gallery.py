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

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("img", "a") and (attrs.get("src") or attrs.get("href", "")).endswith(".png"):
            self.links.append(attrs.get("src") or attrs["href"])
        if tag == "section":
            self.sections.append(attrs["id"])
        self._in_code = tag == "code"

    def handle_data(self, data):
        if self._in_code and data.startswith("minigrad ") and " --out " in data:
            self.commands.append(data)

    def handle_endtag(self, tag):
        self._in_code = False


@pytest.fixture(scope="module")
def gallery(tmp_path_factory, mnist_weights_file):
    out = tmp_path_factory.mktemp("demo")
    assert cli.main(["demo", "--out", str(out), "--models", str(mnist_weights_file)]) == 0
    parser = _Links()
    parser.feed((out / "index.html").read_text())
    return out, parser


def test_every_method_has_a_section(gallery):
    _, parsed = gallery
    assert parsed.sections == [m.name for m in registered()]


def test_every_referenced_picture_exists_and_decodes(gallery):
    out, parsed = gallery
    assert len(parsed.links) >= 2 * len(registered())
    for link in parsed.links:
        path = out / link
        assert path.is_file(), link
        with Image.open(path) as im:
            im.load()
            assert im.size[0] > 20 and im.mode == "RGB"


def test_a_printed_command_reproduces_its_picture(gallery, tmp_path):
    out, parsed = gallery
    command = next(c for c in parsed.commands if c.startswith("minigrad saliency"))
    argv = shlex.split(command)[1:]
    original_folder = argv[argv.index("--out") + 1]
    argv[argv.index("--out") + 1] = str(tmp_path)
    assert cli.main(argv) == 0
    for again in tmp_path.glob("*.png"):
        with Image.open(again) as a, Image.open(f"{original_folder}/{again.name}") as b:
            assert np.array_equal(np.asarray(a), np.asarray(b))
