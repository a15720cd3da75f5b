"""``minigrad attribution-score``: rank the attribution methods by faithfulness on many images.

For every image, every attribution method runs as its own command would (its defaults and the
model's presets, the image's label as the class on MNIST, the predicted class otherwise) and
records its deletion and insertion AUCs (Petsiuk et al. 2018, as visualize.faithfulness computes them);
two reference maps are scored on the same images: a random map and an edge detector. The
result is a table (markdown and JSON: mean and standard error of each AUC, and how often each
method's deletion AUC is below the random map's on the same image) and a plot (the mean AUCs
with their standard errors, and the mean deletion and insertion curves).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from visualize.errors import UserError

# label -> (registered method, its settings): guided Grad-CAM is a mode of grad-cam
VARIANTS = {"saliency": ("saliency", {}), "guided-backprop": ("guided-backprop", {}),
            "occlusion": ("occlusion", {}), "grad-cam": ("grad-cam", {}),
            "guided-grad-cam": ("grad-cam", {"mode": "guided"}), "smoothgrad": ("smoothgrad", {}),
            "integrated-gradients": ("integrated-gradients", {}), "grabcut": ("grabcut", {})}
DEFAULT = ("saliency", "guided-backprop", "occlusion", "grad-cam", "guided-grad-cam", "smoothgrad",
           "integrated-gradients")
REFERENCES = ("random", "edge")


def register(subparsers):
    p = subparsers.add_parser(
        "attribution-score", help="rank attribution methods by deletion/insertion AUC against a random and an "
                                  "edge map, as a table and a plot",
        description=__doc__.split("\n\n", 1)[1])
    p.add_argument("--model", default="mnist_cnn", help="model name or weights file (default: mnist_cnn)")
    p.add_argument("--images", nargs="+", default=None,
                   help="image files or folders (default for a one-channel net: held-out MNIST digits)")
    p.add_argument("--n", type=int, default=100, help="held-out digits to score (default: 100)")
    p.add_argument("--methods", default=",".join(DEFAULT),
                   help=f"comma-separated, from {', '.join(VARIANTS)} (default: all but grabcut)")
    p.add_argument("--auc-steps", type=int, default=32, help="points per curve (default: 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random step (default: 0)")
    p.add_argument("--out", default="attribution-score", help="folder for the table, JSON and plot")
    p.set_defaults(func=run)


def _inputs(model, args):
    """[(name, image, class or None)]: the held-out digits with their labels, or the given images."""
    if args.images:
        from models.images import load_image
        from visualize.inputs import find_images
        try:
            return [(p.name, load_image(p), None) for p in find_images(args.images)]
        except (OSError, ValueError) as exc:
            raise UserError(str(exc)) from None
    if model.preprocessing.channel_order != "L":
        raise UserError(f"{model.architecture} takes colour images: give them with --images")
    from models.mnist import load_mnist_test, split
    if not 1 <= args.n <= 2000:
        raise UserError(f"--n must be between 1 and 2000 (the held-out digits), got {args.n}")
    _, (images, labels) = split(*load_mnist_test())
    return [(f"held-out digit {i}", images[i].astype(np.float32) / 255, int(labels[i])) for i in range(args.n)]


def score(model, inputs, labels, auc_steps=32, seed=0, progress=True) -> dict:
    """Every method of ``labels`` (keys of VARIANTS) and the reference maps on ``inputs``
    [(name, image, class or None)]: {label: {"deletion": [...], "insertion": [...], curves}}, and
    the integrated gradients' completeness errors when that method is scored."""
    from tqdm import tqdm

    from visualize import faithfulness
    from visualize.inputs import predict, prepare
    from visualize.method import get_method

    runners = {label: (get_method(VARIANTS[label][0])(model), VARIANTS[label][1]) for label in labels}
    rows = {label: {"deletion": [], "insertion": [], "deletion_curves": [], "insertion_curves": []}
            for label in (*labels, *REFERENCES)}
    completeness = []
    for name, image, target in tqdm(inputs, desc="attribution-score", unit="image", disable=not progress):
        x, shown = prepare(model, image)
        index = int(np.argmax(predict(model, x)[0])) if target is None else target
        found = {}
        for label, (method, settings) in runners.items():
            report = method(image, seed=seed, target=index, auc_steps=auc_steps, **settings).metadata["report"]
            found[label] = report["faithfulness"]
            if label == "integrated-gradients":
                completeness.append(report["completeness_error"])
        rng = np.random.default_rng(seed)
        found["random"] = faithfulness.faithfulness(model, x, faithfulness.random_map(shown.shape[:2], rng), index,
                                                    rng, auc_steps, auc_steps + 1)
        found["edge"] = faithfulness.faithfulness(model, x, faithfulness.edge_map(shown), index, rng, auc_steps,
                                                  auc_steps + 1)
        for label, f in found.items():
            for key in ("deletion", "insertion"):
                rows[label][key].append(f[f"{key}_auc"])
                rows[label][f"{key}_curves"].append(f[f"{key}_curve"])
    return {"rows": rows, "completeness_errors": completeness}


def summarize(scores: dict) -> list[dict]:
    """Per method: mean and standard error of both AUCs, and the share of images where its
    deletion AUC is below the random map's; sorted by mean deletion AUC (best first)."""
    rows = scores["rows"]
    random = np.asarray(rows["random"]["deletion"])
    table = []
    for label, r in rows.items():
        d, i = np.asarray(r["deletion"]), np.asarray(r["insertion"])
        sem = (lambda a: float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0)  # noqa: E731
        table.append({"method": label, "deletion_auc": float(d.mean()), "deletion_sem": sem(d),
                      "insertion_auc": float(i.mean()), "insertion_sem": sem(i),
                      "beats_random": float((d < random).mean()), "images": len(d)})
    return sorted(table, key=lambda row: row["deletion_auc"])


def markdown(table: list[dict], model: str, n: int, steps: int) -> str:
    lines = [f"Deletion and insertion AUC (Petsiuk et al. 2018) on {model}, {n} images, {steps} steps per curve; "
             "mean +- standard error. Deletion: lower is better; insertion: higher is better.", "",
             "| method | deletion AUC | insertion AUC | deletion below the random map's |",
             "|---|---|---|---|"]
    for row in table:
        lines.append(f"| {row['method']} | {row['deletion_auc']:.3f} +- {row['deletion_sem']:.3f} | "
                     f"{row['insertion_auc']:.3f} +- {row['insertion_sem']:.3f} | {row['beats_random']:.0%} |")
    return "\n".join(lines) + "\n"


def plot(table: list[dict], rows: dict, path: Path, title: str) -> None:
    """Bars of the mean AUCs with standard errors, and the mean curves, in one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    names = [row["method"] for row in table]
    at = np.arange(len(names))
    ax = axes[0]
    ax.barh(at - 0.2, [r["deletion_auc"] for r in table], 0.4, xerr=[r["deletion_sem"] for r in table],
            label="deletion (lower = better)", color="#c0392b")
    ax.barh(at + 0.2, [r["insertion_auc"] for r in table], 0.4, xerr=[r["insertion_sem"] for r in table],
            label="insertion (higher = better)", color="#2e86c1")
    ax.set_yticks(at, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.55)                      # room right of the bars for the legend
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("area under the class-probability curve")
    ax.legend(loc="lower right", fontsize=7)
    for ax, key in zip(axes[1:], ("deletion", "insertion")):
        for name in names:
            curve = np.mean(rows[name][f"{key}_curves"], axis=0)
            style = "--" if name in REFERENCES else "-"
            ax.plot(np.linspace(0, 1, len(curve)), curve, style, label=name)
        ax.set_xlabel(f"fraction of pixels {'removed (set to black)' if key == 'deletion' else 'restored'}")
        ax.set_ylabel("mean probability of the class")
        ax.set_title(f"{key} curves")
        ax.set_ylim(0, 1.02)
    axes[2].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(args):
    from visualize.arguments import load_model

    labels = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in labels if m not in VARIANTS]
    if unknown or not labels:
        raise UserError(f"--methods: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(VARIANTS)}")
    if args.auc_steps < 1:
        raise UserError(f"--auc-steps must be at least 1, got {args.auc_steps}")
    model = load_model(args.model)
    inputs = _inputs(model, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scores = score(model, inputs, labels, args.auc_steps, args.seed)
    table = summarize(scores)
    text = markdown(table, model.architecture, len(inputs), args.auc_steps)
    errors = scores["completeness_errors"]
    if errors:
        text += (f"\nIntegrated gradients' completeness error on these images: mean {np.mean(errors):.2%}, "
                 f"max {np.max(errors):.2%}.\n")
    (out / "attribution_score.md").write_text(text)
    (out / "attribution_score.json").write_text(json.dumps(
        {"model": model.architecture, "images": [name for name, _, _ in inputs], "auc_steps": args.auc_steps,
         "seed": args.seed, "table": table, "completeness_errors": errors,
         "per_image": {k: {"deletion": v["deletion"], "insertion": v["insertion"]} for k, v in scores["rows"].items()}},
        indent=1))
    plot(table, scores["rows"], out / "attribution_score.png",
         f"faithfulness of attribution maps: {model.architecture}, {len(inputs)} images")
    print(text)
    print(f"wrote {out / 'attribution_score.md'}, .json and .png")
    return 0
