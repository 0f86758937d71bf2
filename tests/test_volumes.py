"""deconvkit.volumes: TIFF stacks and Zarr stores, lazily in, chunk by chunk out."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")
tifffile = pytest.importorskip("tifffile")

from deconvkit.volumes import check_volume_path, open_volume, write_volume  # noqa: E402

VOXEL = (2.0, 0.5, 0.25)


@pytest.fixture
def x():
    rng = np.random.default_rng(0)
    return da.from_array(rng.random((10, 12, 14)), chunks=(3, 6, 14))


@pytest.mark.parametrize("suffix, dtype", [(".zarr", np.float64), (".tif", np.float32),
                                           (".tiff", np.float32)])
def test_round_trip_with_the_voxel_size(tmp_path, x, suffix, dtype):
    info = write_volume(tmp_path / f"v{suffix}", x, voxel_size=VOXEL, unit="um")
    y, meta = open_volume(tmp_path / f"v{suffix}")
    assert isinstance(y, da.Array) and y.dtype == dtype and info["dtype"] == str(y.dtype)
    np.testing.assert_allclose(y.compute(), x.compute(), rtol=1e-7)
    assert meta["voxel_size"] == pytest.approx(VOXEL) and meta["unit"] == "um"


def test_tiff_is_opened_lazily_page_by_page(tmp_path, x):
    write_volume(tmp_path / "v.tif", x)
    y, meta = open_volume(tmp_path / "v.tif")
    assert y.chunks[0] == (1,) * 10 and meta["voxel_size"] is None


@pytest.mark.parametrize("name", ["v.tif", "v.zarr"])
def test_volumes_are_written_a_few_blocks_at_a_time(tmp_path, x, name):
    """Memory holds a few output blocks' neighbourhoods, never the whole graph's: each
    compute gets at most BLOCKS_AT_ONCE single blocks, and all of them once."""
    from deconvkit.volumes import BLOCKS_AT_ONCE
    calls = []

    def compute(*collections):
        calls.append([c.numblocks for c in collections])
        return [c.compute() for c in collections]
    write_volume(tmp_path / name, x, compute=compute)
    assert all(len(call) <= BLOCKS_AT_ONCE for call in calls)
    assert all(nb == (1,) * x.ndim for call in calls for nb in call)
    assert sum(len(call) for call in calls) == np.prod(x.numblocks)
    y, _ = open_volume(tmp_path / name)
    np.testing.assert_array_equal(y.compute(), x.compute().astype(y.dtype))


def test_an_imagej_stack_gives_its_spacing_and_resolution(tmp_path):
    tifffile.imwrite(tmp_path / "s.tif", np.zeros((4, 8, 8), np.uint16), imagej=True,
                     resolution=(1 / 0.3, 1 / 0.2),
                     metadata={"spacing": 1.2, "unit": "um", "axes": "ZYX"})
    y, meta = open_volume(tmp_path / "s.tif")
    assert y.dtype == np.uint16 and meta["voxel_size"] == pytest.approx((1.2, 0.2, 0.3))


def test_arrays_pass_through(tmp_path):
    a = np.ones((3, 4))
    assert open_volume(a)[0].compute().tolist() == a.tolist()
    z = zarr.open_array(str(tmp_path / "z.zarr"), mode="w", shape=(3, 4), dtype="f4")
    z.attrs["voxel_size"] = [1.0, 2.0]
    y, meta = open_volume(z)
    assert y.shape == (3, 4) and meta["voxel_size"] == (1.0, 2.0)


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_never_overwrites_without_overwrite(tmp_path, x, suffix):
    path = tmp_path / f"v{suffix}"
    write_volume(path, x)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_volume(path, x[:2])
    assert open_volume(path)[0].shape == x.shape
    write_volume(path, x[:2], overwrite=True)
    assert open_volume(path)[0].shape == (2, 12, 14)


@pytest.mark.parametrize("call, error, words", [
    (lambda p: open_volume(p / "a.png"), ValueError, ".zarr"),
    (lambda p: open_volume(p / "none.tif"), FileNotFoundError, "none.tif"),
    (lambda p: open_volume(None), TypeError, "array"),
    (lambda p: check_volume_path(p / "no" / "a.zarr"), ValueError, "existing folder"),
    (lambda p: write_volume(p / "a.zarr", np.ones((2, 2)), voxel_size=(1.0,)), ValueError,
     "voxel_size"),
    (lambda p: write_volume(p / "a.zarr", np.ones((2, 2)), voxel_size=(1.0, -1.0)),
     ValueError, "voxel_size"),
])
def test_bad_paths_and_metadata_are_refused(tmp_path, call, error, words):
    with pytest.raises(error, match=words):
        call(tmp_path)


def test_a_file_that_is_no_tiff_is_a_value_error(tmp_path):
    (tmp_path / "bad.tif").write_bytes(b"not a tiff")
    with pytest.raises(ValueError, match="TIFF"):
        open_volume(tmp_path / "bad.tif")
