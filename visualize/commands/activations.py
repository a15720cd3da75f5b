"""``minigrad activations``: see :mod:`visualize.methods.activations`."""
from visualize.arguments import method_command
from visualize.methods.activations import Activations

register = method_command(Activations)
