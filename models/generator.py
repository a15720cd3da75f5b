"""Generator networks that turn a classifier's feature code back into an image, and the
discriminator that trains one.

Dosovitskiy & Brox (2016) invert a classifier E: a generator G maps the code h = E(x) of an
image x (a hidden layer's values) back to an image, trained with three losses

    L_img  = || G(h) - x ||^2                    pixels
    L_feat = || E(G(h)) - h ||^2                 features (here the code layer itself)
    L_adv  = -log D(G(h))                        a discriminator D that tells G(h) from x

(:mod:`models.train_generator` trains one). Nguyen et al. (2016, DGN-AM) then use G as a prior:
optimize h so that some classifier's unit on G(h) is large, with h kept in the range of
codes seen in training; the pictures look like the images G was trained on.

Two generators are registered as architectures (so ``models.load`` reads their files like
any weights file; they have no classes, and the file's preprocessing attributes describe the
*output*: image = (lo + (hi - lo) * I - mean) / std inverted, as for a network input):

* ``mnist_generator``: inverts ``mnist_cnn``'s ``fc1`` (256 values); shipped as
  ``weights/mnist_generator.h5``, trained by minigrad (``minigrad train generator``)::

      fc 256 -> 64*7*7, leaky ReLU, reshape (64, 7, 7)
      upsample x2, conv 3x3 64 -> 32, leaky ReLU                  14 x 14
      upsample x2, conv 3x3 32 -> 16, leaky ReLU                  28 x 28
      conv 3x3 16 -> 1, sigmoid                                   the gray image in [0, 1]

* ``caffe_fc6_generator``: the generator Nguyen et al. published, which inverts CaffeNet's
  fc6 (4096 values) into a 256 x 256 BGR image in Caffe's mean-subtracted 0-255 range
  (Dosovitskiy & Brox's fc6 generator: three fully connected layers, a reshape to 256 x 4 x 4,
  then 4x4 stride-2 deconvolutions interleaved with 3x3 convolutions; leaky ReLU with slope
  0.3). Its weights cannot be downloaded here; ``minigrad weights convert-generator`` turns
  the Caffe model into our file (:mod:`models.convert.caffe_generator`).

The extra root attributes of a generator file say which classifier's codes it inverts
(:data:`ENCODER_ATTRS`); :class:`Generator` reads them and refuses codes of the wrong size and
classifiers of another architecture with a message that says what to use instead.

A. Dosovitskiy, T. Brox. "Generating Images with Perceptual Similarity Metrics based on Deep
Networks." NIPS 2016. A. Nguyen, A. Dosovitskiy, J. Yosinski, T. Brox, J. Clune.
"Synthesizing the preferred inputs for neurons in neural networks via deep generator
networks." NIPS 2016.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

import backends
from minigrad import functional as F
from minigrad import nn, no_grad
from minigrad.tensor import Tensor
from models.network import Network, Preprocessing
from models.registry import ArchitectureSpec, register

__all__ = ["Reshape", "build_mnist_generator", "build_caffe_fc6_generator", "build_discriminator",
           "Generator", "ENCODER_ATTRS", "MNIST_CODE_LAYER", "MNIST_CODE_SIZE"]

MNIST_CODE_LAYER = "fc1"      # mnist_cnn's layer whose values are the code
MNIST_CODE_SIZE = 256
MNIST_WIDTHS = (64, 32, 16)   # channels at 7x7, 14x14, 28x28
LEAK = 0.2                    # leaky ReLU slope of the mnist generator and discriminator
IDENTITY_L = Preprocessing("L", (0.0, 1.0), (0.0,), (1.0,), (28, 28), None)   # output = image

# The published fc6 generator (Dosovitskiy & Brox's deploy net, as Nguyen et al. use it).
CAFFE_FC6_CODE = 4096
CAFFE_FC6_WIDTHS = {"fc": (4096, 4096, 4096), "start": 256,
                    "stages": (("deconv5", 256), ("conv5_1", 512), ("deconv4", 256), ("conv4_1", 256),
                               ("deconv3", 128), ("conv3_1", 128), ("deconv2", 64), ("deconv1", 32),
                               ("deconv0", 3))}
CAFFE_FC6_LEAK = 0.3
IMAGENET_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)
CAFFE_FC6_OUTPUT = Preprocessing("BGR", (0.0, 255.0), IMAGENET_MEAN_BGR, (1.0, 1.0, 1.0), (256, 256), None)

# Root attributes of a generator file that name its encoder (the classifier it inverts).
ENCODER_ATTRS = ("encoder_architecture", "encoder_weights_sha256", "code_layer", "code_size",
                 "code_min", "code_max", "code_mean")


class Reshape(nn.Module):
    """(N, prod(shape)) -> (N, *shape)."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return F.reshape(x, (x.shape[0],) + self.shape)

    def extra_repr(self):
        return f"{self.shape}"


def build_mnist_generator(rng) -> Network:
    """``mnist_generator`` with random torch-style weights drawn from ``rng``."""
    c7, c14, c28 = MNIST_WIDTHS
    decoder = nn.Sequential(
        nn.Linear(MNIST_CODE_SIZE, c7 * 7 * 7, rng=rng), nn.LeakyReLU(LEAK), Reshape(c7, 7, 7),
        nn.Upsample(2), nn.Conv2d(c7, c14, 3, padding=1, rng=rng), nn.LeakyReLU(LEAK),
        nn.Upsample(2), nn.Conv2d(c14, c28, 3, padding=1, rng=rng), nn.LeakyReLU(LEAK),
        nn.Conv2d(c28, 1, 3, padding=1, rng=rng), nn.Sigmoid())
    names = ["fc", "relu_fc", "reshape", "up1", "conv1", "relu1", "up2", "conv2", "relu2", "conv_out", "sigmoid"]
    return Network(OrderedDict(decoder=decoder), aliases={n: f"decoder.{i}" for i, n in enumerate(names)},
                   architecture="mnist_generator", class_names=[], preprocessing=IDENTITY_L).eval()


def build_caffe_fc6_generator(rng, widths=None, code_size=CAFFE_FC6_CODE, architecture="caffe_fc6_generator",
                              output_size=(256, 256)) -> Network:
    """The fc6 generator of Nguyen et al. (``widths`` as :data:`CAFFE_FC6_WIDTHS`; smaller ones
    build a network of the same form, as the converter's tests use). Layer aliases are the
    Caffe layer names (defc7, ..., deconv0), which the converter matches."""
    widths = widths or CAFFE_FC6_WIDTHS
    layers, names = [], []
    size = code_size
    for name, width in zip(("defc7", "defc6", "defc5"), widths["fc"]):
        layers += [nn.Linear(size, width, rng=rng), nn.LeakyReLU(CAFFE_FC6_LEAK)]
        names += [name, f"relu_{name}"]
        size = width
    side = int(round((size // widths["start"]) ** 0.5))
    layers.append(Reshape(widths["start"], side, side))
    names.append("reshape_defc5")
    channels = widths["start"]
    for i, (name, width) in enumerate(widths["stages"]):
        if name.startswith("deconv"):
            layers.append(nn.ConvTranspose2d(channels, width, 4, stride=2, padding=1, rng=rng))
        else:
            layers.append(nn.Conv2d(channels, width, 3, padding=1, rng=rng))
        names.append(name)
        if i < len(widths["stages"]) - 1:
            layers.append(nn.LeakyReLU(CAFFE_FC6_LEAK))
            names.append(f"relu_{name}")
        channels = width
    output = Preprocessing("BGR", CAFFE_FC6_OUTPUT.input_range, CAFFE_FC6_OUTPUT.mean, CAFFE_FC6_OUTPUT.std,
                           tuple(output_size), None)
    return Network(OrderedDict(generator=nn.Sequential(*layers)),
                   aliases={n: f"generator.{i}" for i, n in enumerate(names)},
                   architecture=architecture, class_names=[], preprocessing=output).eval()


def build_discriminator(rng) -> nn.Sequential:
    """The discriminator for 28 x 28 digits: D(x) = sigmoid(logit); two stride-2 convolutions
    and a linear layer (the DCGAN pattern of Radford et al. 2016 at MNIST size)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 4, stride=2, padding=1, rng=rng), nn.LeakyReLU(LEAK),    # 14 x 14
        nn.Conv2d(16, 32, 4, stride=2, padding=1, rng=rng), nn.LeakyReLU(LEAK),   # 7 x 7
        nn.Flatten(), nn.Linear(32 * 7 * 7, 1, rng=rng))


register(ArchitectureSpec(
    "mnist_generator", build_mnist_generator,
    "Image generator from mnist_cnn's fc1 code (256 values) to a 28x28 digit, trained by minigrad "
    "(Dosovitskiy & Brox 2016 losses); the DGN-AM prior for mnist_cnn",
    weights="weights/mnist_generator.h5",
    missing_hint="run `minigrad train generator` to train it (see models/train_generator.py)"))

register(ArchitectureSpec(
    "caffe_fc6_generator", build_caffe_fc6_generator,
    "Nguyen et al.'s DGN-AM generator from CaffeNet fc6 (4096) to a 256x256 BGR image (Caffe model, converted)",
    missing_hint="convert the published Caffe model with `minigrad weights convert-generator "
                 "generator.caffemodel` (see models/convert/caffe_generator.py)"))


class Generator:
    """A loaded generator network with what its file says about its encoder.

    ``net``: the generator :class:`~models.network.Network`; ``encoder_architecture``,
    ``code_layer``, ``code_size``: whose codes it inverts; ``code_min``, ``code_max``,
    ``code_mean``: per-unit range and mean of the training codes (the DGN-AM bound and start).
    """

    def __init__(self, net: Network):
        missing = [k for k in ENCODER_ATTRS if k not in net.metadata]
        if missing:
            raise ValueError(f"{net.weights_path or net.architecture}: not a generator file (root attributes "
                             f"{', '.join(missing)} are missing); train one with `minigrad train generator`")
        meta = net.metadata
        self.net = net
        self.encoder_architecture = str(meta["encoder_architecture"])
        self.encoder_weights_sha256 = str(meta["encoder_weights_sha256"])
        self.code_layer = str(meta["code_layer"])
        self.code_size = int(meta["code_size"])
        self.code_min, self.code_max, self.code_mean = (np.asarray(meta[k], np.float32).reshape(-1)
                                                        for k in ("code_min", "code_max", "code_mean"))
        first = next(iter(net.state_dict().values()))
        if int(first.shape[1]) != self.code_size or self.code_min.size != self.code_size:
            raise ValueError(f"{net.weights_path}: code_size {self.code_size} disagrees with the first layer's "
                             f"{first.shape[1]} inputs or the {self.code_min.size} stored bounds")

    @classmethod
    def load(cls, name_or_path="mnist_generator", backend=None) -> "Generator":
        """The generator registered as ``name_or_path`` or stored in that file."""
        import models
        net = models.load(name_or_path, backend=backend)
        if net.class_names:
            raise ValueError(f"{name_or_path}: this is a classifier's weights file ({net.architecture}), not a "
                             f"generator; give a file written by `minigrad train generator`")
        return cls(net)

    @property
    def source(self) -> str:
        return str(self.net.weights_path or self.net.architecture)

    def check_code(self, code) -> np.ndarray:
        """``code`` as a float (N, code_size) array; ValueError naming the size expected."""
        code = np.asarray(code.numpy() if isinstance(code, Tensor) else code, dtype=np.float32)
        if code.ndim == 1:
            code = code[None]
        if code.ndim != 2 or code.shape[1] != self.code_size:
            raise ValueError(f"a code for {self.source} has {self.code_size} values ({self.encoder_architecture}'s "
                             f"{self.code_layer}), got an array of shape {code.shape}")
        if not np.isfinite(code).all():
            raise ValueError(f"a code for {self.source} must be finite; got NaN or Inf")
        return code

    def check_encoder(self, classifier) -> None:
        """Refuse a classifier whose codes this generator does not invert (another architecture)."""
        if classifier.architecture != self.encoder_architecture:
            raise ValueError(f"{self.source} inverts {self.encoder_architecture}'s {self.code_layer} codes, but the "
                             f"classifier is {classifier.architecture}; use a generator trained on "
                             f"{classifier.architecture} (`minigrad train generator` trains one for mnist_cnn)")

    def image(self, code: Tensor) -> Tensor:
        """G(h) as an image (N, C, H, W) in [0, 1] (differentiable): the inverse of the output's
        preprocessing, clipped to [0, 1] (a no-op on the sigmoid output of ``mnist_generator``)."""
        x = self.net(code)
        p = self.net.preprocessing
        if p.channel_order == "BGR":
            x = F.getitem(x, (slice(None), np.array([2, 1, 0])))
        lo, hi = p.input_range
        mean = np.asarray(p.mean, np.float64)[::-1 if p.channel_order == "BGR" else 1]
        std = np.asarray(p.std, np.float64)[::-1 if p.channel_order == "BGR" else 1]
        xp = x.backend.xp
        scale = xp.asarray((std / (hi - lo)).reshape(-1, 1, 1), dtype=x.dtype)
        shift = xp.asarray(((mean - lo) / (hi - lo)).reshape(-1, 1, 1), dtype=x.dtype)
        image = x * scale + shift
        return F.clip(image, 0.0, 1.0)

    def decode(self, code) -> np.ndarray:
        """Images (N, H, W, C) in [0, 1] for the codes (N, code_size), without a graph."""
        code = self.check_code(code)
        with no_grad():
            out = self.image(Tensor(backends.current().asarray(code)))
        return np.asarray(backends.backend_of(out.data).to_numpy(out.data)).transpose(0, 2, 3, 1)

    def encode(self, classifier, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Codes (N, code_size) of ``images`` ((N, H, W) or (N, H, W, C) in [0, 1]) at the
        classifier's code layer (evaluation mode, no graph)."""
        self.check_encoder(classifier)
        classifier.eval()
        out = []
        with no_grad():
            for i in range(0, len(images), batch_size):
                a = classifier.forward_to(classifier.preprocess(images[i:i + batch_size]), self.code_layer).data
                out.append(backends.backend_of(a).to_numpy(a).reshape(len(a), -1))
        return np.concatenate(out).astype(np.float32)
