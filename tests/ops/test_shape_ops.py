"""reshape, transpose/permute, flatten, concat, stack, getitem, roll: finite differences,
torch comparisons and errors."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from minigrad import functional as F
from op_checks import DTYPES, FEW, FEWER, check_grad, compare_with_torch, host, randn, seeds, tensor

shapes = array_shapes(min_dims=1, max_dims=4, max_side=3)


@st.composite
def shape_and_permutation(draw):
    shape = draw(shapes)
    return shape, tuple(draw(st.permutations(range(len(shape)))))


@st.composite
def index_case(draw):
    """A shape and an index mixing ints (maybe negative), slices (maybe stepped/reversed) and
    fancy integer arrays with repeats."""
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    index, fancy_used = [], False
    for n in shape[:draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "fancy"] if not fancy_used else ["int", "slice"]))
        if kind == "int":
            index.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start, stop = draw(st.integers(-n, n)), draw(st.integers(-n, n))
            index.append(slice(start, stop, draw(st.sampled_from([None, 1, 2, -1]))))
        else:
            fancy_used = True
            index.append(np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))))
    return shape, tuple(index)


@FEW
@given(shape=shapes, seed=seeds, data=st.data())
def test_reshape_and_flatten_gradcheck(shape, seed, data):
    x = randn(seed, shape)
    target = data.draw(st.permutations(list(shape))).copy()
    target[0] = -1
    check_grad(lambda t: F.reshape(t, target), x)
    start = data.draw(st.integers(0, len(shape) - 1))
    check_grad(lambda t: F.flatten(t, start), x)


@FEW
@given(case=shape_and_permutation(), seed=seeds)
def test_transpose_gradcheck(case, seed):
    shape, perm = case
    x = randn(seed, shape)
    check_grad(lambda t: F.transpose(t, perm), x)
    check_grad(lambda t: F.permute(t, *perm), x)
    check_grad(lambda t: t.T, x)


@FEW
@given(shape=shapes, seed=seeds, data=st.data())
def test_concat_and_stack_gradcheck(shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = [randn(seed + i, shape[:axis % len(shape)] + (n,) + shape[axis % len(shape) + 1:])
             for i, n in enumerate(sizes)]
    check_grad(lambda *ts: F.concat(ts, axis=axis), *parts)
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    same = [randn(seed + i, shape) for i in range(len(sizes))]
    check_grad(lambda *ts: F.stack(ts, axis=new_axis), *same)


@FEW
@given(case=index_case(), seed=seeds)
def test_getitem_gradcheck(case, seed):
    shape, index = case
    check_grad(lambda t: t[index], randn(seed, shape))


def test_getitem_repeated_fancy_indices_accumulate():
    x = tensor(np.arange(4.0), requires_grad=True)
    F.getitem(x, np.array([1, 1, 3, 1])).backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(host(x.grad), [0, 7, 0, 3])


def test_getitem_with_a_boolean_mask_and_tensor_index():
    x = randn(5, (3, 4))
    check_grad(lambda t: t[x > 0], x)
    check_grad(lambda t: t[tensor(np.array([2, 0, 2])), 1:], x)


@FEW
@given(shape=shapes, seed=seeds, data=st.data())
def test_roll_gradcheck(shape, seed, data):
    x = randn(seed, shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    shift = data.draw(st.integers(-5, 5))
    check_grad(lambda t: F.roll(t, shift, axis), x)
    shifts = tuple(data.draw(st.integers(-4, 4)) for _ in shape)
    check_grad(lambda t: F.roll(t, shifts, tuple(range(len(shape)))), x)


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(case=shape_and_permutation(), seed=seeds)
def test_reshape_transpose_flatten_match_torch(torch, dtype, case, seed):
    shape, perm = case
    x = randn(seed, shape)
    compare_with_torch(torch, lambda t: F.transpose(t, perm), lambda t: t.permute(*perm), [x], dtype, seed)
    compare_with_torch(torch, lambda t: F.reshape(t, (-1,)), lambda t: t.reshape(-1), [x], dtype, seed)
    compare_with_torch(torch, lambda t: F.flatten(t, 0), lambda t: torch.flatten(t, 0), [x], dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES)
@FEWER
@given(case=index_case(), seed=seeds)
def test_getitem_matches_torch(torch, dtype, case, seed):
    shape, index = case
    torch_index = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)
    assume(not any(isinstance(i, slice) and i.step == -1 for i in index))  # torch has no negative steps
    # NumPy (which getitem follows) treats an int next to a fancy index as a fancy index too,
    # which moves the result axes differently from torch when a slice separates them
    kinds = {type(i) for i in index}
    assume(not (int in kinds and np.ndarray in kinds))
    compare_with_torch(torch, lambda t: t[index], lambda t: t[torch_index], [randn(seed, shape)], dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES)
def test_concat_stack_roll_match_torch(torch, dtype):
    a, b = randn(6, (2, 3, 2), (2, 1, 2))
    compare_with_torch(torch, lambda x, y: F.concat([x, y], axis=1), lambda x, y: torch.cat([x, y], 1), [a, b], dtype)
    compare_with_torch(torch, lambda x, y: F.stack([x, y], axis=-1), lambda x, y: torch.stack([x, y], -1),
                       [a, randn(7, (2, 3, 2))], dtype)
    compare_with_torch(torch, lambda x: F.roll(x, (1, -2), (0, 2)), lambda x: torch.roll(x, (1, -2), (0, 2)),
                       [a], dtype)


def test_shape_errors_name_the_function_and_shapes():
    x = tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape: cannot view a tensor of shape \(2, 3\) \(6 elements\) as \(4,\)"):
        F.reshape(x, (4,))
    with pytest.raises(ValueError, match=r"transpose: axes \(0, 2\) are not a permutation"):
        F.transpose(x, (0, 2))
    with pytest.raises(ValueError, match=r"concat: tensor 1 has shape \(3, 3\)"):
        F.concat([x, tensor(np.ones((3, 3)))], axis=1)
    with pytest.raises(ValueError, match="concat: axis 2 is out of range"):
        F.concat([x, x], axis=2)
    with pytest.raises(ValueError, match=r"stack: all tensors must have the same shape"):
        F.stack([x, tensor(np.ones((2, 2)))])
    with pytest.raises(ValueError, match="stack: axis 3 is out of range"):
        F.stack([x, x], axis=3)
    with pytest.raises(ValueError, match="roll: axis -3 is out of range"):
        F.roll(x, 1, -3)
