"""Pictures of the explainer: frames against the library, GIF/PNG files, verdicts, limits."""

import builtins
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import deconvkit as dk
from deconvkit.cli import main
from deconvkit.explain import frames as frames_mod
from deconvkit.explain.overlap import checkerboard, overlap_maps
from deconvkit.explain.pictures import picture_views, save_pictures
from deconvkit.explain.views import full_scatter, views
from deconvkit.geometry import ConvSpec

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")


@st.composite
def small_specs(draw):
    """1-D and 2-D specs small enough to draw, with every feature."""
    ndim = draw(st.sampled_from((1, 2)))
    k = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    ext = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    pad = tuple((draw(st.integers(0, e - 1)), draw(st.integers(0, e - 1))) for e in ext)
    r = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    m = tuple(draw(st.integers(1, 4 if ndim == 1 else 3)) for _ in range(ndim))
    spec = ConvSpec(k, s, pad, d, 1, r)
    try:
        spec.transpose_output_size(m)
    except ValueError:
        spec = ConvSpec(k, s, 0, d, 1, r)
    # the matrix view draws one row per output position: keep within its limit
    assume(math.prod(spec.transpose_output_size(m)) <= frames_mod.MAX_MATRIX)
    return spec, m


def _values(panel):
    return np.nan_to_num(panel.values)


@settings(max_examples=40, deadline=None)
@given(small_specs(), st.integers(0, 2**31))
def test_every_view_matches_conv_transpose(case, seed):
    spec, m = case
    rng = np.random.default_rng(seed)
    y, w = rng.integers(-3, 4, m).astype(float), rng.integers(-3, 4, spec.kernel_size) * 1.0
    z = dk.conv_transpose(y[None, None], w[None, None], spec=spec)[0, 0]
    v = views(spec, m, y, w)
    # scatter: the running sum, cropped, is z; each stamp is one input's contribution
    crop = spec.transpose_crop(m)
    last_sum = v["scatter"][-2].panels[3].values.reshape(full_scatter(spec, y, w).shape)
    np.testing.assert_allclose(last_sum[crop], z)
    np.testing.assert_allclose(v["scatter"][-1].panels[1].values.reshape(z.shape), z)
    stamps = sum(_values(f.panels[2]) for f in v["scatter"][:-1])
    np.testing.assert_allclose(stamps.reshape(last_sum.shape), last_sum)
    # zero insertion and matrix: the last frame holds every output
    np.testing.assert_allclose(v["zeros"][-1].panels[2].values.reshape(z.shape), z)
    np.testing.assert_allclose(v["matrix"][-1].panels[3].values.ravel(), z.ravel())
    # polyphase: the phase outputs interleave into the full scatter
    total = full_scatter(spec, y, w)
    rebuilt = np.zeros_like(total)
    for q, frame in zip(np.ndindex(*spec.stride), v["polyphase"]):
        index = tuple(slice(a, None, s) for a, s in zip(q, spec.stride))
        rebuilt[index] += frame.panels[1].values.reshape(rebuilt[index].shape)
    np.testing.assert_allclose(rebuilt, total)
    # frame counts: one per input position (+ the crop), per output position, per phase
    assert [len(v[n]) for n in frames_mod.VIEWS] == [
        1, math.prod(m) + 1, z.size, z.size, math.prod(spec.stride)]


def test_seed_examples_have_the_seed_matrices():
    c = picture_views(example=1, which=("matrix",))["matrix"][0].panels[1].values
    assert c.shape == (16, 4)  # the seed's 16x4 C (our Cᵀ)
    mask = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], float)
    want = dk.conv_matrix(mask[None, None], (1, 4, 4)).toarray().T
    np.testing.assert_array_equal(c, want)
    v = picture_views(example=2, which=("matrix",))["matrix"][0].panels[0].values
    assert v.shape == (4, 9)  # the seed's V


def test_frames_are_json_ready():
    import json

    frame = views(ConvSpec(3, stride=2), (2,))["scatter"][0]
    data = json.loads(json.dumps(frame.to_dict()))
    assert data["view"] == "scatter" and data["panels"][0]["highlight"] == [[0, 0]]


@pytest.mark.parametrize("k, s, kind", [(3, 2, "periodic"), (4, 2, "uniform"),
                                        ((3, 3), (2, 2), "periodic"), (5, 3, "periodic"),
                                        ((4, 4), (2, 2), "uniform")])
def test_verdict_of_the_transposed_layer(k, s, kind):
    spec = ConvSpec(k, stride=s)
    result = checkerboard(spec, (5,) * spec.ndim)
    assert result["transposed"].kind == kind
    if kind == "periodic":
        assert result["transposed"].period == spec.stride
        assert "periodic with period" in result["transposed"].text
    for name in ("gradient", "resize-nearest", "resize-bilinear", "pixel-shuffle"):
        assert result[name].kind == "uniform", name


def test_overlap_map_is_conv_transpose_of_ones():
    spec = ConvSpec((3, 2), stride=(2, 3), padding=1)
    counts = overlap_maps(spec, (4, 3))["transposed"][0]
    ones = dk.conv_transpose(np.ones((1, 1, 4, 3)), np.ones((1, 1, 3, 2)), spec=spec)[0, 0]
    np.testing.assert_array_equal(counts, ones)
    assert "pixel-shuffle" not in overlap_maps(spec, (4, 3))  # strides differ


def test_gif_frame_count_and_png_size(tmp_path):
    gif, png = tmp_path / "a.gif", tmp_path / "a.png"
    assert main(["explain", "--input", "5", "--kernel", "3", "--stride", "2",
                 "--gif", str(gif), "--png", str(png)]) == 0
    v = picture_views((5,), 3, stride=2)
    with Image.open(gif) as im:
        # m = 2: sizes, 2 stamps + the crop, 5 windows, 5 rows, 2 phases
        assert im.n_frames == sum(len(f) for f in v.values()) == 1 + 3 + 5 + 5 + 2
    with Image.open(png) as im:
        assert im.format == "PNG" and 700 <= im.width <= 3000 and 1000 <= im.height <= 6000


def test_view_option_and_checkerboard_png(tmp_path, capsys):
    gif = tmp_path / "z.gif"
    assert main(["explain", "--example", "2", "--view", "zeros", "--gif", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 9  # one per output of the 3x3 transposed output
    png = tmp_path / "cb.png"
    capsys.readouterr()
    assert main(["explain", "--checkerboard", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "transposed       periodic with period 2, overlap 1/4" in out
    assert "resize-nearest   uniform" in out
    with Image.open(png) as im:
        assert im.width > im.height > 300


def test_no_overwrite_without_the_option(tmp_path, capsys):
    path = tmp_path / "a.png"
    path.write_bytes(b"keep")
    assert main(["explain", "--input", "4", "--kernel", "2", "--png", str(path)]) == 2
    assert "would overwrite" in capsys.readouterr().err and path.read_bytes() == b"keep"
    assert main(["explain", "--checkerboard", "--png", str(path)]) == 2
    assert path.read_bytes() == b"keep"
    assert main(["explain", "--input", "4", "--kernel", "2", "--png", str(path),
                 "--overwrite", "--view", "sizes"]) == 0
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="would overwrite"):
        save_pictures(picture_views((4,), 2, which=("sizes",)), png=path)


@pytest.mark.parametrize("args, match", [
    (["--input", "100"], "at most 24 cells per axis"),
    (["--input", "9x9", "--kernel", "2"], "MAX_MATRIX"),
    (["--input", "4x4x4", "--kernel", "2"], "1-D and 2-D"),
])
def test_refuses_huge_or_3d_geometries(tmp_path, capsys, args, match):
    path = tmp_path / "x.gif"
    assert main(["explain", *args, "--gif", str(path)]) == 2
    assert match in capsys.readouterr().err and not path.exists()


def test_refuses_huge_maps():
    with pytest.raises(ValueError, match="MAX_MAP_POSITIONS"):
        overlap_maps(ConvSpec((3, 3), stride=2), (2000, 2000))


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    path = tmp_path / "a.png"
    assert main(["explain", "--input", "4", "--png", str(path)]) == 2
    assert 'pip install "deconvkit[viz]"' in capsys.readouterr().err and not path.exists()
