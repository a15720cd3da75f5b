"""The --dask path on a LocalCluster of two worker processes on loopback equals a local run."""
from __future__ import annotations

import os

import numpy as np
import pytest

import models
from models.datasets import open_source
from models.features import FeatureFile, extract, extract_distributed

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                                         "(pip install 'minigrad[dask]')")
dask = pytest.importorskip("dask")

LAYERS = ["relu_fc1", "relu2_2"]


@pytest.mark.slow
def test_two_workers_give_the_local_features(tmp_path, monkeypatch):
    source = open_source("mnist").subset(0, 150)
    # dask starts its workers with one BLAS thread; give them the parent's so that their float32
    # sums are the parent's, bit for bit (another thread count may round differently)
    threads = {k: os.environ.get(k, str(len(os.sched_getaffinity(0))))
               for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": threads}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster:
            done = extract_distributed(cluster.scheduler_address, "mnist_cnn", source, LAYERS,
                                       tmp_path / "joined" / "f.h5", pool="argmax", batch_size=50, progress=False)
    assert done.rows == 150
    shards = sorted(os.listdir(tmp_path / "joined" / "f.shards"))
    assert shards == ["shard-00000.h5", "shard-00001.h5"]
    extract(models.load("mnist_cnn"), source, LAYERS, tmp_path / "local.h5", pool="argmax", batch_size=50,
            progress=False)
    monkeypatch.chdir("/")                     # the virtual datasets find their shards from anywhere
    with FeatureFile(tmp_path / "joined" / "f.h5") as joined, FeatureFile(tmp_path / "local.h5") as local:
        assert joined.paths == local.paths and np.array_equal(joined.labels, local.labels)
        assert joined.identity == local.identity
        for layer in LAYERS:
            np.testing.assert_array_equal(joined.features(layer), local.features(layer))
        np.testing.assert_array_equal(joined.positions("relu2_2"), local.positions("relu2_2"))
        np.testing.assert_array_equal(joined.thumbnails(), local.thumbnails())
        assert joined._f["features/relu_fc1"].is_virtual and not local._f["features/relu_fc1"].is_virtual
