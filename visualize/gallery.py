"""A static HTML page of results, as a student reads it: the lecture's families in order, one
section per method with its paper, and for each run the exact command that reproduces it, the
picture, a caption in HTML (model, class, probability, unit) and a link to its JSON sidecar.

The page says which of the lecture's methods are present and which are not built yet, which
models ran and how to get the others, and in which folder the printed commands reproduce
their pictures (the page's own). It is plain HTML with relative links (open ``index.html``
from disk; no server, no scripts, nothing fetched from elsewhere), written atomically like
every output.
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import minigrad
from visualize import lecture
from visualize.result import write_files_atomically

__all__ = ["Entry", "Section", "write_gallery", "caption_of"]


@dataclass
class Entry:
    """One run: the shell command, a caption, the pictures it wrote with their sidecars'
    contents, or the error it hit."""

    command: str
    caption: str = ""
    pictures: list = field(default_factory=list)
    sidecars: list = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Section:
    """One method: its name, title, summary, paper reference, family, inputs and runs."""

    name: str
    title: str
    summary: str
    reference: str
    url: str
    family: str = "other"
    inputs: str = ""
    entries: list = field(default_factory=list)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222;
       overflow-wrap: anywhere; }
nav a { margin-right: 1em; display: inline-block; }
h2.family { margin-top: 2.5em; border-bottom: 3px solid #444; }
section { border-top: 1px solid #ccc; margin-top: 1.5em; }
.ref, .meta { color: #555; font-size: 0.9em; }
figure { margin: 1.2em 0; padding-bottom: 0.4em; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; image-rendering: pixelated; }
figcaption { font-size: 0.95em; }
code { background: #f4f4f4; padding: 0.2em 0.4em; display: block; white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; max-width: 100%; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
.missing { color: #999; }
.error { color: #b00; }
"""


def caption_of(sidecar: dict) -> str:
    """The words under a picture: model, input, class and probability or unit, and the
    method's own caption line, from the result's JSON sidecar."""
    parts = [f"model {sidecar.get('model', {}).get('architecture', '?')}"]
    source = sidecar.get("input")
    if isinstance(source, str):
        parts.append(f"input {Path(source).name}")
    target = (sidecar.get("report") or {}).get("target")
    if isinstance(target, dict):
        if target.get("kind") == "class" or "probability" in target:
            parts.append(f"class {target.get('name')!r} (p={target.get('probability', float('nan')):.3f})")
        elif target.get("kind") == "unit":
            where = f" at {tuple(target['position'])}" if target.get("position") else ""
            parts.append(f"unit {target.get('layer')} channel {target.get('channel')}{where}")
    if sidecar.get("caption"):
        parts.append(sidecar["caption"])
    return "; ".join(parts)


def _figure(picture: Path, sidecar: dict | None, root: Path) -> str:
    e = html.escape
    rel = Path(os.path.relpath(picture, root)).as_posix()
    json_rel = Path(rel).with_suffix(".json").as_posix()
    words = caption_of(sidecar) if sidecar else Path(picture).stem
    return (f'<figure><a href="{e(rel)}"><img src="{e(rel)}" alt="{e(words)}"></a>'
            f'<figcaption>{e(words)} <a class="meta" href="{e(json_rel)}">(sidecar JSON)</a></figcaption></figure>')


def _entry_html(entry: Entry, root: Path) -> str:
    e = html.escape
    parts = [f'<div class="entry"><p>{e(entry.caption)} <span class="ref">({entry.seconds:.1f} s)</span></p>'
             f"<code>{e(entry.command)}</code>"]
    if entry.error:
        parts.append(f'<p class="error">failed: {e(entry.error)}</p>')
    sidecars = entry.sidecars + [None] * (len(entry.pictures) - len(entry.sidecars))
    parts.extend(_figure(pic, meta, root) for pic, meta in zip(entry.pictures, sidecars))
    parts.append("</div>")
    return "\n".join(parts)


def _coverage(sections) -> str:
    """A table of the lecture's methods: present (a link to its section) or not built yet."""
    e = html.escape
    present = {s.name for s in sections}
    rows = []
    for family, names in lecture.FAMILIES:
        cells = ", ".join(f'<a href="#{e(n)}">{e(n)}</a>' if n in present else f'<span class="missing">{e(n)} '
                          f'(not built yet)</span>' for n in names)
        rows.append(f"<tr><th>{e(family)}</th><td>{cells}</td></tr>")
    built = sum(n in present for n in lecture.ORDER)
    return (f"<p>{built} of the lecture's {len(lecture.ORDER)} methods are built and shown here:</p>"
            f"<table>{''.join(rows)}</table>")


def write_gallery(path, sections, models_run=(), models_missing=(), seconds: float = 0.0) -> Path:
    """Write the gallery of ``sections`` to ``path`` (an .html file); pictures are linked
    relative to its folder. ``models_run`` are the models the runs used, ``models_missing``
    the lecture's networks whose weights were not there. Returns the path."""
    path = Path(path)
    root = path.parent
    e = html.escape
    ran = ", ".join(Path(m).stem if Path(m).suffix == ".h5" else m for m in models_run) or "none"
    missing = (f"<p>Not run: {', '.join(e(m) for m in models_missing)} (no weights in the cache). Get them with "
               + " and ".join(f"<code style='display:inline'>minigrad weights fetch {e(m)}</code>"
                              for m in models_missing) + ", then run <code style='display:inline'>minigrad demo"
               "</code> again.</p>") if models_missing else ""
    body = [f"<h1>minigrad gallery</h1>",
            f"<p>The methods of CS231n lecture 12, 'Visualizing and Understanding', on the engine's own networks. "
            f"Models that ran: {e(ran)}. Made by <code style='display:inline'>minigrad demo</code> in "
            f"{seconds:.0f} s.</p>", missing, _coverage(sections),
            f"<p>Every command below reproduces its picture byte for byte when run in this page's folder "
            f"(<code style='display:inline'>{e(str(root.resolve()))}</code>). Heat maps carry a colour bar with "
            f"their range; signed maps use a blue-white-red scale centred on zero.</p>"]
    for family, _ in lecture.FAMILIES + (("other", ()),):
        members = [s for s in sections if s.family == family]
        if not members:
            continue
        body.append(f'<h2 class="family">{e(family.capitalize())}</h2>'
                    "<nav>" + "".join(f'<a href="#{e(s.name)}">{e(s.title)}</a>' for s in members) + "</nav>")
        for s in members:
            body.append(f'<section id="{e(s.name)}"><h3>{e(s.title)} <small>(<code style="display:inline">minigrad '
                        f'{e(s.name)}</code>)</small></h3><p>{e(s.summary)}</p>'
                        f'<p class="ref">Input: {e(s.inputs)}. {e(s.reference)}. <a href="{e(s.url)}">{e(s.url)}</a>'
                        f"</p>")
            body.extend(_entry_html(entry, root) for entry in s.entries)
            body.append("</section>")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>minigrad {e(minigrad.__version__)} gallery</title><style>{_STYLE}</style></head>\n"
            f"<body>\n" + "\n".join(body) + "\n</body></html>\n")
    write_files_atomically({path: page.encode("utf-8")})
    return path
