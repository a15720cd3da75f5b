"""Fast neural style (Johnson, Alahi & Fei-Fei 2016) with conditional instance normalization
(Dumoulin, Shlens & Kudlur 2017): one forward pass of a trained transformation network
(:mod:`models.fast_style`) stylizes the photo with one of the paintings it learned, or with
a convex mix of them, ``(gamma, beta) = sum_s w_s (gamma_s, beta_s)``.

The method's network is the fast-style weights file ``--network`` (default: the shipped
``weights/fast_style.h5``, trained by ``minigrad train fast-style``); the classifier that
every method gets through ``--model`` plays no part. ``--style`` names a trained style or a
mix, ``0.7:starry_night,0.3:great_wave_off_kanagawa`` (weights >= 0 summing to 1; names as
trained, '-' for '_' and unique prefixes accepted).

J. Johnson, A. Alahi, L. Fei-Fei. "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution." ECCV 2016. V. Dumoulin, J. Shlens, M. Kudlur. "A Learned Representation
For Artistic Style." ICLR 2017.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models import REPO_ROOT, fast_style
from models.images import center_crop, load_image, resize_shorter_side
from visualize import imaging
from visualize.method import Example, Method, Output, register
from visualize.params import Int, Param, Text
from visualize.train_fast_style import HELD_OUT

SHIPPED = "weights/fast_style.h5"


@dataclass(frozen=True)
class StyleMix(Param):
    """A style name or a mix ``W:NAME,W:NAME`` whose weights are a convex combination
    (checked at parse time; the names against the network before any work)."""

    def range_text(self):
        return "NAME or W:NAME,W:NAME,... with weights >= 0 summing to 1"

    def parse(self, text):
        fast_style.parse_mix(text)
        return str(text).strip()

    def _check_value(self, value):
        return self.parse(value)


def network_path(network) -> Path:
    """The fast-style weights file: ``network`` as given (relative to the working folder), or
    the shipped file when None."""
    return REPO_ROOT / SHIPPED if network is None else Path(network)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float):
    return fast_style.load(path)


def load_network(path: Path):
    """The network in ``path``, read once per file version."""
    if not path.exists():
        raise FileNotFoundError(f"--network: no fast-style weights at {path}; give the file written by "
                                f"`minigrad train fast-style` (the shipped one is {SHIPPED})")
    return _load(str(path), os.path.getmtime(path))


@register
class FastStyle(Method):
    name = "fast-style"
    title = "Fast neural style"
    reference = ("J. Johnson, A. Alahi, L. Fei-Fei. Perceptual Losses for Real-Time Style Transfer and "
                 "Super-Resolution. ECCV 2016; V. Dumoulin, J. Shlens, M. Kudlur. A Learned Representation "
                 "For Artistic Style. ICLR 2017")
    url = "https://arxiv.org/abs/1603.08155"
    summary = ("Stylize a photo in one forward pass of a trained network, with one learned painting or a "
               "convex mix of several (conditional instance norm).")
    example = ("minigrad fast-style --network weights/fast_style.h5 "
               "--style 0.7:starry_night,0.3:great_wave_off_kanagawa --image photo.jpg")
    params = (Text("network", None, f"fast-style weights file (minigrad train fast-style); default: the shipped "
                                    f"{SHIPPED}. The classifier --model is not used"),
              StyleMix("style", None, "a trained style, or a mix W:NAME,... with weights >= 0 summing to 1 "
                                      "(0.7:starry_night,0.3:the_scream); default: the first trained style"),
              Int("size", 0, "scale the image so its shorter side has this many pixels first (0: as it is)",
                  lo=0, hi=4096))

    def check(self, params):
        super().check(params)
        net = load_network(network_path(params.get("network")))
        if params.get("style") is not None:
            fast_style.mixing_weights(params["style"], net.styles)

    def resolve(self, params):
        net = load_network(network_path(params.get("network")))
        style = params["style"] if params.get("style") is not None else net.styles[0]
        return {**params, "style": style}

    def compute(self, image, rng, network=None, style=None, size=0):
        path = network_path(network)
        net = load_network(path)
        weights = fast_style.mixing_weights(style, net.styles)
        img = fast_style.rgb_pixels(image)
        if size:
            img = resize_shorter_side(img, size)
        out = fast_style.stylize(net, img, weights)
        mix = [(float(w), s) for w, s in zip(weights, net.styles) if w > 0]
        mix_text = " + ".join(f"{w:.2g} {s}" for w, s in mix) if len(mix) > 1 else mix[0][1]
        panels = [imaging.panel(img, "photo"), imaging.panel(out, mix_text[:60])]
        paintings = _painting_thumbnails(net, mix, out.shape[0])
        if paintings:
            panels.append(imaging.vstack(paintings))
        report = {"styles": list(net.styles), "mixing_weights": [float(w) for w in weights],
                  "network": str(path), "network_sha256": _sha(path), "size": list(out.shape[:2]),
                  "trained_steps": net.metadata.get("steps")}
        caption = (f"{mix_text}; {out.shape[1]} x {out.shape[0]} px in one forward pass "
                   f"({sum(int(p.size) for p in net.parameters()):,} parameters)")
        return Output(arrays={"stylized": out, "image": img, "mixing_weights": weights.astype(np.float32)},
                      picture=imaging.hstack(panels), caption=caption, report=report)

    @classmethod
    def examples(cls, demo):
        photo = next(p for p in demo.content_images() if Path(p).name == HELD_OUT)
        styles = [Path(p).stem for p in demo.style_images()]
        base = ("--model", demo.models[0], "--image", photo, "--size", "160")
        runs = [Example(base + ("--style", s), f"{s} (a photo held out of training)") for s in styles]
        mix = f"0.5:{styles[3]},0.5:{styles[1]}"
        return runs + [Example(base + ("--style", mix), f"a 50/50 mix of {styles[3]} and {styles[1]}")]



@functools.lru_cache(maxsize=4)
def _sha(path: Path) -> str:
    import models
    return models.file_sha256(path)


def _painting_thumbnails(net, mix, height: int) -> list:
    """Small pictures of the mixed paintings, when the training record names files that
    exist (the shipped ones do), each labelled with its weight."""
    sources = {Path(p).stem: p for p in (net.metadata.get("settings") or {}).get("styles", [])}
    side = max(32, min(96, height // max(1, len(mix)) - 20))
    out = []
    for w, name in mix:
        path = Path(sources.get(name, ""))
        path = path if path.is_absolute() else REPO_ROOT / path
        if sources.get(name) and path.is_file():
            thumb = center_crop(resize_shorter_side(load_image(path), side), (side, side))
            out.append(imaging.label_above(thumb, f"{w:.2g} {name}"[:20], size=10))
    return out
