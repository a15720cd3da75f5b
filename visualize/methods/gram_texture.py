"""Texture synthesis with Gram matrices (Gatys, Ecker & Bethge 2015): from noise, the image is
optimized until the Gram matrices of its features at the chosen layers match the sample's
(the objective and options are described in :mod:`visualize.stylize`). With no pretrained
weights, the one-layer random multi-scale net of Ustyuzhaninov et al. (2016) is the default.

L. A. Gatys, A. S. Ecker, M. Bethge. "Texture Synthesis Using Convolutional Neural Networks."
NeurIPS 2015.
"""
from __future__ import annotations

from visualize import stylize as st
from visualize.input_kinds import ContentStyle
from visualize.method import Example, Method, register

GATYS = {"style_layers": "relu1_1,pool1,pool2,pool3,pool4"}


@register
class GramTexture(Method):
    name = "gram-texture"
    title = "Gram-matrix texture synthesis"
    reference = "L. A. Gatys, A. S. Ecker, M. Bethge. Texture Synthesis Using Convolutional Neural Networks. NeurIPS 2015"
    url = "https://arxiv.org/abs/1505.07376"
    summary = "From noise, match the Gram matrices of a texture's features at several layers."
    example = ("minigrad gram-texture --model random_multiscale --style models/data/textures/grass_Grass001.jpg "
               "--size 128 --iterations 100")
    inputs = ContentStyle(content=False)
    params = (st.STYLE_LAYERS, st.LAYER_WEIGHTS, st.TV_WEIGHT, st.INIT_NOISE, st.OPTIMIZER, st.LEARNING_RATE,
              st.ITERATIONS, st.SIZE.with_default(256), st.STYLE_SCALE, st.SCALES, st.NORMALIZE,
              st.PRINT_EVERY, st.SAVE_EVERY, st.RESUME)
    presets = {"random_multiscale": {"style_layers": "relu1"}, "vgg16": dict(GATYS), "vgg19": dict(GATYS)}
    smoke = {"size": 48, "iterations": 1, "optimizer": "adam"}

    def resolve(self, params):
        return st.resolved_layers(self.model, params)

    def compute(self, data, rng, **params):
        return st.method_output(self.model, data, rng, {**params, "init": "random", "style_weight": 1.0,
                                                        "content_weight": 0.0})

    @classmethod
    def examples(cls, demo):
        return [Example(("--model", "random_multiscale", "--style", path, "--size", "48", "--iterations", "15"),
                        "random_multiscale, 48 px, 15 L-BFGS steps") for path in demo.textures()[:1]]
