"""``minigrad features``: run a network over a dataset and keep its features in an HDF5 file.

    minigrad features --model M --data SRC --layer L [L ...] --out F.h5 [--pool avg|max|argmax]
                      [--batch N] [--dask ADDRESS] [--overwrite]

The file layout, resuming and the checks are :mod:`models.features`'; the dataset sources
(folder, text file of paths, ``mnist``) are :mod:`models.datasets`'. The dataset methods
(nearest-neighbors, embedding, max-patches) read the file with ``--features F.h5``.
"""
from __future__ import annotations

import argparse

from visualize.errors import UserError
from visualize.params import Int


def register(subparsers):
    p = subparsers.add_parser(
        "features", help="features of a dataset (batched, resumable) into a chunked HDF5 file",
        description="Run --model over every image of --data in batches and store the features of each --layer "
                    "(spatial layers reduced per channel by --pool) with the image paths, labels, thumbnails, "
                    "the weights' SHA-256 and the preprocessing. Memory is bounded by the batch; a killed run "
                    "continues where it stopped when started again with the same arguments.",
        epilog="examples:\n"
               "  minigrad features --model mnist_cnn --data mnist --layer relu_fc1 --out digits.h5\n"
               "  minigrad features --model vgg16 --data val/ --layer relu7 conv5_3 --pool argmax --out val.h5\n"
               "  minigrad features --model vgg16 --data val.txt --layer relu7 --out val.h5 --dask tcp://host:8786",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mnist_cnn", help="registered model name or HDF5 weights path")
    p.add_argument("--data", required=True, metavar="SRC",
                   help="a folder of images (recursive; class/xxx.jpg gives labels), a text file with one image "
                        "path per line (optionally path<TAB>class), or 'mnist' (the 10,000 shipped test digits)")
    p.add_argument("--layer", nargs="+", required=True, metavar="L", help="layers to keep (names or dotted paths)")
    p.add_argument("--out", required=True, help="the HDF5 file to write")
    p.add_argument("--pool", choices=("avg", "max", "argmax"), default="avg",
                   help="reduction of spatial layers per channel: mean, maximum, or maximum and its position "
                        "(for max-patches) (default: avg)")
    p.add_argument("--batch", type=Int("batch", 64, "", lo=1).argparse_type(), default=64, help="images per forward pass (default: 64)")
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="shard the images over the dask.distributed scheduler at ADDRESS (tcp://host:8786); "
                        "needs pip install 'minigrad[dask]'")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output or start an "
                                                            "interrupted run over")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from models.datasets import open_source
    from models.features import extract, extract_distributed
    from visualize.arguments import load_model

    try:
        source = open_source(args.data)
        model = load_model(args.model)
        for layer in args.layer:
            model.resolve(layer)
        if args.dask:
            done = extract_distributed(args.dask, args.model, source, args.layer, args.out, pool=args.pool,
                                       batch_size=args.batch, progress=not args.quiet, overwrite=args.overwrite)
        else:
            done = extract(model, source, args.layer, args.out, pool=args.pool, batch_size=args.batch,
                           progress=not args.quiet, overwrite=args.overwrite)
    except KeyError as exc:
        raise UserError(exc.args[0]) from exc
    except (ValueError, OSError, ImportError) as exc:       # OSError: missing data, output not writable
        raise UserError(str(exc)) from exc
    if done.already_complete:
        print(f"{done.path} is already complete ({done.rows} images); nothing to do")
    else:
        resumed = f", resumed after {done.resumed_from}" if done.resumed_from else ""
        print(f"wrote {done.path}: {done.rows} images in {done.seconds:.1f} s "
              f"({done.images_per_second:.1f} images/s{resumed})")
    if done.skipped:
        print(f"skipped {len(done.skipped)} unreadable image(s):")
        for path, reason in done.skipped[:20]:
            print(f"  {path}: {reason}")
        if len(done.skipped) > 20:
            print(f"  ... and {len(done.skipped) - 20} more (listed in the file's skipped/paths)")
    return 0
