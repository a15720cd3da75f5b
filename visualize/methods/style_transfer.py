"""Neural style transfer (Gatys, Ecker & Bethge 2016) with the options of Justin Johnson's
neural-style and more: the image is optimized so that its features at the content layers
match the photo's and its Gram matrices at the style layers match the paintings' (the
objective and every option are described in :mod:`visualize.stylize`).

L. A. Gatys, A. S. Ecker, M. Bethge. "Image Style Transfer Using Convolutional Neural
Networks." CVPR 2016. Colour control: L. A. Gatys, A. S. Ecker, M. Bethge, A. Hertzmann,
E. Shechtman. "Controlling Perceptual Factors in Neural Style Transfer." CVPR 2017.
"""
from __future__ import annotations

from visualize import stylize as st
from visualize.input_kinds import ContentStyle
from visualize.method import Example, Method, register
from visualize.params import Choice, Float, Layer, Text

VGG = {"content_layers": "relu4_2", "style_layers": "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"}


@register
class StyleTransfer(Method):
    name = "style-transfer"
    title = "Neural style transfer"
    reference = ("L. A. Gatys, A. S. Ecker, M. Bethge. Image Style Transfer Using Convolutional Neural Networks. "
                 "CVPR 2016")
    url = "https://openaccess.thecvf.com/content_cvpr_2016/html/Gatys_Image_Style_Transfer_CVPR_2016_paper.html"
    summary = "Optimize an image to keep the photo's features and take the paintings' Gram matrices."
    example = ("minigrad style-transfer --model random_multiscale --content models/data/content/tuebingen_neckarfront.jpg "
               "--style models/data/style/starry_night.jpg --size 256 --iterations 200")
    inputs = ContentStyle()
    params = (Text("content_layers", None, "comma-separated layers whose features are kept (default: the preset, "
                   "else the middle ReLU)"),
              Float("content_weight", 1.0, "weight of the content distance", lo=0.0),
              st.STYLE_LAYERS, st.LAYER_WEIGHTS, st.STYLE_WEIGHT, st.TV_WEIGHT,
              Choice("init", "content", "start from the content, noise, or --init-image", st.INITS),
              st.INIT_IMAGE, st.INIT_NOISE, st.OPTIMIZER, st.LEARNING_RATE, st.ITERATIONS, st.SIZE,
              st.STYLE_SCALE,
              Choice("original_colors", "off", "keep the content's colours: 'recolor' puts the content's YIQ "
                     "chrominance on the result (neural-style), 'luminance' transfers on luminance only "
                     "(Gatys et al. 2017)", st.COLORS),
              st.SCALES, st.NORMALIZE,
              Layer("dream_layer", None, "layer of an added DeepDream term (with --dream-weight)"),
              Float("dream_weight", 0.0, "weight of the DeepDream term (half the mean square of --dream-layer)",
                    lo=0.0),
              st.PRINT_EVERY, st.SAVE_EVERY, st.RESUME)
    presets = {"random_multiscale": {"content_layers": "relu1", "style_layers": "relu1"},
               "vgg16": dict(VGG), "vgg19": dict(VGG)}
    smoke = {"size": 48, "iterations": 1, "optimizer": "adam"}

    def resolve(self, params):
        return st.resolved_layers(self.model, params)

    def compute(self, data, rng, **params):
        return st.method_output(self.model, data, rng, params)

    @classmethod
    def examples(cls, demo):
        content = demo.content_images()
        styles = demo.style_images()
        return [Example(("--model", "random_multiscale", "--content", content[-1], "--style", styles[-2],
                         "--size", "64", "--iterations", "12"),
                        "random_multiscale, 64 px, 12 L-BFGS steps"),
                Example(("--model", "random_multiscale", "--content", content[-1], "--style", styles[-2],
                         "--size", "64", "--iterations", "12", "--original-colors", "luminance"),
                        "the same with the photo's colours (luminance-only transfer)")]
