"""``minigrad filters``: see :mod:`visualize.methods.filters`."""
from visualize.arguments import method_command
from visualize.methods.filters import Filters

register = method_command(Filters)
