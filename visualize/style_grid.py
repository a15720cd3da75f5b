"""A grid of style-transfer results, content photos down the side and paintings along the
top, with each cell's Gram distance to its painting and content distance to its photo
measured against the photo's and the painting's own (the README's figure)::

    python -m visualize.style_grid --out docs/methods/style-grid.png --size 128 --iterations 40

Each cell is :func:`visualize.stylize.run` on the random multi-scale net (offline) with the
style-transfer method's preset layers and default weights.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import models
from models.images import load_image, save_image
from visualize import imaging
from visualize import stylize as st

DATA = Path(models.__file__).resolve().parent / "data"
CONTENTS = ("tuebingen_neckarfront.jpg", "macaque.jpg")
STYLES = ("starry_night.jpg", "the_scream.jpg", "great_wave_off_kanagawa.jpg")


def relative_distance(a, b) -> float:
    """||a - b||^2 / ||b||^2 (float64)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(((a - b) ** 2).sum() / (b ** 2).sum())


def cell(net, photo, painting, size, iterations, seed=0) -> tuple:
    """(picture, numbers) of one transfer; the numbers compare the result's Gram distance to
    the painting with the photo's, and its content distance to the photo with the painting's."""
    out = st.run(net, photo, [painting], size=size, content_layers=("relu1",), style_layers=("relu1",),
                 content_weight=1.0, style_weight=st.STYLE_WEIGHT.default, tv_weight=0.0, iterations=iterations,
                 progress=False, rng=np.random.default_rng(seed))
    content = st.fit_longest(photo, size)
    style = st.fit_longest(painting, size)
    gram = {name: st.gram_targets(net, [p], (1.0,), ("relu1",))["relu1"]
            for name, p in (("out", out.picture), ("content", content), ("style", style))}
    feats = {name: st.features(net, st.resize(p, content.shape[:2]), ("relu1",))["relu1"]
             for name, p in (("out", out.picture), ("content", content), ("style", style))}
    numbers = {"gram_out": relative_distance(gram["out"], gram["style"]),
               "gram_content": relative_distance(gram["content"], gram["style"]),
               "content_out": relative_distance(feats["out"], feats["content"]),
               "content_style": relative_distance(feats["style"], feats["content"])}
    numbers["gram_ratio"] = numbers["gram_content"] / numbers["gram_out"]
    numbers["content_ratio"] = numbers["content_style"] / numbers["content_out"]
    return out.picture, numbers


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m visualize.style_grid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/methods/style-grid.png")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=40)
    args = parser.parse_args(argv)
    net = models.build("random_multiscale", seed=0)
    photos = [load_image(DATA / "content" / name) for name in CONTENTS]
    paintings = [load_image(DATA / "style" / name) for name in STYLES]
    side = args.size
    header = [imaging.label_above(np.ones((side, side, 3), np.float32), "content \\ style")] + \
        [imaging.label_above(st.fit_longest(p, side), Path(n).stem) for p, n in zip(paintings, STYLES)]
    rows, table = [imaging.hstack(header, gap=4)], {}
    for photo, name in zip(photos, CONTENTS):
        tiles = [imaging.label_above(st.fit_longest(photo, side), Path(name).stem)]
        for painting, style_name in zip(paintings, STYLES):
            picture, numbers = cell(net, photo, painting, side, args.iterations)
            table[f"{Path(name).stem} x {Path(style_name).stem}"] = numbers
            print(f"{name} x {style_name}: " + ", ".join(f"{k} {v:.4g}" for k, v in numbers.items()), flush=True)
            tiles.append(imaging.label_above(picture, f"Gram x{numbers['gram_ratio']:.0f}, "
                                                      f"content x{numbers['content_ratio']:.0f}"))
        rows.append(imaging.hstack(tiles, gap=4))
    out = Path(args.out)
    save_image(out, imaging.vstack(rows, gap=4))
    out.with_suffix(".json").write_text(json.dumps({"size": side, "iterations": args.iterations, "cells": table},
                                                   indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
