"""`deconvkit restore`: PSF specs, numbers, files, and the library call.

Most tests stand in for deconvkit.restoration with a recording fake (``fake``), to see
exactly what the command passes; the tests that use the fixture ``library`` run the real
``deconvkit.restoration``.
"""

import argparse

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import deconvkit.cli.restore as restore
from deconvkit.cli.restore import PsfSpec, psf_spec

iio = pytest.importorskip("imageio.v3")
tifffile = pytest.importorskip("tifffile")

from deconvkit.images import read_image, write_image  # noqa: E402
from cli_helpers import assert_usage_error, run

METHOD_NAMES = ["regularized", "wiener", "tikhonov", "landweber", "rl", "inverse"]


class FakeLibrary:
    """deconvkit.restoration's interface, recording its calls; deconvolve doubles g."""

    def __init__(self):
        self.calls = []

    def _psf(self, name, shape, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        return np.full(shape, 1.0 / np.prod(shape))

    def gaussian(self, sigma, shape=None, ndim=None):
        return self._psf("gaussian", (3,) * ndim, sigma, ndim=ndim)

    def box(self, shape):
        return self._psf("box", shape, shape)

    def disk(self, radius):
        return self._psf("disk", (3, 3), radius)

    def motion(self, length, angle=0.0):
        return self._psf("motion", (3, 3), length, angle)

    def as_psf(self, psf, ndim=None):
        return self._psf("as_psf", psf.shape, psf.shape, ndim=ndim)

    def deconvolve(self, g, psf, method="regularized", boundary=None, full_output=True,
                   **options):
        self.calls.append(("deconvolve", (g.shape, method, boundary), options))
        info = {"method": method, "boundary": boundary or "periodic", "lam": 0.0123}
        if "iterations" in options:
            info["iterations"] = options["iterations"]
        return g * 2, info

    def named(self, name):
        return [call for call in self.calls if call[0] == name]


@pytest.fixture
def fake(monkeypatch):
    library = FakeLibrary()
    monkeypatch.setattr(restore, "_library", lambda: library)
    return library


@pytest.fixture
def library():
    """The real deconvkit.restoration."""
    import deconvkit.restoration as restoration
    return restoration


@pytest.fixture
def gray(tmp_path):
    """A 16 x 12 grayscale 8-bit PNG, values k/255."""
    stored = np.arange(16 * 12).reshape(16, 12).astype(np.uint8)
    iio.imwrite(tmp_path / "in.png", stored)
    return tmp_path / "in.png", stored / 255


# ------------------------------------------------------------------ PSF specs
@pytest.mark.parametrize("text, kind, values", [
    ("gaussian:2", "gaussian", (2.0,)),
    ("gaussian:2,1", "gaussian", (2.0, 1.0)),
    ("Gaussian:0.5,1,1.5", "gaussian", (0.5, 1.0, 1.5)),
    ("box:5", "box", (5,)),
    ("box:5,3", "box", (5, 3)),
    ("box:5x3", "box", (5, 3)),
    ("disk:3", "disk", (3.0,)),
    ("disk:2.5", "disk", (2.5,)),
    ("motion:15,30", "motion", (15.0, 30.0)),
    ("motion:15,-30", "motion", (15.0, -30.0)),
    ("motion:15", "motion", (15.0,)),
])
def test_psf_spec_forms(text, kind, values):
    assert psf_spec(text) == PsfSpec(kind, values, text=text)


def test_psf_spec_file(tmp_path):
    iio.imwrite(tmp_path / "psf.png", np.eye(3, dtype=np.uint8))
    spec = psf_spec(str(tmp_path / "psf.png"))
    assert spec.kind == "file" and spec.path == str(tmp_path / "psf.png")


BAD_PSFS = ["gaussian", "gaussian:", "gaussian:0", "gaussian:-1", "gaussian:nan",
            "gaussian:inf", "gaussian:a", "gaussian:2,", "box:0", "box:2.5", "box:5x0",
            "disk:", "disk:0", "disk:1,2", "motion:", "motion:0,30", "motion:-5",
            "motion:15,inf", "motion:1,2,3", "no-such-file.png", "", "gauss:2"]


@pytest.mark.parametrize("text", BAD_PSFS)
def test_bad_psf_specs_are_one_line_naming_the_forms(capsys, tmp_path, fake, gray, text):
    out_path = tmp_path / "out.tif"
    assert_usage_error(*run(capsys, "restore", gray[0], out_path, f"--psf={text}"),
                       "argument --psf", "gaussian:SIGMA", "box:SIZE", "disk:RADIUS",
                       "motion:LENGTH", "FILE", repr(text))
    assert fake.calls == [] and not out_path.exists()


@given(st.text(max_size=20))
def test_psf_spec_gives_a_spec_or_a_usage_error(text):
    try:
        spec = psf_spec(text)
    except argparse.ArgumentTypeError as exc:
        assert "expected gaussian:SIGMA" in str(exc)
    else:
        assert spec.kind in ("gaussian", "box", "disk", "motion", "file")


@pytest.mark.parametrize("text, ndim, call", [
    ("gaussian:2", 2, ("gaussian", (2.0,), {"ndim": 2})),
    ("gaussian:2", 3, ("gaussian", (2.0,), {"ndim": 3})),
    ("gaussian:2,2", 2, ("gaussian", (2.0,), {"ndim": 2})),
    ("gaussian:2,1", 2, ("gaussian", ((2.0, 1.0),), {"ndim": 2})),
    ("box:5", 2, ("box", ((5, 5),), {})),
    ("box:5,3", 2, ("box", ((5, 3),), {})),
    ("box:4", 3, ("box", ((4, 4, 4),), {})),
    ("disk:3", 2, ("disk", (3.0,), {})),
    ("motion:15,30", 2, ("motion", (15.0, 30.0), {})),
    ("motion:15", 2, ("motion", (15.0, 0.0), {})),  # the default angle
])
def test_parse_psf_uses_the_library_constructors(fake, text, ndim, call):
    restore.parse_psf(text, ndim)
    assert fake.calls == [call]


@pytest.mark.parametrize("text, ndim, words", [
    ("gaussian:2,1", 3, "expected 1 or 3 values for a 3-d image, got 2"),
    ("box:5,3,3", 2, "expected 1 or 2 values for a 2-d image, got 3"),
    ("disk:3", 3, "a disk PSF is 2-d, the image is 3-d"),
    ("motion:15,30", 1, "a motion PSF is 2-d, the image is 1-d"),
])
def test_parse_psf_refuses_a_psf_that_does_not_fit_the_image(fake, text, ndim, words):
    with pytest.raises(ValueError, match="--psf") as caught:
        restore.parse_psf(text, ndim)
    assert words in str(caught.value) and fake.calls == []


def test_psf_file_is_read_and_handed_to_as_psf(fake, tmp_path):
    tifffile.imwrite(tmp_path / "psf.tif", np.ones((5, 3), np.float32))
    restore.parse_psf(str(tmp_path / "psf.tif"), 2)
    assert fake.calls == [("as_psf", ((5, 3),), {"ndim": 2})]
    iio.imwrite(tmp_path / "rgb.png", np.ones((5, 3, 3), np.uint8))
    with pytest.raises(ValueError, match="expected a grayscale PSF image"):
        restore.parse_psf(str(tmp_path / "rgb.png"), 2)


# ------------------------------------------------------------------ numbers and names
@pytest.mark.parametrize("option, value, words", [
    ("--iterations", "0", "from 1 to"), ("--iterations", "-1", "from 1 to"),
    ("--iterations", "1.5", "from 1 to"), ("--iterations", str(10**30), "from 1 to"),
    *[(option, value, "finite number >= 0") for option in ("--noise", "--nsr", "--lam", "--tv")
      for value in ("-1", "-1e-9", "nan", "inf", "1e999", "much")],
    ("--method", "bogus", "invalid choice"), ("--method", "richardson_lucy", "invalid choice"),
    ("--boundary", "zero", "invalid choice"), ("--bits", "12", "invalid choice"),
    ("--bits", "x", "invalid int"),
])
def test_bad_numbers_and_names_are_one_line_naming_the_option(capsys, tmp_path, fake, gray,
                                                              option, value, words):
    argv = ["restore", gray[0], tmp_path / "o.png", "--psf", "gaussian:2", f"{option}={value}"]
    assert_usage_error(*run(capsys, *argv), option, words)
    assert fake.calls == [] and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("argv, words", [
    (["--demo", "IN"], "--demo takes only --out, --overwrite and --quiet, got IN"),
    (["--demo", "--psf", "box:3"], "got --psf"),
    (["IN"], "missing OUT, --psf"),
    (["IN", "OUT.tif"], "missing --psf"),
    ([], "expected IN OUT --psf PSF (or --demo), missing IN, OUT, --psf"),
    (["IN", "OUT.tif", "--psf", "box:3", "--out", "d"], "--out is the folder of --demo"),
    (["IN", "OUT.tif", "--psf", "box:3", "--bits", "8"], "--bits applies to PNG output"),
])
def test_arguments_that_do_not_go_together(capsys, fake, argv, words):
    assert_usage_error(*run(capsys, "restore", *argv), words)
    assert fake.calls == []


# ------------------------------------------------------------------ files
def test_existing_out_is_refused_untouched_before_reading_in(capsys, tmp_path, fake, gray):
    target = tmp_path / "out.tif"
    target.write_bytes(b"keep me")
    assert_usage_error(*run(capsys, "restore", tmp_path / "missing.png", target, "--psf",
                            "gaussian:2"), "would overwrite", str(target), "--overwrite")
    assert target.read_bytes() == b"keep me" and fake.calls == []
    status, out, err = run(capsys, "restore", gray[0], target, "--psf", "gaussian:2",
                           "--overwrite")
    assert status == 0 and err == ""
    np.testing.assert_allclose(read_image(target)[0], 2 * gray[1], rtol=1e-6)


@pytest.mark.parametrize("where, words", [
    ("nodir/out.tif", "no folder"), ("afile/out.tif", "is a file"), ("adir.tif", "folder"),
    ("out.jpg", ".tif, .tiff or .png"), ("out", ".tif, .tiff or .png"),
])
def test_out_is_checked_before_any_work(capsys, tmp_path, fake, where, words):
    (tmp_path / "afile").write_text("a file\n")
    (tmp_path / "adir.tif").mkdir()
    assert_usage_error(*run(capsys, "restore", tmp_path / "missing.png", tmp_path / where,
                            "--psf", "gaussian:2"), "OUT", words)
    assert fake.calls == [] and (tmp_path / "afile").read_text() == "a file\n"


@pytest.mark.parametrize("content, words", [
    (None, "no such file"), (b"not an image", "cannot read"), (b"", "cannot read"),
    ("folder", "a folder"),
])
def test_unreadable_input_is_one_line(capsys, tmp_path, fake, content, words):
    source = tmp_path / "in.png"
    if content == "folder":
        source.mkdir()
    elif content is not None:
        source.write_bytes(content)
    assert_usage_error(*run(capsys, "restore", source, tmp_path / "o.tif", "--psf",
                            "gaussian:2"), str(source), words)
    assert fake.named("deconvolve") == [] and not (tmp_path / "o.tif").exists()


def test_gray_png_to_tiff_keeps_the_values_and_says_what_was_chosen(capsys, tmp_path, fake,
                                                                   gray):
    status, out, err = run(capsys, "restore", gray[0], tmp_path / "o.tif", "--psf",
                           "gaussian:2")
    assert status == 0 and err == ""
    image, info = read_image(tmp_path / "o.tif")
    assert info["dtype"] == "float32" and image.max() == pytest.approx(2 * gray[1].max())
    lines = out.splitlines()
    assert len(lines) == 2 and "restored" in lines[0] and "(16x12)" in lines[0]
    assert "regularized" in lines[0] and "lam 0.0123" in lines[0]
    assert "boundary periodic" in lines[0] and " s -> " in lines[0]
    assert lines[1] == f"wrote {tmp_path / 'o.tif'}: float32 TIFF, values as they are"
    assert fake.named("deconvolve") == [("deconvolve", ((16, 12), "regularized", None), {})]


def test_png_output_states_its_scaling_and_clipping(capsys, tmp_path, fake, gray):
    status, out, _ = run(capsys, "restore", gray[0], tmp_path / "o.png", "--psf", "box:3",
                         "--method", "wiener")
    clipped = int(np.count_nonzero(2 * gray[1] > 1))
    assert status == 0 and clipped > 0
    assert (f"16-bit PNG, stored = round(clip(value / 1.5259e-05, 0, 65535)), {clipped} "
            "values clipped") in out
    status, out, _ = run(capsys, "restore", gray[0], tmp_path / "o8.png", "--psf", "box:3",
                         "--bits", "8")
    assert status == 0 and "8-bit PNG, stored = round(clip(value / 0.00392157, 0, 255))" in out
    assert iio.imread(tmp_path / "o8.png").dtype == np.uint8


@pytest.mark.parametrize("name, method", [("rl", "richardson_lucy"),
                                          ("landweber", "landweber"),
                                          ("tikhonov", "tikhonov")])
@pytest.mark.parametrize("quiet", [False, True])
def test_iterative_methods_get_a_progress_option(capsys, tmp_path, fake, gray, name, method,
                                                 quiet):
    argv = ["restore", gray[0], tmp_path / "o.tif", "--psf", "disk:2", "--method", name,
            "--iterations", "7"] + (["--quiet"] if quiet else [])
    status, out, err = run(capsys, *argv)
    assert status == 0 and err == "" and (out == "") == quiet
    assert fake.named("deconvolve") == [
        ("deconvolve", ((16, 12), method, None), {"iterations": 7, "progress": not quiet})]
    assert quiet or "iterations 7" in out


def test_options_reach_the_library_only_when_given(capsys, tmp_path, fake, gray):
    argv = ["restore", gray[0], tmp_path / "o.tif", "--psf", "motion:5,45", "--method",
            "wiener", "--noise", "0.01", "--nsr", "0", "--lam", "2", "--tv", "0.5",
            "--accelerate", "--boundary", "none"]
    assert run(capsys, *argv)[0] == 0
    assert fake.named("deconvolve") == [
        ("deconvolve", ((16, 12), "wiener", "none"),
         {"noise": 0.01, "nsr": 0.0, "lam": 2.0, "tv": 0.5, "accelerate": True})]


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_colour_channels_are_restored_separately_and_alpha_copied(capsys, tmp_path, fake,
                                                                  channels):
    rng = np.random.default_rng(0)
    stored = rng.integers(0, 100, size=(9, 8, channels)).astype(np.uint8)
    iio.imwrite(tmp_path / "c.png", stored)
    status, out, _ = run(capsys, "restore", tmp_path / "c.png", tmp_path / "o.tif", "--psf",
                         "gaussian:1")
    colours = 1 if channels == 2 else 3
    assert status == 0 and fake.named("gaussian")[0][2] == {"ndim": 2}
    assert [call[1][0] for call in fake.named("deconvolve")] == [(9, 8)] * colours
    back = tifffile.imread(tmp_path / "o.tif")
    expected = stored / 255
    expected[..., :colours] *= 2
    np.testing.assert_allclose(back, expected, rtol=1e-6)
    assert (f"{colours} channels restored separately" in out) == (colours > 1)


def test_a_tiff_stack_gets_a_3d_psf(capsys, tmp_path, fake):
    tifffile.imwrite(tmp_path / "s.tif", np.ones((4, 6, 5), np.float32),
                     photometric="minisblack")
    status, _, _ = run(capsys, "restore", tmp_path / "s.tif", tmp_path / "o.tif", "--psf",
                       "gaussian:1.5")
    assert status == 0 and fake.named("gaussian") == [("gaussian", (1.5,), {"ndim": 3})]
    assert tifffile.imread(tmp_path / "o.tif").shape == (4, 6, 5)


def test_a_library_error_is_one_line(capsys, tmp_path, fake, gray, monkeypatch):
    def fail(*args, **kwargs):
        raise ValueError("lam: expected a finite number >= 0,\n got -1")

    monkeypatch.setattr(fake, "deconvolve", fail)
    assert_usage_error(*run(capsys, "restore", gray[0], tmp_path / "o.tif", "--psf",
                            "gaussian:2"), "deconvkit restore: error: lam:", "got -1")
    assert not (tmp_path / "o.tif").exists()


# ------------------------------------------------------------------ demo
def test_demo_writes_one_png_and_a_table(capsys, tmp_path, monkeypatch, fake):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "restore", "--demo")
    target = tmp_path / "demo-results" / "restore-demo.png"
    assert status == 0 and err == "" and target.is_file()
    assert iio.imread(target).ndim == 3
    for name in ["blurred"] + METHOD_NAMES:
        assert any(line.startswith(name) for line in out.splitlines()), name
    assert "PSNR dB" in out and f"wrote {target.relative_to(tmp_path)}" in out
    assert len(fake.named("deconvolve")) == len(METHOD_NAMES)
    before = target.read_bytes()
    assert_usage_error(*run(capsys, "restore", "--demo"), "would overwrite", "--overwrite")
    assert target.read_bytes() == before
    assert run(capsys, "restore", "--demo", "--overwrite", "--quiet")[:2] == (0, "")


def test_demo_out_folder_is_checked_first(capsys, tmp_path, fake):
    (tmp_path / "afile").write_text("a file\n")
    assert_usage_error(*run(capsys, "restore", "--demo", "--out", tmp_path / "afile"),
                       "--out", "is a file")
    assert fake.calls == []
    assert run(capsys, "restore", "--demo", "--out", tmp_path / "new" / "deeper",
               "--quiet")[0] == 0
    assert (tmp_path / "new" / "deeper" / "restore-demo.png").is_file()


# ------------------------------------------------------------------ with the real library
@pytest.mark.parametrize("text, ndim", [("gaussian:2", 2), ("gaussian:2,1", 2),
                                        ("gaussian:1", 3), ("box:5", 2), ("box:3,5", 2),
                                        ("disk:3", 2), ("motion:15,30", 2), ("motion:7", 2)])
def test_real_psfs_are_normalised_arrays(library, text, ndim):
    psf = np.asarray(restore.parse_psf(text, ndim))
    assert psf.ndim == ndim and psf.sum() == pytest.approx(1) and (psf >= 0).all()


def _blurred_file(library, tmp_path):
    from scipy import ndimage

    yy, xx = np.mgrid[:48, :48]
    truth = ((np.abs(yy - 24) < 10) & (np.abs(xx - 20) < 14)) * 0.6 + 0.2
    psf = np.asarray(library.gaussian(1.5, ndim=2))
    noise = np.random.default_rng(0).normal(0, 0.005, truth.shape)
    blurred = ndimage.convolve(truth, psf, mode="reflect") + noise
    write_image(tmp_path / "blurred.tif", blurred)
    return truth, blurred


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_real_restore_of_every_method(capsys, tmp_path, library, method):
    from deconvkit.restoration.metrics import psnr

    truth, blurred = _blurred_file(library, tmp_path)
    argv = ["restore", tmp_path / "blurred.tif", tmp_path / "o.tif", "--psf", "gaussian:1.5",
            "--method", method, "--boundary", "reflect", "--quiet"]
    status, out, err = run(capsys, *argv)
    assert status == 0 and out == "", err
    restored, _ = read_image(tmp_path / "o.tif")
    assert restored.shape == truth.shape and np.isfinite(restored).all()
    if method != "inverse":  # the inverse filter amplifies the noise
        assert psnr(truth, restored, 1.0) > psnr(truth, blurred, 1.0)


def test_real_progress_bar_unless_quiet(capsys, tmp_path, library):
    _blurred_file(library, tmp_path)
    base = ["restore", tmp_path / "blurred.tif", tmp_path / "o.tif", "--psf", "gaussian:1.5",
            "--method", "rl", "--iterations", "5", "--overwrite"]
    status, out, err = run(capsys, *base)
    assert status == 0 and "richardson" not in out and "rl" in out and "%|" in err
    status, out, err = run(capsys, *base, "--quiet")
    assert status == 0 and out == "" and err == ""


def test_real_demo(capsys, tmp_path, library):
    pytest.importorskip("matplotlib")
    status, out, err = run(capsys, "restore", "--demo", "--out", tmp_path, "--quiet")
    assert status == 0 and (tmp_path / "restore-demo.png").is_file()


# ------------------------------------------------------------------ streaming mode
def _stack(tmp_path):
    rng = np.random.default_rng(0)
    g = (1 + rng.random((16, 64, 64))).astype(np.float32)
    tifffile.imwrite(tmp_path / "in.tif", g, imagej=True, resolution=(2.0, 2.0),
                     metadata={"spacing": 1.5, "unit": "um", "axes": "ZYX"})
    return g


def test_streams_a_tiff_stack_to_zarr_and_back_to_tiff(capsys, tmp_path, library):
    pytest.importorskip("dask.array")
    from deconvkit.volumes import open_volume
    g = _stack(tmp_path)
    before = (tmp_path / "in.tif").read_bytes()
    status, out, err = run(capsys, "restore", tmp_path / "in.tif", tmp_path / "out.zarr",
                           "--psf", "gaussian:1", "--chunks", "16,32,32", "--lam", "0.01",
                           "--boundary", "reflect")
    assert status == 0 and "chunks of 16x32x32" in out and "100% Completed" in out
    f, info = open_volume(tmp_path / "out.zarr")
    whole = library.deconvolve(g, library.gaussian(1.0, ndim=3), lam=0.01, noise=0.0,
                               boundary="reflect")
    inner = (slice(None), slice(26, -26), slice(26, -26))
    assert np.abs(f.compute() - whole)[inner].max() < 1e-4
    assert info["voxel_size"] == pytest.approx((1.5, 0.5, 0.5))
    assert (tmp_path / "in.tif").read_bytes() == before
    status, out, err = run(capsys, "restore", tmp_path / "out.zarr", tmp_path / "o.tif",
                           "--psf", "gaussian:1", "--method", "rl", "--iterations", "5",
                           "--quiet")
    assert (status, out, err) == (0, "", "")
    assert open_volume(tmp_path / "o.tif")[1]["voxel_size"] == pytest.approx((1.5, 0.5, 0.5))


def test_streaming_refuses_to_overwrite_before_any_work(capsys, tmp_path, library):
    pytest.importorskip("dask.array")
    _stack(tmp_path)
    (tmp_path / "out.zarr").mkdir()
    status, out, err = run(capsys, "restore", tmp_path / "in.tif", tmp_path / "out.zarr",
                           "--psf", "gaussian:1")
    assert_usage_error(status, out, err, "would overwrite", "--overwrite")
    assert list((tmp_path / "out.zarr").iterdir()) == []
    status, out, err = run(capsys, "restore", tmp_path / "in.tif", tmp_path / "out.zarr",
                           "--psf", "gaussian:1", "--lam", "0.01", "--overwrite", "--quiet")
    assert status == 0 and list((tmp_path / "out.zarr").iterdir())


@pytest.mark.parametrize("extra, words", [
    (["--chunks", "16,32"], ["chunks", "3 ints"]),
    (["--chunks", "16,0,32"], ["--chunks"]),
    (["--depth", "-1"], ["--depth"]),
    (["--scheduler", "gpu"], ["--scheduler", "distributed:ADDRESS"]),
    (["--chunks", "16,32,32", "--bits", "8"], ["--bits"]),
])
def test_streaming_bad_arguments_are_one_line(capsys, tmp_path, library, extra, words):
    pytest.importorskip("dask.array")
    _stack(tmp_path)
    status, out, err = run(capsys, "restore", tmp_path / "in.tif", tmp_path / "o.tif",
                           "--psf", "gaussian:1", *extra)
    assert_usage_error(status, out, err, *words)
    assert not (tmp_path / "o.tif").exists()


def test_streaming_needs_a_volume_output(capsys, tmp_path, library):
    _stack(tmp_path)
    status, out, err = run(capsys, "restore", tmp_path / "in.tif", tmp_path / "o.png",
                           "--psf", "gaussian:1", "--chunks", "16,32,32")
    assert_usage_error(status, out, err, "OUT", ".zarr")
