"""One module per visualization method; each registers its class with
:func:`visualize.method.register`, so the ``minigrad`` command and the demo gallery find it."""
