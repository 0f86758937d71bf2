"""Image files: the scaling read_image states, what write_image stores, and its refusals."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

iio = pytest.importorskip("imageio.v3")
tifffile = pytest.importorskip("tifffile")

from deconvkit.images import read_image, write_format, write_image  # noqa: E402

RNG = np.random.default_rng(0)


# ------------------------------------------------------------------ reading
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_png_reads_as_float64_scaled_by_the_dtype_max(tmp_path, dtype):
    top = np.iinfo(dtype).max
    stored = RNG.integers(0, top, size=(5, 7), endpoint=True).astype(dtype)
    stored[0, :2] = 0, top
    iio.imwrite(tmp_path / "a.png", stored)
    image, info = read_image(tmp_path / "a.png")
    assert image.dtype == np.float64 and image.shape == (5, 7)
    assert image.min() == 0 and image.max() == 1
    np.testing.assert_array_equal(image, stored / top)
    assert info["dtype"] == np.dtype(dtype).name and info["scale"] == 1 / top
    assert info["format"] == "png" and info["channel_axis"] is None
    assert info["shape"] == (5, 7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_tiff_is_kept_as_it_is(tmp_path, dtype):
    stored = RNG.normal(size=(4, 6)).astype(dtype) * 1000
    stored[0, 0] = np.nan
    tifffile.imwrite(tmp_path / "f.tif", stored)
    image, info = read_image(tmp_path / "f.tif")
    assert image.dtype == dtype and info["scale"] == 1.0 and info["dtype"] == dtype.__name__
    np.testing.assert_array_equal(image, stored)


@pytest.mark.parametrize("one_by_one", [False, True])
def test_multipage_tiff_reads_as_a_stack(tmp_path, one_by_one):
    stack = RNG.random((3, 8, 9)).astype(np.float32)
    if one_by_one:  # a series per page
        with tifffile.TiffWriter(tmp_path / "stack.tiff") as tif:
            for page in stack:
                tif.write(page, photometric="minisblack")
    else:
        tifffile.imwrite(tmp_path / "stack.tiff", stack, photometric="minisblack")
    image, info = read_image(tmp_path / "stack.tiff")
    assert image.shape == (3, 8, 9) and info["channel_axis"] is None
    np.testing.assert_array_equal(image, stack)


def test_tiff_pages_of_different_shapes_read_the_first_series(tmp_path):
    with tifffile.TiffWriter(tmp_path / "mixed.tif") as tif:
        tif.write(np.ones((4, 5), np.float32))
        tif.write(np.zeros((2, 2), np.float32))
    image, _ = read_image(tmp_path / "mixed.tif")
    assert image.shape == (4, 5) and image.min() == 1


def test_16bit_and_signed_tiffs_are_scaled_by_their_max(tmp_path):
    tifffile.imwrite(tmp_path / "u16.tif", np.array([[0, 65535]], np.uint16))
    tifffile.imwrite(tmp_path / "i16.tif", np.array([[-32767, 32767]], np.int16))
    image, info = read_image(tmp_path / "u16.tif")
    assert image.tolist() == [[0.0, 1.0]] and info["scale"] == 1 / 65535
    image, info = read_image(tmp_path / "i16.tif")
    assert image.tolist() == [[-1.0, 1.0]] and info["scale"] == 1 / 32767


@pytest.mark.parametrize("channels", [3, 4])
def test_colour_png_and_tiff_are_channels_last(tmp_path, channels):
    rgb = RNG.integers(0, 255, size=(6, 5, channels), endpoint=True).astype(np.uint8)
    iio.imwrite(tmp_path / "c.png", rgb)
    tifffile.imwrite(tmp_path / "c.tif", rgb, photometric="rgb")
    for name in ("c.png", "c.tif"):
        image, info = read_image(tmp_path / name)
        assert image.shape == (6, 5, channels) and info["channel_axis"] == -1
        np.testing.assert_array_equal(image, rgb / 255)


def test_planar_rgb_tiff_is_read_channels_last(tmp_path):
    planar = RNG.integers(0, 255, size=(3, 6, 5)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "p.tif", planar, photometric="rgb", planarconfig="separate")
    image, info = read_image(tmp_path / "p.tif")
    assert image.shape == (6, 5, 3) and info["channel_axis"] == -1
    np.testing.assert_array_equal(image, np.moveaxis(planar, 0, -1) / 255)


def test_any_imageio_format_is_read(tmp_path):
    stored = RNG.integers(0, 255, size=(4, 4)).astype(np.uint8)
    iio.imwrite(tmp_path / "a.bmp", stored)
    image, info = read_image(tmp_path / "a.bmp")
    np.testing.assert_array_equal(image, stored / 255)
    assert info["format"] == "bmp"


def test_bool_tiff_reads_as_zeros_and_ones(tmp_path):
    tifffile.imwrite(tmp_path / "b.tif", np.array([[True, False]]))
    image, info = read_image(tmp_path / "b.tif")
    assert image.dtype == np.float64 and image.tolist() == [[1.0, 0.0]]


def test_reading_a_missing_file_or_a_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError, match="a folder"):
        read_image(tmp_path)


@pytest.mark.parametrize("name", ["bad.png", "bad.tif", "bad.xyz", "empty.png"])
def test_unreadable_files_are_one_clear_value_error(tmp_path, name):
    (tmp_path / name).write_bytes(b"" if name.startswith("empty") else b"not an image")
    with pytest.raises(ValueError, match="cannot read .* as an image") as caught:
        read_image(tmp_path / name)
    assert name in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.filterwarnings("ignore:.*zero-size array")
def test_an_image_without_pixels_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "e.tif", np.zeros((0, 4), np.float32))
    with pytest.raises(ValueError):
        read_image(tmp_path / "e.tif")


def test_a_complex_tiff_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "z.tif", np.ones((2, 2), np.complex64))
    with pytest.raises(ValueError, match="complex64"):
        read_image(tmp_path / "z.tif")


# ------------------------------------------------------------------ writing
def test_tiff_writes_float32_values_as_they_are(tmp_path):
    array = np.array([[-3.5, 0.25], [7.0, np.nan]])
    before = array.copy()
    info = write_image(tmp_path / "o.tif", array)
    np.testing.assert_array_equal(array, before)  # the caller's array is untouched
    assert info == {"path": str(tmp_path / "o.tif"), "format": "tiff", "dtype": "float32",
                    "bits": 32, "scale": 1.0, "clipped": 0}
    back, _ = read_image(tmp_path / "o.tif")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, array.astype(np.float32))


def test_png_defaults_to_16_bits_for_grayscale_and_8_for_colour(tmp_path):
    info = write_image(tmp_path / "g.png", np.full((3, 3), 0.5))
    assert info["bits"] == 16 and info["dtype"] == "uint16" and info["scale"] == 1 / 65535
    assert iio.imread(tmp_path / "g.png").dtype == np.uint16
    info = write_image(tmp_path / "c.png", np.full((3, 3, 3), 0.5))
    assert info["bits"] == 8 and iio.imread(tmp_path / "c.png").dtype == np.uint8
    with pytest.raises(ValueError, match="bits: expected 8 for a colour PNG"):
        write_image(tmp_path / "c16.png", np.full((3, 3, 3), 0.5), bits=16)
    assert not (tmp_path / "c16.png").exists()


def test_png_clips_to_the_range_and_says_how_much(tmp_path):
    array = np.array([[-0.5, 0.0, 0.5, 1.0, 1.5]])
    info = write_image(tmp_path / "o.png", array, bits=8)
    assert info["clipped"] == 2 and info["scale"] == 1 / 255
    assert iio.imread(tmp_path / "o.png").tolist() == [[0, 0, 128, 255, 255]]


def test_png_scale_is_the_value_of_one_stored_unit(tmp_path):
    array = np.array([[0.0, 10.0, 255.0]])
    info = write_image(tmp_path / "o.png", array, bits=8, scale=1.0)
    assert info["clipped"] == 0 and iio.imread(tmp_path / "o.png").tolist() == [[0, 10, 255]]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_uint_arrays_are_written_to_png_as_they_are(tmp_path, dtype):
    stored = np.array([[0, 1, 200]], dtype)
    info = write_image(tmp_path / "u.png", stored)
    assert info["bits"] == 8 * np.dtype(dtype).itemsize and info["scale"] == 1.0
    back = iio.imread(tmp_path / "u.png")
    assert back.dtype == dtype and back.tolist() == [[0, 1, 200]]
    with pytest.raises(ValueError, match="scale applies to float arrays"):
        write_image(tmp_path / "s.png", stored, scale=0.5)


def test_existing_files_are_never_replaced_without_overwrite(tmp_path):
    for name in ("keep.png", "keep.tif"):
        target = tmp_path / name
        target.write_bytes(b"keep me")
        with pytest.raises(FileExistsError, match="would overwrite .*overwrite=True"):
            write_image(target, np.zeros((2, 2)))
        assert target.read_bytes() == b"keep me"
        write_image(target, np.zeros((2, 2)), overwrite=True)
        assert read_image(target)[0].tolist() == [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("name, array, error, words", [
    ("o.jpg", np.zeros((2, 2)), ValueError, ".tif, .tiff or .png"),
    ("o", np.zeros((2, 2)), ValueError, ".tif, .tiff or .png"),
    ("o.png", np.zeros((0, 2)), ValueError, "with pixels"),
    ("o.tif", np.zeros((3, 0)), ValueError, "with pixels"),
    ("o.tif", np.zeros(3), ValueError, "at least 2 axes"),
    ("o.png", np.zeros((2, 2, 2, 2)), ValueError, "(H, W)"),
    ("o.png", np.zeros((2, 2, 5)), ValueError, "(H, W)"),
    ("o.png", np.array([[np.nan]]), ValueError, "finite"),
    ("o.png", np.zeros((2, 2), np.int32), TypeError, "int32"),
    ("o.png", np.zeros((2, 2), bool), TypeError, "bool"),
    ("o.tif", np.zeros((2, 2), complex), TypeError, "complex128"),
    ("o.tif", np.array([["a"]]), TypeError, "dtype"),
])
def test_bad_writes_are_refused_and_write_nothing(tmp_path, name, array, error, words):
    with pytest.raises(error) as caught:
        write_image(tmp_path / name, array)
    assert words in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bits", [0, 12, 32, "16"])
def test_bits_is_8_or_16(tmp_path, bits):
    with pytest.raises(ValueError, match="bits: expected 8 or 16"):
        write_image(tmp_path / "o.png", np.zeros((2, 2)), bits=bits)
    with pytest.raises(ValueError, match="bits: applies to PNG"):
        write_image(tmp_path / "o.tif", np.zeros((2, 2)), bits=8)


@pytest.mark.parametrize("scale", [0.0, -1.0, np.inf, np.nan])
def test_png_scale_is_finite_and_positive(tmp_path, scale):
    with pytest.raises(ValueError, match="scale: expected a finite number > 0"):
        write_image(tmp_path / "o.png", np.zeros((2, 2)), scale=scale)


def test_write_format():
    assert write_format("a.TIFF") == "tiff" and write_format("dir.png/a.png") == "png"
    with pytest.raises(ValueError, match="'a.png.gz'"):
        write_format("a.png.gz")


# ------------------------------------------------------------------ round trips
_images = hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
                     elements=st.floats(0, 1))


@settings(max_examples=50, deadline=None)
@given(array=_images, bits=st.sampled_from([8, 16]))
def test_png_round_trip_is_within_half_a_step(tmp_path_factory, array, bits):
    path = tmp_path_factory.mktemp("png") / "r.png"
    info = write_image(path, array, bits=bits)
    back, read_info = read_image(path)
    assert read_info["scale"] == info["scale"] == 1 / (2**bits - 1) and info["clipped"] == 0
    assert np.abs(back - array).max() <= 0.5 / (2**bits - 1) + 1e-12


@settings(max_examples=50, deadline=None)
@given(array=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=4, max_side=5),
                        elements=st.floats(-1e6, 1e6, width=32)))
def test_tiff_round_trip_is_exact_for_float32(tmp_path_factory, array):
    path = tmp_path_factory.mktemp("tif") / "r.tif"
    write_image(path, array)
    back, _ = read_image(path)  # (H, W, 3|4) is RGB(A) in the file, channels-last again
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)
