"""`fetch` against an HTTP server on 127.0.0.1 started by the test: success, resume after a
dropped connection, wrong SHA-256, 404, connection refused; nothing appears at the final
paths unless verified. The checkpoint is a zip .pth of the small mnist_cnn network."""
import hashlib
import http.server
import json
import socket
import threading
import time

import numpy as np
import pytest

import models
from convert_test_helpers import write_zip_pth
from models import fetch as fetch_module
from models.fetch import FetchError, fetch
from torch_reference import host_state
from visualize.cli import main as cli_main


class Server(http.server.ThreadingHTTPServer):
    """Serves ``body`` at /ckpt.pth with Range support; ``drop_first`` cuts the first response
    after half the bytes; ``requests`` records (path, Range header); ``on_request`` is called
    at each request (to check the cache folder mid-download)."""

    def __init__(self, body: bytes, drop_first=False, honour_range=True):
        super().__init__(("127.0.0.1", 0), Handler)
        self.body, self.drop_first, self.honour_range = body, drop_first, honour_range
        self.requests, self.on_request = [], None


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        if srv.on_request:
            srv.on_request()
        if self.path != "/ckpt.pth":
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.honour_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(srv.body) - 1}/{len(srv.body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(srv.body) - start))
        self.end_headers()
        data = srv.body[start:]
        if srv.drop_first:
            srv.drop_first = False
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    net = models.build("mnist_cnn", seed=4)
    path = tmp_path_factory.mktemp("ckpt") / "ckpt.pth"
    write_zip_pth(path, host_state(net))
    return path.read_bytes(), net


@pytest.fixture
def serve(checkpoint):
    servers = []

    def start(**kwargs):
        srv = Server(checkpoint[0], **kwargs)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv, f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def home(tmp_path, monkeypatch, checkpoint):
    """A cache folder and a registry with one entry, 'tiny', pointing at /ckpt.pth."""
    monkeypatch.setenv("MINIGRAD_HOME", str(tmp_path / "cache"))
    registry = tmp_path / "registry.json"
    body = checkpoint[0]
    entry = {"description": "test", "url": "http://127.0.0.1:9/ckpt.pth", "file": "ckpt.pth", "size": len(body),
             "sha256": hashlib.sha256(body).hexdigest(), "format": "torch-pth", "architecture": "mnist_cnn"}
    registry.write_text(json.dumps({"checkpoints": {"tiny": entry}}))
    monkeypatch.setattr(fetch_module, "REGISTRY", registry)
    return tmp_path / "cache"


def _final_paths(home):
    return [home / "ckpt.pth", home / "tiny.h5"]


def test_fetch_downloads_verifies_and_converts(serve, home, checkpoint, capsys):
    srv, base = serve()
    assert cli_main(["weights", "fetch", "tiny", "--url", f"{base}/ckpt.pth", "--quiet"]) == 0
    path = capsys.readouterr().out.strip()
    assert path == str(home / "tiny.h5")
    assert sorted(p.name for p in home.iterdir()) == ["tiny.h5"]     # raw file removed
    net = models.load(path)
    for key, value in host_state(checkpoint[1]).items():
        np.testing.assert_array_equal(host_state(net)[key], value)
    assert net.metadata["source_sha256"] == hashlib.sha256(checkpoint[0]).hexdigest()
    assert net.metadata["source_url"] == f"{base}/ckpt.pth"


def test_fetch_resumes_after_a_dropped_connection(serve, home, checkpoint):
    srv, base = serve(drop_first=True)
    seen = []
    srv.on_request = lambda: seen.append([p.exists() for p in _final_paths(home)])
    path = fetch("tiny", url=f"{base}/ckpt.pth", keep_source=True, progress=False)
    assert len(srv.requests) == 2 and srv.requests[0][1] is None
    half = (len(checkpoint[0])) // 2
    assert srv.requests[1][1] == f"bytes={half}-"
    assert seen == [[False, False], [False, False]]            # nothing final before verification
    assert (home / "ckpt.pth").read_bytes() == checkpoint[0]   # kept with keep_source
    assert path.exists()


def test_fetch_restarts_when_the_server_ignores_range(serve, home, checkpoint):
    srv, base = serve(honour_range=False)
    home.mkdir()
    (home / "ckpt.pth.part").write_bytes(b"garbage that is not a prefix")
    fetch("tiny", url=f"{base}/ckpt.pth", progress=False)
    assert srv.requests[0][1] == "bytes=28-"
    assert models.load(home / "tiny.h5") is not None


def test_wrong_sha256_deletes_the_download(serve, home):
    srv, base = serve()
    with pytest.raises(FetchError, match="failed verification, so it was deleted: SHA256 of .* expected 0000"):
        fetch("tiny", url=f"{base}/ckpt.pth", sha256="0" * 64, progress=False)
    assert list(home.iterdir()) == []


def test_http_404_is_reported(serve, home):
    srv, base = serve()
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch("tiny", url=f"{base}/missing.pth", progress=False)
    assert not any(p.exists() for p in _final_paths(home))


def test_connection_refused_fails_fast_with_the_manual_route(home, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # closed again: nobody listens there
    url = f"http://127.0.0.1:{port}/ckpt.pth"
    start = time.monotonic()
    assert cli_main(["weights", "fetch", "tiny", "--url", url, "--quiet"]) == 2
    assert time.monotonic() - start < 5
    err = capsys.readouterr().err
    assert f"cannot download {url}" in err
    assert f"minigrad weights convert ckpt.pth {home / 'tiny.h5'} --arch mnist_cnn --sha256 " in err
    assert not any(p.exists() for p in _final_paths(home))


def test_unknown_name_lists_the_registry(home):
    with pytest.raises(FetchError, match="known: tiny"):
        fetch("nope", progress=False)


def test_registry_entries_are_convertible_and_pinned():
    """Every shipped entry names a registered architecture and a digest; the Keras files carry
    the MD5s and sizes of weights-formats.md section 0."""
    entries = fetch_module.registry_entries()
    for name, entry in entries.items():
        assert entry["architecture"] in models.names(), name
        assert any(h in entry for h in ("sha256", "md5", "sha1")), name
    notop = entries["vgg16_features"]
    assert (notop["architecture"], notop["md5"], notop["size"]) == (
        "vgg16_features", "6d6bbae143d832006294945121d1f1fc", 58_889_256)
    assert notop["url"].endswith("/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert (entries["vgg16_keras"]["md5"], entries["vgg16_keras"]["size"]) == (
        "64373286793e3c8b2b4e3219cbf3544b", 553_467_096)


def test_missing_registry_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fetch_module, "REGISTRY", tmp_path / "weights" / "registry.json")
    monkeypatch.setenv("MINIGRAD_HOME", str(tmp_path / "home"))
    for argv in (["weights", "list"], ["weights", "fetch", "vgg16", "--quiet"]):
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert "registry" in err and "is missing" in err and "not with an installed wheel" in err, argv
        assert "minigrad weights convert SRC DST.h5 --arch NAME" in err
    assert not (tmp_path / "home").exists()
