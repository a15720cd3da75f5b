"""The command-line side of every method, written once and built from the method class.

:func:`add_method_command` adds a method's sub-command: the common options (``--model``,
``--backend``, ``--seed``, ``--out``, ``--save-arrays``, ``--overwrite``), the flags of its
input kind (``--image``, ``--content``/``--style``, ``--data``) and one flag per
hyperparameter, parsed and range-checked by the parameter's kind at parse time, with the
method's summary, paper and an example in ``--help``.

:func:`run_method` loads the model and the inputs, checks the layer and class names and that
the output folder is writable before any work, runs the method on each input, saves each
result under a name that no other run of the same command shares (refusing to replace a file
unless ``--overwrite``) and prints where it went. User mistakes become
:class:`visualize.errors.UserError` (one line, exit status 2).
"""
from __future__ import annotations

import argparse
import functools
import re
import tempfile
from pathlib import Path

from tqdm import tqdm

import backends
from visualize.errors import UserError
from visualize.result import output_files

__all__ = ["add_method_command", "run_method", "load_model", "output_stem", "DEFAULT_MODEL"]

DEFAULT_MODEL = "mnist_cnn"


def _message(exc) -> str:
    return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)


@functools.lru_cache(maxsize=3)
def load_model(name_or_path: str, backend: str | None = None):
    """``models.load`` with the failures a user can cause turned into UserError; cached, so
    the demo loads each network once."""
    import models
    try:
        return models.load(name_or_path, backend=backend)
    except (FileNotFoundError, KeyError, ValueError, OSError) as exc:
        raise UserError(f"cannot load model {name_or_path!r}: {_message(exc)}") from exc


def _nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; expected an integer >= 0")
    return value


def add_method_command(subparsers, method) -> argparse.ArgumentParser:
    """Add the sub-command of ``method`` (a registered Method class) to ``subparsers``."""
    epilog = (f"input: {method.inputs.label}\npaper: {method.reference}\n       {method.url}\n\n"
              f"example:\n  {method.example}")
    p = subparsers.add_parser(method.name, help=method.summary, description=f"{method.title}: {method.summary}",
                              epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"registered model name or HDF5 weights path (default: {DEFAULT_MODEL})")
    method.inputs.add_arguments(p)
    for param in method.params:
        presets = ", ".join(f"{arch} {_show(values[param.name])}" for arch, values in method.presets.items()
                            if param.name in values)
        notes = ([f"default: {_show(param.default)}"] if param.default not in (None, False) else []) + (
            [presets] if presets else [])
        valid = param.range_text()
        help_text = param.help + (f"; {valid}" if valid and "one of" not in valid else "") + (
            f" ({'; '.join(notes)})" if notes else "")
        if type(param).__name__ == "Flag":
            p.add_argument(param.flag, dest=param.name, action="store_const", const=True, default=None,
                           help=help_text)
        else:
            p.add_argument(param.flag, dest=param.name, default=None, type=param.argparse_type(),
                           metavar=param.name.upper(), help=help_text)
    p.add_argument("--backend", choices=("numpy", "cupy"), default=None,
                   help="array backend (default: $MINIGRAD_BACKEND or numpy)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of every random step (default: 0)")
    p.add_argument("--out", default="minigrad-out", help="output folder (default: minigrad-out)")
    p.add_argument("--save-arrays", action="store_true", help="also save the arrays as .npz")
    p.add_argument("--overwrite", action="store_true",
                   help="replace output files that already exist (default: refuse, naming them)")
    p.set_defaults(func=functools.partial(_command, method=method))
    return p


def _show(value) -> str:
    """A value as the command line writes it: lists joined by commas, runs of consecutive
    integers as ranges (0-7)."""
    if not isinstance(value, (tuple, list)):
        return str(value)
    if len(value) > 2 and all(isinstance(v, int) for v in value) and list(value) == list(
            range(value[0], value[0] + len(value))):
        return f"{value[0]}-{value[-1]}"
    return ",".join(map(str, value))


def _slug(text) -> str:
    """``text`` as a file-name part: letters (any script), digits, dots, ``+`` and ``-`` kept;
    anything else becomes ``-``."""
    return re.sub(r"[^\w.+-]+", "-", str(text)).strip("-.") or "x"


def output_stem(method, model_name: str, params: dict) -> str:
    """The part of the output name shared by every input of one command: the method, the
    model and each hyperparameter given on the command line, as its flag and value
    (``--class 7`` -> ``class-7``)."""
    flags = {p.name: p.flag.lstrip("-") for p in method.params}
    return "_".join([method.name, _slug(Path(model_name).stem)]
                    + [f"{flags[k]}-{_slug(_show(v))}" for k, v in params.items()])


def _input_names(items) -> list[str]:
    """A distinct file-name part per input: the file's stem, then its folders as far up as
    needed to tell two inputs apart, then (identical paths) a counter."""
    raw = [None if item.name is None else Path(item.name) for item in items]
    names = [None if p is None else _slug(p.stem) for p in raw]
    depth = 1
    while len({n for n in names if n is not None}) < sum(n is not None for n in names) and depth < 8:
        names = [None if p is None else _slug("_".join(p.with_suffix("").parts[-depth - 1:])) for p in raw]
        depth += 1
    seen: dict = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out


def _check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written there, before any work."""
    try:
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--out {str(folder)!r} is a file, not a folder; give a folder for the results")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".minigrad-write-check-"):
            pass
    except OSError as exc:
        raise UserError(f"cannot write results into {str(folder)!r}: {exc.strerror or exc}; "
                        "choose a writable --out folder") from exc


def _select_backend(name):
    if name:
        try:
            backends.get(name)
        except backends.BackendUnavailable as exc:
            raise UserError(str(exc)) from exc


def run_method(args, method) -> list[Path]:
    """Run ``method`` as the parsed ``args`` say; return the files written."""
    _select_backend(args.backend)
    model = load_model(args.model, args.backend)
    params = {p.name: getattr(args, p.name) for p in method.params if getattr(args, p.name) is not None}
    runner = method(model)
    try:
        runner.check(runner.hyperparameters(**params))
        items = method.inputs.items(args)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise UserError(_message(exc)) from exc
    out = Path(args.out)
    _check_writable(out)
    stem = output_stem(method, args.model, params)
    names = [stem if n is None else f"{stem}_{n}" for n in _input_names(items)]
    if not args.overwrite:
        taken = [str(p) for name in names for p in output_files(out / name, args.save_arrays) if p.exists()]
        if taken:
            raise UserError(f"{taken[0]} already exists ({len(taken)} output file(s) would be replaced); "
                            "choose another --out folder or pass --overwrite")
    written = []
    for item, name in tqdm(list(zip(items, names)), desc=method.name, unit="input",
                           disable=None if len(items) > 1 else True):
        try:
            result = runner.run(item, seed=args.seed, **params)
            files = result.save(out / name, arrays=args.save_arrays, overwrite=args.overwrite)
        except (KeyError, ValueError, FileExistsError) as exc:
            raise UserError(_message(exc)) from exc
        except OSError as exc:
            raise UserError(f"cannot write {out / name}: {exc.strerror or exc}") from exc
        caption = result.metadata.get("caption")
        print(f"wrote {', '.join(map(str, files))}" + (f"\n  {caption}" if caption else ""))
        written.extend(files)
    return written


def _command(args, method) -> int:
    run_method(args, method)
    return 0

