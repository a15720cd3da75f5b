"""optvis: making images by optimization, one loop for every method that does it.

In the spirit of Lucid's ``optvis`` (Olah, Mordvintsev & Schubert 2017), written for this
engine. Four kinds of values compose into one call::

    from visualize.optvis import objectives, param, projections, regularizers, transforms, space
    from visualize.optvis.render import render

    net = models.load("mnist_cnn")
    rng = np.random.default_rng(0)
    image = param.Pixels.random((1, 1, 28, 28), rng, mean=space.mean_image_value(net), dtype="float32")
    obj = objectives.class_logit(3) - 0.05 * regularizers.l2(space.mean_image_value(net))
    result = render(net, obj, image, steps=200, optimizer="adam", lr=0.05,
                    transform=transforms.jitter(2), projections=[projections.ClipRange()],
                    rng=rng, until=None, frames_every=20, progress=True)
    result.picture(), result.history[-1], result.frames

* :mod:`~visualize.optvis.objectives`: what to ascend. An ``Objective(fn, layers, name)`` is a
  function of the activations of named layers (``IMAGE`` = the image, ``LOGITS`` = the
  output), and objectives add, subtract and scale: class logit and log-probability, a
  channel, a neuron, DeepDream's L2 and guided dream, the feature distance of inversion. A
  new objective (a Gram-matrix style loss) is one ``Objective`` over its layers.
* :mod:`~visualize.optvis.param`: what the optimizer changes: ``Pixels``, ``Fourier``
  (decorrelated 1/f spectrum and colours, exactly invertible) and ``Pyramid``.
* :mod:`~visualize.optvis.transforms`: random jitter, pad, scale and rotate before each
  step, differentiated through.
* :mod:`~visualize.optvis.regularizers` (penalty objectives on the image: L2, alpha-norm,
  TV^beta) and :mod:`~visualize.optvis.projections` (steps on the pixels: Yosinski et al.'s
  decay, blur, small-norm and small-contribution clipping; range clipping; the PGD ball).
* :func:`~visualize.optvis.render.render`: the loop, with Adam, SGD or L-BFGS, normalized
  gradient steps, a seed, a tqdm bar of the objective and its parts, frames every N steps
  (:mod:`~visualize.optvis.frames` makes the strip and the GIF) and early stopping.
* :mod:`~visualize.optvis.space`: the image space (N, C, H, W) in [0, 1] and the
  differentiable way to the network's input; :mod:`~visualize.optvis.resample` and
  :mod:`~visualize.optvis.blur` the two image ops the transforms and projections need.
"""
