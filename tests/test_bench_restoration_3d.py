"""The 3-D Richardson–Lucy benchmark in quick mode: its structure and sanity. No timings."""

import io

import numpy as np
import pytest

pytest.importorskip("skimage")
pytest.importorskip("dask")

from deconvkit.bench import memory3d, restoration_3d
from deconvkit.bench import volume3d as v3
from deconvkit.cli import main


@pytest.fixture(scope="module")
def result():
    return restoration_3d.run(quick=True, out=io.StringIO(), log=io.StringIO())


def test_rows_are_the_available_runners(result):
    names = [r["name"] for r in result["rows"]]
    assert names[:2] == ["ours", "ours, periodic"]
    assert ("RedLionfish CPU" in names) == v3.redlionfish_available()
    assert ("ours, tiled" in names) == v3.tiled_available()
    assert "skimage" in names


def test_every_output_has_the_volume_shape_and_finite_scores(result):
    shape = tuple(result["header"]["shape"])
    for r in result["rows"]:
        assert r["shape"] == shape, r["name"]
        assert np.isfinite(r["psnr"]["full"]) and np.isfinite(r["psnr"]["interior"])
        assert r["per_iteration"] > 0


def test_ours_beats_the_blurred_input(result):
    blurred = result["header"]["blurred"]["interior"]
    for r in result["rows"]:
        if r["name"].startswith("ours"):
            assert r["psnr"]["interior"] > blurred, r


def test_peak_memory_is_measured(result):
    for r in result["rows"]:
        assert r["peak"]["peak"] > 0 and r["peak"]["baseline"] > 0, r["name"]
        assert r["peak"]["shape"] == list(result["header"]["shape"])


def test_report_has_the_table_and_the_targets(result):
    text = restoration_3d.report(result)
    assert "| runner | s / iteration | runner / ours |" in text
    assert "## Targets" in text
    assert "faster per iteration than skimage" in text
    for r in result["rows"]:
        assert f"| {r['name']} |" in text
    assert ("RedLionfish CPU |" in text) == v3.redlionfish_available()
    lines = [t for t in text.splitlines() if t.startswith("- ")]
    assert len(lines) == len(restoration_3d.targets(result)) >= 4


@pytest.mark.skipif(not v3.tiled_available(), reason="deconvkit.restoration.tiled not here")
def test_out_of_core_returns_positive_numbers(result):
    o = result["out_of_core"]
    assert "error" not in o, o.get("error")
    assert o["peak"] > 0 and o["baseline"] > 0 and o["volume"] > 0
    assert o["shape"] == list(restoration_3d.QUICK_OUT_OF_CORE["shape"])
    assert "## Larger than memory" in restoration_3d.report(result)


def test_observation_is_deterministic_and_aligned():
    psf = v3.make_psf((1.0, 1.0, 1.0))
    g1, truth = v3.observe((12, 16, 20), psf, "t")
    g2, _ = v3.observe((12, 16, 20), psf, "t")
    np.testing.assert_array_equal(g1, g2)
    assert g1.dtype == truth.dtype == np.float32 and g1.shape == truth.shape
    assert g1.min() >= 0 and 0 <= truth.min() and truth.max() <= 1
    assert np.corrcoef(g1.ravel(), truth.ravel())[0, 1] > 0.8


@pytest.mark.skipif(not v3.redlionfish_available(), reason="RedLionfish not installed")
def test_redlionfish_psf_is_centred():
    """An impulse blurred by RedLionfish's forward model stays where it was."""
    psf = v3.make_psf((1.0, 1.5, 1.5))
    rpsf = v3.redlionfish_psf(psf)
    assert all(k % 2 == 0 for k in rpsf.shape)
    assert np.unravel_index(rpsf.argmax(), rpsf.shape) == tuple(k // 2 for k in rpsf.shape)


def test_peak_of_a_runner_in_a_child(tmp_path):
    psf = v3.make_psf((1.0, 1.0, 1.0))
    g, _ = v3.observe((8, 16, 16), psf, "child")
    np.savez(tmp_path / "in.npz", g=g, psf=psf)
    r = memory3d.peak_of_runner("ours", tmp_path / "in.npz", 2)
    assert r["peak"] > 0 and r["shape"] == [8, 16, 16]


@pytest.mark.parametrize("argv, message", [
    (["--restoration-3d", "--cases", "S1"], "--cases does not apply to --restoration-3d"),
    (["--restoration-3d", "--block-time", "1"], "--block-time does not apply"),
    (["--restoration-3d", "--restoration"], "are separate benchmarks"),
    (["--restoration-3d", "--training"], "are separate benchmarks"),
])
def test_cli_rejects_options_that_do_not_apply(argv, message, capsys):
    code = main(["bench"] + argv)
    assert code != 0
    assert message in capsys.readouterr().err
