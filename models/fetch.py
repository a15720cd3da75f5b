"""Download a registered checkpoint, verify it, and convert it to a minigrad weights file.

``fetch("vgg16")`` looks the name up in ``weights/registry.json`` (URL, size, digest, format,
architecture) and then:

1. downloads into the cache folder (``$MINIGRAD_HOME``, default ``~/.cache/minigrad``) as
   ``<file>.part``, with a progress bar; a ``.part`` left by an interrupted run (or a connection
   dropped during this one) is resumed with an HTTP ``Range`` request, and restarted from zero
   when the server answers 200 instead of 206;
2. checks the size and the full digest (SHA-256 where known; the published MD5/SHA-1 for the
   Keras and Caffe files). A mismatch deletes the download;
3. converts with :func:`models.convert.convert` into ``<cache>/<name>.h5`` (written under a
   temporary name and validated before it is moved into place) and removes the raw file
   unless ``keep_source``.

Nothing appears at the final path of either file unless it has been verified. Network errors
(no DNS, refused connection, time-out) fail at once with the URL and the ``minigrad weights
convert`` command to run on a file downloaded by hand.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from models import home
from models.atomic import DestinationError, check_writable
from models.convert.convert import HASHES, convert, verify_digests
from models.convert.errors import ConversionError

REGISTRY = Path(__file__).resolve().parent.parent / "weights" / "registry.json"
TIMEOUT_S = 10.0
ATTEMPTS = 3
_BLOCK = 1 << 20


class FetchError(RuntimeError):
    """A download failed; the message gives the URL and what to do."""


def registry_entries() -> dict[str, dict]:
    """The downloadable checkpoints: name -> {url, file, size, sha256|md5|sha1, format,
    architecture, description}. ``format`` is informational: the converter detects the
    format from the file's bytes.

    The registry is ``weights/registry.json`` of the source repository, found relative to this
    package: a clone or an editable install (``pip install -e .``) has it; an installed wheel
    does not, and then this fails with a message saying so."""
    if not REGISTRY.is_file():
        raise FetchError(f"the checkpoint registry {REGISTRY} is missing: it ships with the source repository "
                         f"(weights/registry.json), not with an installed wheel; run minigrad from a clone "
                         f"(pip install -e .), or download a checkpoint yourself and run "
                         f"`minigrad weights convert SRC DST.h5 --arch NAME`")
    return json.loads(REGISTRY.read_text(encoding="utf-8"))["checkpoints"]


def fetched_path(name: str) -> Path:
    """Where :func:`fetch` puts the converted weights of ``name`` (``models.load(name)`` looks
    there too when ``name`` is an architecture)."""
    return home() / f"{name}.h5"


def _offline_message(url: str, entry: dict, name: str, reason) -> str:
    target = fetched_path(name)
    digest = next(((h, entry[h]) for h in HASHES if h in entry), None)
    check = f" --{digest[0]} {digest[1]}" if digest else ""
    return (f"cannot download {url}: {reason}. If this machine has no network, download that URL "
            f"on one that has, copy the file here and run:\n"
            f"  minigrad weights convert {entry['file']} {target} --arch {entry['architecture']}{check}")


def _open(url: str, start: int):
    request = urllib.request.Request(url, headers={"User-Agent": "minigrad-fetch"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=TIMEOUT_S)


def _download(url: str, part: Path, size: int | None, progress: bool) -> None:
    """Fill ``part`` with the whole body of ``url``, resuming and retrying dropped connections."""
    for attempt in range(1, ATTEMPTS + 1):
        start = part.stat().st_size if part.exists() else 0
        if size is not None and start == size:
            return
        try:
            response = _open(url, start)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and start:     # our .part is not a prefix the server recognizes
                part.unlink()
                continue
            raise
        with response:
            if start and response.status != 206:
                start = 0                      # the server ignored Range: start again
            total = response.headers.get("Content-Length")
            total = start + int(total) if total is not None else size
            if size is not None and total is not None and total != size:
                raise FetchError(f"{url} offers {total} bytes, the registry expects {size}: "
                                 f"a different file; pass --url/--sha256 for a mirror of another version")
            bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                       desc=part.name.removesuffix(".part"), disable=not progress, leave=False)
            try:
                with open(part, "ab" if start else "wb") as out, bar:
                    while block := response.read(_BLOCK):
                        out.write(block)
                        bar.update(len(block))
            except (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError) as exc:
                if attempt == ATTEMPTS:
                    raise FetchError(f"download of {url} broke off {ATTEMPTS} times ({exc}); the partial "
                                     f"file {part} is kept: run the same command again to resume") from exc
                continue
        done = part.stat().st_size
        if total is None or done == total:
            return
        if attempt == ATTEMPTS:
            raise FetchError(f"download of {url} stopped at {done} of {total} bytes; run the same "
                             f"command again to resume from {part}")


def fetch(name: str, *, url: str | None = None, sha256: str | None = None, keep_source: bool = False,
          progress: bool = True) -> Path:
    """Download, verify and convert the registered checkpoint ``name``; return the HDF5 path.

    ``url`` / ``sha256`` override the registry (a mirror, or a file the registry does not pin).
    An existing converted file is returned as is (``models.load`` validates it when used).
    """
    entries = registry_entries()
    if name not in entries:
        raise FetchError(f"no checkpoint named '{name}' in {REGISTRY}; known: {', '.join(sorted(entries))}")
    entry = entries[name]
    url = url or entry["url"]
    target = fetched_path(name)
    if target.exists():
        return target
    expected = {"sha256": sha256} if sha256 else {h: entry[h] for h in HASHES if h in entry}
    if not expected:
        raise FetchError(f"'{name}' has no published digest; pass --sha256 with the digest of a file you trust")
    size = None if sha256 else entry.get("size")
    folder = home()
    try:
        check_writable(target)   # before the download, not after it
    except DestinationError as exc:
        raise FetchError(f"the weights cache (MINIGRAD_HOME={folder}) cannot be written: {exc}; set "
                         f"MINIGRAD_HOME to a folder you can write to") from None
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / entry["file"]
    part = raw.with_name(raw.name + ".part")
    try:
        _download(url, part, size, progress)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url} answered HTTP {exc.code} {exc.reason}; check the URL, or pass --url "
                         f"with a mirror of {entry['file']}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(_offline_message(url, entry, name, reason)) from exc
    try:
        verify_digests(part, expected)
    except ConversionError as exc:
        part.unlink()
        raise FetchError(f"downloaded {url} but it failed verification, so it was deleted: {exc}") from exc
    os.replace(part, raw)
    try:
        convert(raw, target, entry["architecture"], expected=expected, source_url=url)
    finally:
        if not keep_source:
            raw.unlink()
    return target
