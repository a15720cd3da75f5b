"""``minigrad weights``: convert, fetch, list and describe weight files.

    minigrad weights convert SRC DST.h5 --arch vgg16 [--format F] [--sha256 H | --md5 H | --sha1 H] [--force]
    minigrad weights fetch NAME [--url URL --sha256 H --keep-source]   # prints the HDF5 path
    minigrad weights list
    minigrad weights info FILE.h5
    minigrad weights convert-generator generator.caffemodel --bounds fc6.txt [--out FILE.h5]   # DGN-AM's
"""
from __future__ import annotations

import argparse
import urllib.parse

from visualize.errors import UserError

_URL_SCHEMES = ("http", "https", "ftp", "file")


def url(text: str) -> str:
    """An argparse type: ``text`` if it is a URL urllib can download (``http(s)://host/...``,
    ``ftp://host/...`` or ``file:///path``), else a parse error naming it."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in _URL_SCHEMES or not (parts.netloc or parts.scheme == "file") or not (
            parts.netloc or parts.path):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a URL: expected one starting with https://, http://, ftp:// or file:// "
            f"(e.g. https://download.pytorch.org/models/vgg16-397923af.pth)")
    return text


def register(subparsers):
    p = subparsers.add_parser("weights", help="convert, download and inspect network weights")
    sub = p.add_subparsers(dest="weights_command", metavar="ACTION", required=True)

    c = sub.add_parser("convert", help="convert a .pth / Keras .h5 / .caffemodel to a minigrad weights file")
    c.add_argument("src", help="the downloaded checkpoint")
    c.add_argument("dst", help="the HDF5 file to write (e.g. ~/.cache/minigrad/vgg16.h5)")
    c.add_argument("--arch", required=True, help="architecture: alexnet, vgg16, vgg19, caffe_alexnet, ...")
    c.add_argument("--format", help="torch-zip, torch-legacy, keras-h5 or caffemodel (default: detected)")
    for name in ("sha256", "md5", "sha1"):
        c.add_argument(f"--{name}", help=f"refuse the source unless its {name.upper()} is this")
    c.add_argument("--url", default="", help="where the source came from (recorded in the file)")
    c.add_argument("--force", action="store_true", help="replace DST if it exists")
    c.set_defaults(func=run_convert)

    f = sub.add_parser("fetch", help="download, verify and convert a registered checkpoint")
    f.add_argument("name", help="a name from `minigrad weights list`")
    f.add_argument("--url", type=url, help="download from this mirror instead of the registry URL")
    f.add_argument("--sha256", help="expected SHA-256 of the download (overrides the registry digest)")
    f.add_argument("--keep-source", action="store_true", help="keep the downloaded file next to the HDF5")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    f.set_defaults(func=run_fetch)

    ls = sub.add_parser("list", help="downloadable checkpoints and whether they are in the cache")
    ls.set_defaults(func=run_list)

    i = sub.add_parser("info", help="architecture, source, checksums, preprocessing and layers of a weights file")
    i.add_argument("file")
    i.set_defaults(func=run_info)

    g = sub.add_parser("convert-generator", help="convert the DGN-AM fc6 generator (Caffe) for `minigrad dgn-am`")
    g.add_argument("src", help="generator.caffemodel of Nguyen et al. (2016)")
    g.add_argument("--bounds", required=True, help="per-unit upper bounds of the fc6 codes, one per line "
                                                   "(the paper's act_range/3x/fc6.txt)")
    g.add_argument("--out", default=None, help="file to write (default: the cache's caffe_fc6_generator.h5)")
    g.set_defaults(func=run_convert_generator)


def run_convert(args):
    from models.convert.convert import convert
    from models.convert.errors import ConversionError
    from models.hdf5_weights import WeightsValidationError

    expected = {h: getattr(args, h) for h in ("sha256", "md5", "sha1") if getattr(args, h)}
    try:
        path = convert(args.src, args.dst, args.arch, args.format, expected=expected,
                       source_url=args.url, overwrite=args.force)
    except (ConversionError, WeightsValidationError) as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(f"cannot convert '{args.src}' to '{args.dst}': {exc}") from exc
    print(path)


def run_fetch(args):
    from models.convert.errors import ConversionError
    from models.fetch import FetchError, fetch

    try:
        path = fetch(args.name, url=args.url, sha256=args.sha256, keep_source=args.keep_source,
                     progress=not args.quiet)
    except (FetchError, ConversionError) as exc:
        raise UserError(str(exc)) from exc
    print(path)


def run_list(args):
    from models.fetch import FetchError, fetched_path, registry_entries

    try:
        entries = registry_entries()
    except FetchError as exc:
        raise UserError(str(exc)) from exc
    for name, entry in sorted(entries.items()):
        path = fetched_path(name)
        state = "cached " if path.exists() else "missing"
        size = f"{entry['size'] / 2**20:7.1f} MiB" if entry.get("size") else "   ? MiB   "
        print(f"{name:<16} {state} {size}  {entry['architecture']:<14} {entry['description']}")
        print(f"{'':16} {path}")


def run_info(args):
    import models
    from models.hdf5_weights import WeightsValidationError

    try:
        print(models.describe(args.file))
    except (WeightsValidationError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from exc


def run_convert_generator(args):
    from pathlib import Path

    import models
    from models.convert.caffe_generator import convert_caffe_generator
    from models.convert.errors import ConversionError

    out = args.out or str(models.weights_path("caffe_fc6_generator"))
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        convert_caffe_generator(args.src, args.bounds, out)
    except (ConversionError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from exc
    print(out)
