"""The methods of CS231n lecture 12, each in its own module, and the ``minigrad`` command."""
