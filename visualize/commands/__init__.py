"""One module per ``minigrad`` sub-command; each defines ``register(subparsers)``."""
