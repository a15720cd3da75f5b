"""The ``minigrad`` sub-commands that are not methods (``demo``, ``train``, ``weights``, ...):
one module each, defining ``register(subparsers)``. Methods need no module here: their
sub-commands are built from the method classes (:mod:`visualize.arguments`)."""
