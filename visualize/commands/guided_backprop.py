"""``minigrad guided-backprop``: see :mod:`visualize.methods.guided_backprop`."""
from visualize.arguments import method_command
from visualize.methods.guided_backprop import GuidedBackprop

register = method_command(GuidedBackprop)
