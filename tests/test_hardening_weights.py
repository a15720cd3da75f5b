"""Weights files whose preprocessing would demand absurd memory are refused at validation
(issue 10, item 3): before, ``resize_shorter_side = 100000`` passed and then asked for 112 GiB
on the first image."""
from __future__ import annotations

import re

import h5py
import numpy as np
import pytest

import models
from models.network import MAX_INPUT_SIDE


@pytest.fixture()
def weights_file(tmp_path):
    path = tmp_path / "net.h5"
    models.save(models.build("mnist_cnn", seed=0), path)
    return path


def _set(path, name, value):
    with h5py.File(path, "r+") as f:
        f.attrs[name] = value


@pytest.mark.parametrize("name, value, shown", [
    ("resize_shorter_side", np.int64(100_000), "100000"),
    ("input_size", np.array([100_000, 28], np.int64), "[100000, 28]"),
    ("input_size", np.array([28, MAX_INPUT_SIDE + 1], np.int64), f"[28, {MAX_INPUT_SIDE + 1}]"),
])
def test_absurd_sizes_are_refused_naming_the_attribute_and_the_bound(weights_file, name, value, shown):
    _set(weights_file, name, value)
    with pytest.raises(models.WeightsValidationError, match=rf"'{name}'.*{re.escape(shown)}") as info:
        models.load(weights_file)
    assert f"at most {MAX_INPUT_SIDE}" in str(info.value)


def test_resize_smaller_than_the_crop_is_refused(weights_file):
    _set(weights_file, "resize_shorter_side", np.int64(20))      # input_size is 28 x 28
    with pytest.raises(models.WeightsValidationError, match=r"'resize_shorter_side' is 20.*input_size 28"):
        models.load(weights_file)


@pytest.mark.parametrize("name", ["input_mean", "input_std"])
def test_non_finite_normalization_is_refused(weights_file, name):
    _set(weights_file, name, np.array([np.nan]))
    with pytest.raises(models.WeightsValidationError, match=rf"'{name}' must be finite"):
        models.load(weights_file)


def test_sane_values_still_load(weights_file):
    _set(weights_file, "resize_shorter_side", np.int64(32))
    assert models.load(weights_file).preprocessing.resize_shorter_side == 32
