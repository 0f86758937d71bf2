"""deconvkit.sparse.learn: convolutional dictionary learning, and the filter files."""

import os

import numpy as np
import pytest
from scipy.signal import correlate

from deconvkit.sparse import (SynthesisOperator, learn, load_filters, objective,
                              save_filters)
from deconvkit.sparse.dictionary import (_Circular, _Zero, filter_lipschitz,
                                         initial_filters, project_filters)
from deconvkit.sparse.images import highpass, sample_images
from deconvkit.testing import numerical_grad


@pytest.fixture(scope="module")
def shapes():
    """4 high-passed 32 x 32 shapes images (the project's own, no dependency)."""
    return highpass(sample_images("shapes", n=4, size=32))[0]


def unit(rng, shape):
    d = rng.standard_normal(shape)
    return d / np.linalg.norm(d.reshape(shape[0], -1), axis=1).reshape(
        (-1,) + (1,) * (len(shape) - 1))


# --- the filter step ------------------------------------------------------------------

@pytest.mark.parametrize("boundary,geometry", [("circular", {}), ("zero", {}),
                                               ("zero", dict(stride=2, padding=1))])
def test_filter_gradient_matches_finite_differences(boundary, geometry):
    rng = np.random.default_rng(0)
    y = rng.standard_normal((2, 2, 9, 8))
    d = unit(rng, (3, 2, 3, 2))
    code_shape = SynthesisOperator(d, y.shape[1:], boundary=boundary, **geometry).code_shape
    z = rng.standard_normal((2,) + code_shape)

    def data_term(dd):
        r = SynthesisOperator(dd, y.shape[1:], boundary=boundary, **geometry).forward(z) - y
        return np.array(0.5 * np.vdot(r, r))

    term = _Circular(z, y, d.shape[2:]) if boundary == "circular" else \
        _Zero(z, y, d.shape[2:], geometry.get("stride", 1), geometry.get("padding", 0))
    np.testing.assert_allclose(term.gradient(d), numerical_grad(data_term, d, np.array(1.0)),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("boundary,stride,k", [("circular", 1, (3, 2)), ("circular", 1, (7, 6)),
                                               ("zero", 1, (3, 2)), ("zero", 2, (3, 3))])
def test_filter_lipschitz_bounds_the_map_from_filters_to_images(boundary, stride, k):
    """The bound is at least ||d -> D(d) z||² (the dense matrix's), and exact for
    circular filters as large as the image."""
    rng = np.random.default_rng(1)
    image = (1, 7, 6)
    probe = np.zeros((2, 1) + k)
    D = SynthesisOperator(probe, image, boundary=boundary, stride=stride)
    z = rng.standard_normal((3,) + D.code_shape)
    columns = []
    for e in np.eye(probe.size):
        columns.append(SynthesisOperator(e.reshape(probe.shape), image, boundary=boundary,
                                         stride=stride).forward(z).ravel())
    exact = np.linalg.norm(np.stack(columns, axis=1), 2) ** 2
    bound = filter_lipschitz(z, k, image[1:], stride=(stride, stride), boundary=boundary)
    assert bound >= exact * (1 - 1e-10)
    if boundary == "circular" and k == image[1:]:
        assert bound == pytest.approx(exact, rel=1e-9)


def test_projection_onto_the_unit_ball():
    d = np.random.default_rng(2).standard_normal((5, 2, 3, 3))
    d *= (np.array([0.1, 0.5, 1.0, 2.0, 10.0]) / np.linalg.norm(d.reshape(5, -1), axis=1)
          )[:, None, None, None]
    before = d.copy()
    p = project_filters(d)
    norms = np.linalg.norm(d.reshape(5, -1), axis=1)
    np.testing.assert_allclose(np.linalg.norm(p.reshape(5, -1), axis=1), np.minimum(norms, 1))
    np.testing.assert_allclose(p[:3], d[:3])                  # inside the ball: kept
    np.testing.assert_array_equal(d, before)


# --- learning ---------------------------------------------------------------------------

@pytest.mark.parametrize("options", [dict(method="fista"), dict(method="admm"),
                                     dict(boundary="zero", padding=2)])
def test_objective_falls_monotonically_on_a_fixed_batch(shapes, options):
    d, info = learn(shapes, 8, 5, 0.1, iterations=6, seed=0, coding_iterations=20,
                    full_output=True, **options)
    f = info["objective"]
    assert f.shape == (6, 2)
    steps = np.diff(f.ravel())                  # code, filter, code, filter, ...
    assert np.all(steps <= 1e-10 * f.max()), steps
    assert f[-1, 1] < 0.9 * f[0, 0]             # and it really learned something
    z = info["codes"]
    assert objective(shapes, d, z, 0.1, boundary=options.get("boundary", "circular"),
                     padding=options.get("padding", 0)) == pytest.approx(f[-1, 1], rel=1e-9)
    assert np.all(np.linalg.norm(d.reshape(8, -1), axis=1) <= 1 + 1e-12)
    assert np.all(np.diff(info["times"]) >= 0) and info["times"].shape == (6,)


def test_float32_stays_float32_and_falls_within_rounding(shapes):
    d, info = learn(shapes.astype(np.float32), 4, 5, 0.1, iterations=4, seed=0,
                    coding_iterations=10, full_output=True)
    assert d.dtype == np.float32 and info["codes"].dtype == np.float32
    f = info["objective"].ravel()
    assert np.all(np.diff(f) <= 1e-5 * f.max())


def test_filters_stay_in_the_unit_ball_from_a_large_init(shapes):
    init = np.random.default_rng(3).standard_normal((6, 1, 4, 4)) * 5
    before = init.copy()
    d = learn(shapes, 6, 4, 0.05, iterations=3, init=init, coding_iterations=10)
    assert np.all(np.linalg.norm(d.reshape(6, -1), axis=1) <= 1 + 1e-12)
    np.testing.assert_array_equal(init, before)


def test_grey_images_without_channel_axis_and_seeded_mini_batches(shapes):
    a = learn(shapes[:, 0], 4, 5, 0.1, iterations=3, batch_size=2, seed=7,
              coding_iterations=10)
    b, info = learn(shapes, 4, 5, 0.1, iterations=3, batch_size=2, seed=7,
                    coding_iterations=10, full_output=True)
    c = learn(shapes, 4, 5, 0.1, iterations=3, batch_size=2, seed=8, coding_iterations=10)
    assert a.shape == (4, 1, 5, 5)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(b, c)
    f = info["objective"]                      # a new batch each step: each filter step
    assert np.all(f[:, 1] <= f[:, 0] * (1 + 1e-12))     # still lowers its batch's value


def test_initial_patches_are_zero_mean_unit_norm_pieces_of_the_images(shapes):
    d = initial_filters(shapes, 6, (5, 5), "patches", np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(d.reshape(6, -1), axis=1), 1)
    np.testing.assert_allclose(d.mean(axis=(2, 3)), 0, atol=1e-12)
    windows = np.lib.stride_tricks.sliding_window_view(shapes, (5, 5), axis=(2, 3))
    windows = windows - windows.mean(axis=(-2, -1), keepdims=True)
    for f in d[:, 0]:                        # each is some window of some image, scaled
        cos = np.tensordot(windows, f, axes=2) / np.maximum(
            np.linalg.norm(windows, axis=(-2, -1)), 1e-300)
        assert cos.max() == pytest.approx(1.0, abs=1e-9)


def planted(K, k, N, n, nd, seed=0, density=0.01):
    """Images made from ``K`` random unit filters and sparse codes of amplitude 1..2."""
    rng = np.random.default_rng(seed)
    d = unit(rng, (K, 1) + (k,) * nd)
    mask = rng.random((N, K) + (n,) * nd) < density
    z = mask * rng.choice([-1, 1], mask.shape) * rng.uniform(1, 2, mask.shape)
    y = SynthesisOperator(d, (1,) + (n,) * nd, boundary="circular").forward(z)
    return d, y + 0.01 * rng.standard_normal(y.shape)


def best_match(learned, true):
    """Per true filter: the largest |normalised correlation| with a learned filter at
    any shift (so sign, order and shift do not matter)."""
    return np.array([max(np.abs(correlate(f[0], t[0], mode="full")).max()
                         / (np.linalg.norm(f) * np.linalg.norm(t)) for f in learned)
                     for t in true])


@pytest.mark.parametrize("nd,K,k,N,n,need", [(1, 4, 8, 8, 128, 4), (2, 3, 5, 4, 24, 2)])
def test_planted_dictionary_is_recovered(nd, K, k, N, n, need):
    d_true, y = planted(K, k, N, n, nd)
    d = learn(y, K, (k,) * nd, 0.05, iterations=100, coding_iterations=30, init="random",
              seed=1)
    match = best_match(d, d_true)
    assert np.sum(match > 0.9) >= need, match


def test_at_least_as_good_as_sporco_at_equal_outer_iterations(shapes):
    """SPORCO's ConvBPDNDictLearn (ADMM codes, ADMM filters, one inner iteration each per
    outer step) on the same images, lam, filters, init and circular model."""
    cbpdndl = pytest.importorskip("sporco.dictlrn.cbpdndl")
    lam, its = 0.1, 5
    d0 = initial_filters(shapes, 8, (5, 5), "patches", np.random.default_rng(0))
    opt = cbpdndl.ConvBPDNDictLearn.Options(
        {"Verbose": False, "MaxMainIter": its, "AccurateDFid": True,
         "CBPDN": {"rho": 50.0 * lam + 0.5}, "CCMOD": {"ZeroMean": False}},
        xmethod="admm", dmethod="cns")
    peer = cbpdndl.ConvBPDNDictLearn(np.moveaxis(d0[:, 0], 0, -1),
                                     np.moveaxis(shapes[:, 0], 0, -1), lam, opt,
                                     xmethod="admm", dmethod="cns")
    peer.solve()
    theirs = peer.getitstat().ObjFun[-1]
    for method in ("fista", "admm"):
        d, info = learn(shapes, 8, 5, lam, iterations=its, init=d0, method=method,
                        full_output=True)
        ours = info["objective"][-1, 1]
        assert ours <= 1.01 * theirs, (method, ours, theirs)


# --- files ------------------------------------------------------------------------------

def test_save_load_round_trip_exact_path_and_no_silent_overwrite(tmp_path):
    d = np.random.default_rng(4).standard_normal((3, 2, 4, 5)).astype(np.float32)
    path = tmp_path / "dictionary"                      # no suffix: written as given
    save_filters(path, d, meta={"lam": 0.1, "source": "test"})
    assert os.listdir(tmp_path) == ["dictionary"]
    back, meta = load_filters(path)
    np.testing.assert_array_equal(back, d)
    assert back.dtype == np.float32 and meta == {"lam": 0.1, "source": "test"}
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_filters(path, d * 2)
    np.testing.assert_array_equal(load_filters(path)[0], d)
    save_filters(path, d * 2, overwrite=True)
    np.testing.assert_array_equal(load_filters(path)[0], d * 2)
    np.savez(tmp_path / "other.npz", weights=d)
    with pytest.raises(ValueError, match="no 'filters' entry"):
        load_filters(tmp_path / "other.npz")
    with pytest.raises(TypeError, match="meta must be a dict"):
        save_filters(tmp_path / "x", d, meta=[1])


# --- the boundary -----------------------------------------------------------------------

@pytest.mark.parametrize("args,kwargs,error,message", [
    ((4, 5, -0.1), {}, ValueError, r"lam must be a finite number >= 0, got -0.1"),
    ((0, 5, 0.1), {}, ValueError, r"num_filters must be an int >= 1, got 0"),
    ((2.5, 5, 0.1), {}, TypeError, r"num_filters must be an int >= 1, got 2.5"),
    ((4, 40, 0.1), {}, ValueError, r"filters of spatial size \(40, 40\) must fit .*\(32, 32\)"),
    ((4, (5,) * 4, 0.1), {}, ValueError, r"4 spatial axes .*got shape \(4, 1, 32, 32\)"),
    ((4, 5, 0.1), dict(batch_size=5), ValueError, r"batch_size must be an int <= 4, got 5"),
    ((4, 5, 0.1), dict(method="admm", boundary="zero"), ValueError, r"boundary='circular'"),
    ((4, 5, 0.1), dict(method="ista"), ValueError, r"method must be one of 'fista', 'admm'"),
    ((4, 5, 0.1), dict(init="zeros"), ValueError, r"init must be one of 'patches', 'random'"),
    ((4, 5, 0.1), dict(init=np.ones((4, 1, 3, 3))), ValueError,
     r"init must have shape \(K, C, \*k\) = \(4, 1, 5, 5\).*got \(4, 1, 3, 3\)"),
    ((4, 5, 0.1), dict(seed=1.5), TypeError, r"seed must be an int or None, got 1.5"),
    ((4, 5, 0.1), dict(coding_iterations=0), ValueError, r"coding_iterations must be an int"),
    ((4, 34, 0.1), dict(boundary="zero", padding=2), ValueError,
     r"init='patches' needs kernel_size \(34, 34\) to fit in the images of size \(32, 32\)"),
])
def test_bad_arguments_name_expected_and_received(shapes, args, kwargs, error, message):
    with pytest.raises(error, match=message):
        learn(shapes, *args, iterations=1, **kwargs)


def test_bad_images_name_expected_and_received():
    with pytest.raises(ValueError, match=r"images must have shape .*got shape \(32, 32\)"):
        learn(np.zeros((32, 32)), 2, 3, 0.1)
    with pytest.raises(ValueError, match="images must be finite"):
        learn(np.full((1, 8, 8), np.nan), 2, 3, 0.1)
    with pytest.raises(TypeError, match="images must be real"):
        learn(np.zeros((1, 8, 8), complex), 2, 3, 0.1)


def test_large_kernel_is_refused_before_anything_is_allocated():
    import resource
    y = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, hard))   # a 10^10 probe cannot fit
    try:
        with pytest.raises(ValueError, match=r"filters of spatial size \(100000, 100000\) "
                                             r"must fit"):
            learn(y, 4, (10 ** 5, 10 ** 5), 0.1, iterations=1)
        with pytest.raises(ValueError, match=r"must fit in the padded image"):
            learn(y, 4, (10 ** 5, 10 ** 5), 0.1, iterations=1, boundary="zero")
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_objective_accumulates_float32_in_float64():
    from deconvkit.sparse.learn import _objective
    rng = np.random.default_rng(0)
    y = (rng.standard_normal((4, 1, 64, 64)) * 100).astype(np.float32)
    d = rng.standard_normal((8, 1, 5, 5)).astype(np.float32)
    z = np.zeros((4, 8, 64, 64), np.float32)
    model = dict(lam=0.1, stride=1, padding=0, boundary="circular")
    exact = 0.5 * float(np.sum(y.astype(np.float64) ** 2))
    assert abs(_objective(y, d, z, model) - exact) <= 1e-12 * exact


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    d = np.random.default_rng(4).standard_normal((3, 1, 4, 4))
    path = tmp_path / "dictionary"
    save_filters(path, d)
    before = path.read_bytes()

    def fail(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        save_filters(path, d * 2, overwrite=True)
    assert os.listdir(tmp_path) == ["dictionary"] and path.read_bytes() == before
    with pytest.raises(FileExistsError, match="overwrite=True"):   # refused before writing
        save_filters(path, d * 2)
    assert os.listdir(tmp_path) == ["dictionary"]


def test_filter_step_ffts_use_the_library_thread_count(monkeypatch):
    import scipy.fft

    import deconvkit
    from deconvkit.sparse.dictionary import update_filters
    workers = []
    for name in ("rfftn", "irfftn"):
        real = getattr(scipy.fft, name)

        def spy(*args, _real=real, **kwargs):
            workers.append(kwargs.get("workers"))
            return _real(*args, **kwargs)
        monkeypatch.setattr(scipy.fft, name, spy)
    rng = np.random.default_rng(0)
    y, z = rng.standard_normal((2, 1, 12, 12)), rng.standard_normal((2, 3, 12, 12))
    previous = deconvkit.get_num_threads()
    deconvkit.set_num_threads(1)
    try:
        update_filters(rng.standard_normal((3, 1, 3, 3)), z, y, iterations=2)
    finally:
        deconvkit.set_num_threads(previous)
    assert workers and set(workers) == {1}, workers
