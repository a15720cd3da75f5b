"""``minigrad saliency``: see :mod:`visualize.methods.saliency`."""
from visualize.arguments import method_command
from visualize.methods.saliency import Saliency

register = method_command(Saliency)
