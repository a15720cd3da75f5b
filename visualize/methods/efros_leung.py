"""Efros-Leung texture synthesis: a larger texture grown pixel by pixel from a small sample,
each pixel copied from a random source window among those closest to its filled
neighbourhood (the algorithm is in :mod:`visualize.efros_leung`). No network is used; the
model flag is accepted like every method's and ignored.

A. A. Efros, T. K. Leung. "Texture Synthesis by Non-parametric Sampling." ICCV 1999.
"""
from __future__ import annotations

import numpy as np

from visualize import imaging
from visualize.efros_leung import synthesize
from visualize.method import Example, Method, Output, register
from visualize.params import Float, Int
from visualize.stylize import fit_longest, rgb


@register
class EfrosLeung(Method):
    name = "efros-leung"
    title = "Efros-Leung texture synthesis"
    reference = "A. A. Efros, T. K. Leung. Texture Synthesis by Non-parametric Sampling. ICCV 1999"
    url = "https://people.eecs.berkeley.edu/~efros/research/EfrosLeung.html"
    summary = "Grow a texture pixel by pixel, copying from source windows that match the filled neighbourhood."
    example = "minigrad efros-leung --image models/data/textures/bricks_Bricks059.jpg --size 64 --window 11"
    params = (Int("window", 11, "side of the compared neighbourhood (odd)", lo=3, hi=101),
              Int("size", 64, "side of the square output in pixels", lo=3, hi=1024),
              Float("epsilon", 0.1, "pick among source windows within (1 + epsilon) of the best distance", lo=0.0),
              Int("source_size", 64, "the source is resized so that its longest side is this many pixels "
                  "(every source window is compared for every pixel)", lo=3, hi=512))
    smoke = {"window": 5, "size": 10, "source_size": 20}

    def compute(self, image, rng, window=11, size=64, epsilon=0.1, source_size=64):
        source = fit_longest(rgb(image), source_size)
        out = synthesize(source, size=size, window=window, epsilon=epsilon, rng=rng)
        caption = (f"{size}x{size} from a {source.shape[1]}x{source.shape[0]} source, window {window}, "
                   f"epsilon {epsilon:g}; {out.candidates.mean():.1f} close matches per pixel on average")
        picture = imaging.hstack([imaging.panel(source, "source"), imaging.panel(out.image, "synthesized")])
        report = {"pixels": int(len(out.order)), "pixels_per_s": out.pixels_per_s,
                  "mean_candidates": float(out.candidates.mean()), "seed_box": list(out.seed_box),
                  "source_shape": list(source.shape)}
        return Output(arrays={"texture": out.image, "source": source, "order": out.order, "chosen": out.chosen},
                      picture=picture, caption=caption, report=report)

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", "random_multiscale", "--image", path, "--size", "32", "--window", "9",
                         "--source-size", "48"), "32 px grown from a 48 px sample, window 9")
                for path in demo.textures()[:1]]
