"""deconvkit.restoration.tiled: chunk-by-chunk restoration equals the whole volume's."""

import hashlib

import numpy as np
import pytest
from scipy import ndimage

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")
tifffile = pytest.importorskip("tifffile")

from deconvkit.restoration import (deconvolve, gaussian, regularized,  # noqa: E402
                                   richardson_lucy, tiled)
from deconvkit.volumes import open_volume, write_volume  # noqa: E402

SHAPE = (16, 64, 64)
CHUNKS = (16, 24, 24)
PSF = gaussian(0.7, ndim=3)


@pytest.fixture(scope="module")
def volume():
    rng = np.random.default_rng(1)
    truth = 10 * ndimage.gaussian_filter(rng.random(SHAPE), 1.5) + 1
    g = ndimage.convolve(truth, PSF, mode="reflect")
    return g + 0.01 * rng.standard_normal(SHAPE)


def interior_error(f, whole, margin):
    """Largest difference relative to the largest value, ``margin`` from g's y/x edges."""
    inner = (slice(None),) + (slice(margin, -margin),) * 2
    return float(np.abs(np.asarray(f) - whole)[inner].max() / np.abs(whole).max())


@pytest.mark.parametrize("method, options", [
    ("regularized", {"lam": 1e-2, "noise": 0.01, "boundary": "reflect"}),
    ("wiener", {"nsr": 1e-3, "boundary": "reflect"}),
    ("tikhonov", {"lam": 1e-2, "boundary": "reflect", "tol": 1e-12, "iterations": 500}),
    ("tikhonov", {"lam": 1e-2, "boundary": "none", "tol": 1e-11, "iterations": 300}),
    ("regularized", {"lam": 1e-2, "noise": 0.01, "boundary": "none", "tol": 1e-11,
                     "iterations": 300}),
])
def test_linear_methods_match_the_whole_volume_inside(volume, method, options):
    f, info = tiled(volume, PSF, method, chunks=CHUNKS, full_output=True, **options)
    assert len(f.chunks[1]) > 1 and len(f.chunks[2]) > 1          # really tiled
    whole = deconvolve(volume, PSF, method, **options)
    assert f.shape == whole.shape and f.dtype == whole.dtype
    assert interior_error(f.compute(), whole, max(info["depth"][1:])) < 1e-6


def test_regularized_without_a_boundary_matches_to_its_solvers_tolerance(volume):
    # boundary "none" is solved by conjugate gradients stopped by default at a residual
    # of 1e-6, on each chunk and on the whole volume alike: they agree to about 2e-5
    # (with tol=1e-11, to the 1e-6 of the other linear methods: the test above)
    options = {"lam": 1e-2, "noise": 0.01, "boundary": "none"}
    f, info = tiled(volume, PSF, chunks=CHUNKS, full_output=True, **options)
    whole = regularized(volume, PSF, **options)
    assert interior_error(f.compute(), whole, max(info["depth"][1:])) < 1e-4


def test_chosen_parameters_are_the_whole_volumes_and_shared(volume):
    f, info = tiled(volume, PSF, chunks=CHUNKS, boundary="reflect", full_output=True)
    _, chosen = regularized(volume, PSF, boundary="reflect", full_output=True)
    assert info["parameters_from"] == "whole volume"
    assert info["options"]["lam"] == pytest.approx(chosen["lam"], rel=1e-12)
    whole = regularized(volume, PSF, boundary="reflect")
    assert interior_error(f.compute(), whole, max(info["depth"][1:])) < 1e-6


def test_wiener_fitted_spectrum_is_fixed_once(volume):
    # the fitted spectrum (alpha 3.3 here) hardly regularises low frequencies: the
    # filter's reach exceeds this small volume, the halo says so and one chunk remains
    f, info = tiled(volume, PSF, "wiener", chunks=CHUNKS, boundary="reflect",
                    full_output=True)
    assert info["spectrum"] is not None and "nsr" not in info["options"]
    assert info["halo_capped"] and f.chunks[1:] == ((64,), (64,))
    whole = deconvolve(volume, PSF, "wiener", boundary="reflect")
    np.testing.assert_allclose(f.compute(), whole, rtol=1e-10, atol=1e-10)


def test_a_large_volume_takes_its_parameters_from_the_central_block(volume, monkeypatch):
    import deconvkit.restoration._tiling as tiling
    monkeypatch.setattr(tiling, "WHOLE_BYTES", 1000)
    monkeypatch.setattr(tiling, "SAMPLE_BYTES", 8 * 16 * 32 * 32)
    _, info = tiled(volume, PSF, chunks=CHUNKS, full_output=True)
    assert info["parameters_from"] == "central block of shape 16x32x32"


def test_richardson_lucy_within_1e_3_with_the_halo_rule(volume):
    f, info = tiled(volume, PSF, "rl", iterations=30, chunks=CHUNKS, full_output=True)
    assert info["depth"][1] > 0 and len(f.chunks[1]) > 1
    whole = richardson_lucy(volume, PSF, 30)
    assert interior_error(f.compute(), whole, 16) <= 1e-3
    assert info["options"]["eps"] == pytest.approx(1e-12 * volume.max())


def test_the_iterative_halo_grows_with_iterations_and_is_capped():
    g = np.zeros((4, 200, 200))
    depths = [tiled(g, PSF, "rl", iterations=n, chunks=(4, 50, 50), full_output=True)[1]
              ["depth"][1] for n in (1, 30, 120)]
    assert depths[0] <= 2 and depths[0] < depths[1] < depths[2]


def test_default_chunks_keep_a_short_axis_whole():
    g = np.zeros((8, 512, 512), np.float32)
    f, info = tiled(g, gaussian((2.0, 1.0, 1.0)), lam=1e-2, full_output=True)
    assert f.chunks[0] == (8,) and f.dtype == np.float32
    assert max(f.chunks[1]) * max(f.chunks[2]) * 8 * 4 <= 8 * 2**20 + 1


def digest(path):
    from pathlib import Path
    path = Path(path)
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files if p.is_file())).hexdigest()


@pytest.mark.parametrize("kind", ["numpy", "dask", "zarr", "tiff_path", "zarr_path"])
def test_every_input_kind_gives_the_same_result_and_files_stay(volume, tmp_path, kind):
    g32 = volume.astype(np.float32)
    source = {"numpy": lambda: g32, "dask": lambda: da.from_array(g32, chunks=(6, 32, 32))}
    if kind in ("zarr", "zarr_path"):
        write_volume(tmp_path / "g.zarr", g32)
        source["zarr"] = lambda: zarr.open_array(str(tmp_path / "g.zarr"), mode="r")
        source["zarr_path"] = lambda: str(tmp_path / "g.zarr")
    if kind == "tiff_path":
        tifffile.imwrite(tmp_path / "g.tif", g32)
        source["tiff_path"] = lambda: tmp_path / "g.tif"
    before = {p.name: digest(p) for p in tmp_path.iterdir()}
    f = tiled(source[kind](), PSF, lam=1e-2, noise=0.01, chunks=CHUNKS).compute()
    expected = tiled(g32, PSF, lam=1e-2, noise=0.01, chunks=CHUNKS).compute()
    assert f.dtype == np.float32 and np.array_equal(f, expected)
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_out_writes_the_result_with_the_voxel_size_and_refuses_to_overwrite(
        volume, tmp_path, suffix):
    write_volume(tmp_path / "g.zarr", volume, voxel_size=(2.0, 0.5, 0.25), unit="um")
    out = tmp_path / f"f{suffix}"
    f = tiled(tmp_path / "g.zarr", PSF, lam=1e-2, noise=0.01, chunks=CHUNKS, out=out)
    lazy = tiled(volume, PSF, lam=1e-2, noise=0.01, chunks=CHUNKS).compute()
    assert isinstance(f, da.Array)
    np.testing.assert_allclose(f.compute(), lazy, rtol=1e-6, atol=1e-6)
    assert open_volume(out)[1]["voxel_size"] == pytest.approx((2.0, 0.5, 0.25))
    before = digest(out)
    with pytest.raises(FileExistsError, match="overwrite"):
        tiled(volume, PSF, lam=1.0, out=out)
    assert digest(out) == before
    tiled(volume, PSF, lam=1.0, out=out, overwrite=True)
    assert digest(out) != before


def test_distributed_equals_the_local_scheduler(volume, tmp_path):
    options = dict(lam=1e-2, noise=0.01, chunks=CHUNKS)
    local = tiled(volume, PSF, out=tmp_path / "a.zarr", scheduler="synchronous", **options)
    remote = tiled(volume, PSF, out=tmp_path / "b.zarr", scheduler="distributed", **options)
    assert np.array_equal(local.compute(), remote.compute())


@pytest.mark.parametrize("kwargs, error, words", [
    ({"chunks": (12, 24)}, ValueError, "chunks"),
    ({"chunks": (12, 0, 24)}, ValueError, "chunks"),
    ({"depth": -1}, ValueError, "depth"),
    ({"depth": (1, 2)}, ValueError, "depth"),
    ({"scheduler": "gpu"}, ValueError, "scheduler"),
    ({"scheduler": "distributed:"}, ValueError, "scheduler"),
    ({"scheduler": 3}, TypeError, "scheduler"),
    ({"out": "f.png"}, ValueError, ".zarr"),
    ({"out": 5}, TypeError, "out"),
    ({"method": "magic"}, ValueError, "method"),
    ({"lam": -1.0}, ValueError, "lam"),
    ({"nsr": np.ones((3, 3)), "method": "wiener"}, ValueError, "nsr"),
])
def test_bad_arguments_are_rejected_naming_them(volume, kwargs, error, words):
    with pytest.raises(error, match=words):
        tiled(volume, PSF, **kwargs)


def test_out_may_not_be_the_input(volume, tmp_path):
    write_volume(tmp_path / "g.zarr", volume)
    with pytest.raises(ValueError, match="differ"):
        tiled(tmp_path / "g.zarr", PSF, out=tmp_path / "g.zarr", overwrite=True)
    assert open_volume(tmp_path / "g.zarr")[0].shape == volume.shape


def test_user_array_is_not_modified(volume):
    copy = volume.copy()
    tiled(volume, PSF, "rl", iterations=3, chunks=CHUNKS).compute()
    assert np.array_equal(volume, copy)
