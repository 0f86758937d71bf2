"""deconvkit.sparse pooling with switches and the stacked DeconvNet."""

import itertools
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from deconvkit.sparse import DeconvNet, SynthesisOperator, max_pool, max_unpool
from deconvkit.sparse.images import highpass, sample_images


# --- pooling ----------------------------------------------------------------------------

@st.composite
def pool_cases(draw):
    nd = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    size = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + spatial
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape)
    z[rng.random(shape) < draw(st.sampled_from([0.0, 0.5, 0.9]))] = 0.0    # ties at zero
    return z, size


def window_oracle(z, size):
    """The pooled values by a loop over every window: (value of largest |.|, set of
    positions where it is largest)."""
    pooled_shape = tuple(-(-n // s) for n, s in zip(z.shape[2:], size))
    values = np.empty(z.shape[:2] + pooled_shape)
    for n, c in itertools.product(range(z.shape[0]), range(z.shape[1])):
        for p in np.ndindex(*pooled_shape):
            window = z[(n, c) + tuple(slice(i * s, (i + 1) * s) for i, s in zip(p, size))]
            values[(n, c) + p] = window.flat[np.argmax(np.abs(window))]
    return values


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_max_pool_takes_the_largest_magnitude_of_every_window(case):
    z, size = case
    before = z.copy()
    pooled, switches = max_pool(z, size)
    np.testing.assert_array_equal(pooled, window_oracle(z, size))
    plane = z.reshape(z.shape[:2] + (-1,))
    np.testing.assert_array_equal(                       # the switch points at the value
        np.take_along_axis(plane, switches.reshape(z.shape[:2] + (-1,)), -1),
        pooled.reshape(z.shape[:2] + (-1,)))
    np.testing.assert_array_equal(z, before)


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_unpool_after_pool_keeps_the_maxima_and_nothing_else(case):
    z, size = case
    pooled, switches = max_pool(z, size)
    back = max_unpool(pooled, switches, z.shape)
    assert back.shape == z.shape
    kept = back != 0
    np.testing.assert_array_equal(back[kept], z[kept])   # only values of z, in place
    assert np.count_nonzero(back) == np.count_nonzero(pooled)
    again, switches_again = max_pool(back, size)         # pooling again: same values
    np.testing.assert_array_equal(again, pooled)
    np.testing.assert_array_equal(max_unpool(again, switches_again, z.shape), back)


@settings(max_examples=40, deadline=None)
@given(pool_cases(), st.integers(0, 2**16))
def test_unpool_is_the_adjoint_of_reading_at_the_switches(case, seed):
    z, size = case
    _, switches = max_pool(z, size)
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(switches.shape)
    x = rng.standard_normal(z.shape)
    read = np.take_along_axis(x.reshape(x.shape[:2] + (-1,)),
                              switches.reshape(x.shape[:2] + (-1,)), -1)
    assert np.vdot(max_unpool(p, switches, z.shape), x) == pytest.approx(
        np.vdot(p.reshape(read.shape), read), rel=1e-12, abs=1e-12)


def test_pooling_matches_pytorch_max_pool_with_indices_on_magnitudes():
    """On non-negative maps pooling by magnitude is PyTorch's max pooling, and the
    switches are its return_indices (flat positions in the plane)."""
    torch = pytest.importorskip("torch")
    z = np.abs(np.random.default_rng(5).standard_normal((2, 3, 8, 6)))
    pooled, switches = max_pool(z, (2, 3))
    t_pooled, t_index = torch.nn.functional.max_pool2d(torch.from_numpy(z), (2, 3),
                                                       return_indices=True)
    np.testing.assert_array_equal(pooled, t_pooled.numpy())
    np.testing.assert_array_equal(switches, t_index.numpy())
    t_back = torch.nn.functional.max_unpool2d(t_pooled, t_index, (2, 3), output_size=(8, 6))
    np.testing.assert_array_equal(max_unpool(pooled, switches, (8, 6)), t_back.numpy())


def test_pooling_errors_name_expected_and_received():
    z = np.zeros((1, 1, 4, 4))
    pooled, switches = max_pool(z, 2)
    with pytest.raises(ValueError, match=r"size must be >= 1 on every axis, got \(0, 2\)"):
        max_pool(z, (0, 2))
    with pytest.raises(ValueError, match=r"z must have shape \(N, C, \*spatial\)"):
        max_pool(np.zeros(4), 2)
    with pytest.raises(ValueError, match=r"switches must be integers of pooled's shape"):
        max_unpool(pooled, switches[..., :1], z.shape)
    with pytest.raises(ValueError,
                       match=r"plane \(2, 2\), in \[0, 3\], got values in \[0, 25\]"):
        max_unpool(pooled, switches + np.array([[0, 15]]), (2, 2))
    with pytest.raises(ValueError, match=r"shape must have \(N, C\) = \(1, 1\)"):
        max_unpool(pooled, switches, (2, 1, 4, 4))


# --- the stacked network ----------------------------------------------------------------

LAYERS = [dict(num_filters=8, kernel_size=5, lam=0.02),
          dict(num_filters=8, kernel_size=3, lam=0.01)]


@pytest.fixture(scope="module")
def fitted():
    images = highpass(sample_images("shapes", n=4, size=32))[0]
    net = DeconvNet(LAYERS, pool=2, seed=0, coding_iterations=50).fit(images, iterations=8)
    return net, images


def psnr(estimate, reference):
    peak = reference.max() - reference.min()
    return 10 * np.log10(peak ** 2 / np.mean((estimate - reference) ** 2))


def test_reconstruction_from_the_top_layer_through_both_operators(fitted):
    net, images = fitted
    (z1, z2), (switches,), shapes = net.infer(images, full_output=True)
    assert shapes == [(32, 32)]
    assert z1.shape == (4, 8, 32, 32) and z2.shape == (4, 8, 16, 16)
    assert [d.shape for d in net.filters] == [(8, 1, 5, 5), (8, 8, 3, 3)]
    for d in net.filters:
        assert np.all(np.linalg.norm(d.reshape(d.shape[0], -1), axis=1) <= 1 + 1e-12)
    top = net.reconstruct(z2)
    # by hand: layer 2's operator, unpooling by the switches, layer 1's operator
    D2 = SynthesisOperator(net.filters[1], (8, 16, 16), boundary="circular")
    D1 = SynthesisOperator(net.filters[0], (1, 32, 32), boundary="circular")
    by_hand = D1.forward(max_unpool(D2.forward(z2), switches, z1.shape))
    np.testing.assert_allclose(top, by_hand, rtol=1e-12, atol=1e-12)
    nothing = psnr(np.zeros_like(images), images)
    assert psnr(top, images) > max(24.0, nothing + 4.0), (psnr(top, images), nothing)
    assert psnr(D1.forward(z1), images) > psnr(top, images)       # one layer: closer still


def test_pooling_switches_round_trip_inside_the_network(fitted):
    net, images = fitted
    (z1, _), (switches,), _ = net.infer(images[:2], full_output=True)
    pooled, sw = max_pool(z1, 2)
    np.testing.assert_array_equal(sw, switches)
    np.testing.assert_array_equal(max_pool(max_unpool(pooled, sw, z1.shape), 2)[0], pooled)


def test_save_and_load_give_the_same_network(fitted, tmp_path):
    net, images = fitted
    path = tmp_path / "net"
    net.save(path)
    assert os.listdir(tmp_path) == ["net"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        net.save(path)
    back = DeconvNet.load(path)
    for a, b in zip(back.filters, net.filters):
        np.testing.assert_array_equal(a, b)
    assert back.layers == net.layers and back.pool == net.pool
    codes, ours = back.infer(images[:1]), net.infer(images[:1])
    for a, b in zip(codes, ours):
        np.testing.assert_array_equal(a, b)
    net.save(path, overwrite=True)


def test_without_pooling_and_with_the_zero_boundary():
    images = highpass(sample_images("shapes", n=2, size=16))[0]
    net = DeconvNet([dict(num_filters=4, kernel_size=3, lam=0.02),
                     dict(num_filters=4, kernel_size=3, lam=0.02)], pool=None,
                    boundary="zero", seed=0, coding_iterations=20).fit(images, iterations=2)
    z1, z2 = net.infer(images)
    assert z1.shape == (2, 4, 14, 14) and z2.shape == (2, 4, 12, 12)
    assert net.reconstruct(z2).shape == images.shape


def test_stack_errors_name_expected_and_received(fitted):
    net, images = fitted
    with pytest.raises(ValueError, match=r"layers\[1\] must be a dict with exactly the keys "
                                         r"num_filters, kernel_size, lam, got \['lam'\]"):
        DeconvNet([LAYERS[0], dict(lam=0.1)])
    with pytest.raises(TypeError, match="layers must be a non-empty list"):
        DeconvNet([])
    with pytest.raises(ValueError, match=r"layers\[0\]\['lam'\] must be a finite number >= 0"):
        DeconvNet([dict(num_filters=2, kernel_size=3, lam=-1)])
    with pytest.raises(ValueError, match="call fit"):
        DeconvNet(LAYERS).infer(images)
    with pytest.raises(ValueError, match=r"images must have C = 1 channels .*got shape "
                                         r"\(1, 3, 32, 32\)"):
        net.infer(np.zeros((1, 3, 32, 32)))
    with pytest.raises(ValueError, match=r"maps of layer 2 must have shape \(N, 8, \*spatial\)"):
        net.reconstruct(np.zeros((1, 5, 16, 16)))
    with pytest.raises(ValueError, match=r"needs 1 switch arrays"):
        net.reconstruct(np.zeros((1, 8, 16, 16)), switches=[], shapes=[])


def test_large_pooling_numbers_are_bounded_or_refused_before_allocating():
    z = np.random.default_rng(0).standard_normal((1, 2, 4, 5))
    for got, want in zip(max_pool(z, 10 ** 6), max_pool(z, (4, 5))):  # window: whole map
        np.testing.assert_array_equal(got, want)
    pooled, switches = max_pool(z, 2)
    with pytest.raises(ValueError, match=r"unpooled maps .*shape=\(1000000, 1000000\)"):
        max_unpool(pooled, switches, (10 ** 6, 10 ** 6))


TWO_SMALL = [dict(num_filters=2, kernel_size=3, lam=0.1)] * 2


def test_switches_of_an_earlier_infer_unpool_in_their_own_plane():
    rng = np.random.default_rng(0)
    net = DeconvNet(TWO_SMALL, pool=2, seed=0, coding_iterations=5)
    net.fit(rng.standard_normal((1, 1, 15, 15)), iterations=1)
    codes, switches, shapes = net.infer(rng.standard_normal((1, 1, 15, 15)),
                                        full_output=True)
    assert shapes == [(15, 15)]                   # 15 is not 2 * 8: a partial window
    right_after = net.reconstruct(codes[-1])
    net.infer(rng.standard_normal((1, 1, 12, 12)))
    later = net.reconstruct(codes[-1], switches, shapes)
    np.testing.assert_array_equal(later, right_after)
    with pytest.raises(ValueError, match="shapes must be given with switches"):
        net.reconstruct(codes[-1], switches)
    with pytest.raises(ValueError, match=r"shapes\[0\] must be the spatial shape .*got "
                                         r"\(12, 12\)"):
        net.reconstruct(codes[-1], switches, [(12, 12)])
    with pytest.raises(ValueError, match="shapes is only used with switches"):
        net.reconstruct(codes[-1], shapes=shapes)


def test_pool_and_kernel_size_entries_are_checked_at_construction():
    with pytest.raises(ValueError, match=r"pool must be >= 1 on every axis, got \(0,\)"):
        DeconvNet(TWO_SMALL, pool=(0,))
    with pytest.raises(TypeError, match=r"layers\[0\]\['kernel_size'\] must be an int or a "
                                        r"sequence of 2 ints, got \(3, 'a'\)"):
        DeconvNet([dict(num_filters=2, kernel_size=(3, "a"), lam=0.1)])
    net = DeconvNet(TWO_SMALL, pool=(2, 2, 2))
    with pytest.raises(ValueError, match=r"pool must be an int or 2 ints for images of "
                                         r"shape \(1, 1, 8, 8\), got \(2, 2, 2\)"):
        net.fit(np.zeros((1, 1, 8, 8)), iterations=1)


def test_refit_on_images_with_another_channel_count():
    rng = np.random.default_rng(0)
    net = DeconvNet(TWO_SMALL[:1], pool=None, seed=0, coding_iterations=3)
    net.fit(rng.standard_normal((1, 1, 8, 8)), iterations=1)
    net.fit(rng.standard_normal((1, 3, 8, 8)), iterations=1)
    assert net.filters[0].shape == (2, 3, 3, 3)
    assert net.infer(rng.standard_normal((1, 3, 8, 8)))[0].shape == (1, 2, 8, 8)
