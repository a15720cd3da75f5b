"""``minigrad occlusion``: see :mod:`visualize.methods.occlusion`."""
from visualize.arguments import method_command
from visualize.methods.occlusion import Occlusion

register = method_command(Occlusion)
