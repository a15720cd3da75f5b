"""The ``minigrad`` command line.

Every registered method is a sub-command built from its class (:mod:`visualize.arguments`),
in the lecture's order; the other commands (``demo``, ``train``, ``weights``, ...) are modules
under :mod:`visualize.commands`, each defining ``register(subparsers)``. This file only
discovers both, so a new method is a new module in :mod:`visualize.methods` and a new command
a new module in :mod:`visualize.commands`.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import backends
import minigrad
from visualize import commands
from visualize.arguments import add_method_command
from visualize.errors import UserError
from visualize.method import registered

__all__ = ["build_parser", "main", "UserError"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="Visualize and understand convolutional networks with a NumPy engine "
                    "(CS231n lecture 12 on AlexNet, VGG-16 and small shipped nets).")
    parser.add_argument("--version", action="version", version=f"minigrad {minigrad.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for method in registered():
        add_method_command(sub, method)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"visualize.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        backends.current()   # a bad MINIGRAD_BACKEND is one line here, before any work starts
    except (backends.BackendUnavailable, ValueError) as exc:
        print(f"minigrad: error: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"minigrad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (``minigrad weights info FILE | head``): not an
        # error; point stdout at /dev/null so that flushing it at exit stays quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
