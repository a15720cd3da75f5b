"""A static HTML page of results: one section per method, with its paper, and for each run
the exact command that reproduces it and the pictures it wrote.

The page is plain HTML with relative links to the PNGs (open ``index.html`` from disk; no
server, no scripts). Written atomically like every output.
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import minigrad
from visualize.result import write_files_atomically

__all__ = ["Entry", "Section", "write_gallery"]


@dataclass
class Entry:
    """One run: the shell command, a caption, the pictures it wrote, or the error it hit."""

    command: str
    caption: str = ""
    pictures: list = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Section:
    """One method: its name, title, summary and paper reference, and its runs."""

    name: str
    title: str
    summary: str
    reference: str
    url: str
    entries: list = field(default_factory=list)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
nav a { margin-right: 1em; }
section { border-top: 1px solid #ccc; margin-top: 2em; }
.ref { color: #555; font-size: 0.9em; }
.entry { margin: 1.2em 0; }
.entry img { max-width: 100%; border: 1px solid #ddd; margin: 0.3em 0.3em 0 0; image-rendering: pixelated; }
code { background: #f4f4f4; padding: 0.2em 0.4em; display: inline-block; white-space: pre-wrap; }
.error { color: #b00; }
"""


def _entry_html(entry: Entry, root: Path) -> str:
    e = html.escape
    parts = [f'<div class="entry"><p>{e(entry.caption)} '
             f'<span class="ref">({entry.seconds:.1f} s)</span><br><code>{e(entry.command)}</code></p>']
    if entry.error:
        parts.append(f'<p class="error">failed: {e(entry.error)}</p>')
    for pic in entry.pictures:
        rel = Path(os.path.relpath(pic, root)).as_posix()
        parts.append(f'<a href="{e(rel)}"><img src="{e(rel)}" alt="{e(Path(pic).stem)}" loading="lazy"></a>')
    parts.append("</div>")
    return "\n".join(parts)


def write_gallery(path, sections, intro: str = "") -> Path:
    """Write the gallery of ``sections`` to ``path`` (an .html file); pictures are linked
    relative to its folder. Returns the path."""
    path = Path(path)
    root = path.parent
    e = html.escape
    body = [f"<h1>minigrad gallery</h1><p>{e(intro)}</p>",
            "<nav>" + "".join(f'<a href="#{e(s.name)}">{e(s.title)}</a>' for s in sections) + "</nav>"]
    for s in sections:
        body.append(f'<section id="{e(s.name)}"><h2>{e(s.title)} <small>(<code>minigrad {e(s.name)}</code>)'
                    f'</small></h2><p>{e(s.summary)}</p>'
                    f'<p class="ref">{e(s.reference)}. <a href="{e(s.url)}">{e(s.url)}</a></p>')
        body.extend(_entry_html(entry, root) for entry in s.entries)
        body.append("</section>")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>minigrad {e(minigrad.__version__)} gallery</title><style>{_STYLE}</style></head>\n"
            f"<body>\n" + "\n".join(body) + "\n</body></html>\n")
    write_files_atomically({path: page.encode("utf-8")})
    return path
