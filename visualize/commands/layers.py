"""``minigrad layers --model M``: a table of every layer of a network: its readable name and
dotted path, type, output shape, parameters, and receptive field (size, jump and start in
input pixels, :mod:`models.receptive_field`), at the network's input size or ``--size``."""
from __future__ import annotations

from visualize.errors import UserError


def register(subparsers):
    p = subparsers.add_parser(
        "layers", help="every layer of a model: output shape, parameters, receptive field",
        description="A table of every layer of --model: name, dotted path, type, output shape, parameters, and "
                    "receptive field (size, jump = input pixels between neighbouring units, start = input "
                    "position of the first unit's field; negative: it starts in the padding).",
        epilog="example:\n  minigrad layers --model vgg16")
    p.add_argument("--model", default="mnist_cnn", help="registered model name or HDF5 weights path "
                                                        "(a registered name needs no weights)")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="input size (default: the model's)")
    p.set_defaults(func=run)


def table(net, size=None) -> str:
    from models.receptive_field import output_shapes, receptive_fields
    shapes, fields = output_shapes(net, size), receptive_fields(net, size)
    alias = {v: k for k, v in net.aliases.items()}
    rows = [("name", "path", "type", "output", "parameters", "receptive field")]
    total = 0
    for path, layer in net.layers():
        params = sum(int(p.size) for p in layer.parameters())
        total += params
        field = fields[path]
        rows.append((alias.get(path, ""), path, type(layer).__name__, "x".join(map(str, shapes[path])),
                     f"{params:,}" if params else "", field.describe() if field else "whole input"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) if i != 4 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    h, w = size or net.preprocessing.input_size
    return "\n".join([f"{net.architecture}, input {net.preprocessing.channels}x{h}x{w}, {total:,} parameters",
                      *lines])


def run(args) -> int:
    import models
    from models import registry
    from visualize.arguments import load_model
    if args.size is not None and min(args.size) < 1:
        raise UserError(f"--size {args.size[0]} {args.size[1]}: both must be positive")
    if args.model in models.names():
        net = registry.skeleton(args.model)      # the layout only: no weights needed
    else:
        net = load_model(args.model)
    print(table(net, args.size))
    return 0
