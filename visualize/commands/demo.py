"""``minigrad demo``: run every registered method on the embedded defaults."""


def register(subparsers):
    p = subparsers.add_parser("demo", help="run every method on the shipped defaults and write an HTML gallery")
    p.add_argument("--out", default="demo", help="output folder (default: demo)")
    p.set_defaults(func=run)


def run(args):
    print("nothing to demo yet")
    return 0
