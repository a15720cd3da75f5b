"""The ``minigrad`` command line.

Each sub-command lives in its own module under :mod:`visualize.commands` and defines
``register(subparsers)``, which adds its parser and sets ``func`` to the function that runs
it. This file only discovers them, so a new command is a new file.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import minigrad
from visualize import commands


class UserError(Exception):
    """A mistake in the command's input: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="Visualize and understand convolutional networks with a NumPy engine "
                    "(CS231n lecture 12 on AlexNet, VGG-16 and small shipped nets).")
    parser.add_argument("--version", action="version", version=f"minigrad {minigrad.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
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
