"""The restoration benchmark: its cases, its peers' best settings, its report. No timings."""

import io

import numpy as np
import pytest
import scipy.signal

pytest.importorskip("skimage")

from deconvkit.bench import restoration
from deconvkit.bench import restoration_quality as quality
from deconvkit.bench import restoration_speed as speed
from deconvkit.cli import main
from deconvkit.restoration import gaussian


@pytest.fixture(scope="module")
def result():
    return restoration.run(quick=True, out=io.StringIO(), log=io.StringIO())


def test_every_quality_row_is_scored(result):
    rows = result["quality"]
    assert {r["setting"] for r in rows} == {"circular", "cropped"}
    for r in rows:
        ours = r["method"].startswith("ours") or r["method"] == quality.BLURRED
        if ours or not r["info"].get("non-finite"):
            assert np.isfinite(r["psnr"]) and np.isfinite(r["ssim"]), r
            assert -1 <= r["ssim"] <= 1


def test_tuned_wiener_takes_the_argmax_of_its_grid(result):
    rows = [r for r in result["quality"] if r["method"] == quality.WIENER]
    assert len(rows) == 4
    for r in rows:
        grid = r["info"]["grid_psnr"]
        assert len(grid) == len(quality.BALANCES) >= 30
        assert r["info"]["balance"] == quality.BALANCES[int(np.argmax(grid))]
        assert r["psnr"] == pytest.approx(max(grid))


def test_ours_beats_the_blurred_input(result):
    blurred = {(r["setting"], r["psf"]): r["psnr"] for r in result["quality"]
               if r["method"] == quality.BLURRED}
    ours = [r for r in result["quality"] if r["method"].startswith(quality.OURS)
            or r["method"].startswith(quality.OURS_RL)]
    assert ours
    for r in ours:
        assert r["psnr"] > blurred[(r["setting"], r["psf"])], r


def test_cropped_case_is_the_valid_blur_aligned_with_its_truth():
    scene = np.zeros((40, 48))
    scene[17, 29] = 1.0
    psf = gaussian(2.0)
    case = quality.make_case("cropped", "gaussian s=2 (13x13)", 0.0, scene)
    assert case.g.shape == case.truth.shape == (28, 36)
    np.testing.assert_allclose(case.g, scipy.signal.fftconvolve(scene, psf, mode="valid"),
                               atol=1e-12)
    assert np.unravel_index(case.g.argmax(), case.g.shape) == \
        np.unravel_index(case.truth.argmax(), case.truth.shape) == (11, 23)


def test_noise_is_fixed_per_case():
    scene = quality.camera(64)
    a = quality.make_case("circular", "box 5x5", 0.05, scene)
    b = quality.make_case("circular", "box 5x5", 0.05, scene)
    c = quality.make_case("circular", "motion 15 px", 0.05, scene)
    np.testing.assert_array_equal(a.g, b.g)
    assert not np.array_equal(a.g - a.truth, c.g - c.truth)


def test_skimage_trace_matches_skimage():
    from skimage.restoration import richardson_lucy
    name, g, psf, truth = speed.speed_case("image", quick=True)
    scores, best = speed.skimage_rl_psnrs(g, psf, truth, 6)
    n = int(np.argmax(scores)) + 1
    np.testing.assert_allclose(best, richardson_lucy(g, psf.astype(np.float32), n, clip=False),
                               rtol=1e-6, atol=1e-7)


def test_speed_rows(result):
    s = result["speed"]
    assert [(r["case"].split()[0], r["boundary"]) for r in s["equal"]] == [
        (case, b) for case in ("camera", "volume") for b in speed.BOUNDARIES]
    for r in s["equal"]:
        assert all(t > 0 for t in r["times"].values())
        assert all(np.isfinite(p) for p in r["psnr"].values())
    assert [(a["margin"], a["boundary"]) for a in s["accelerated"]] == [
        (m, b) for m in (0, speed.INTERIOR_QUICK) for b in speed.BOUNDARIES]
    for a in s["accelerated"]:
        assert a["replica_error"] < 1e-5
        assert 1 <= a["skimage_iterations"] <= speed.MAX_ITERATIONS
        if a["ours_iterations"] is not None:
            assert a["ours_psnr"] >= a["skimage_psnr"]
    assert len(s["band"]) == 6 and all(np.isfinite(r["band"]) for r in s["band"])


def test_report_has_both_tables_and_every_target(result):
    text = restoration.report(result)
    assert "## Quality" in text and "## Speed" in text and "## Targets" in text
    assert "| setting | PSF | noise | method | PSNR dB | SSIM | note |" in text
    assert "| case | ours boundary | iterations | ours ms | skimage ms | skimage / ours |" \
        in text
    assert "Threads:" in text and "Machine:" in text
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == len(restoration.targets(result)) >= 10
    assert all(("**met**" in line) or ("**not met**" in line) or ("not measured" in line)
               for line in lines)
    for phrase in ("0.2 dB below truth-tuned wiener", "above unsupervised_wiener",
                   "0.5 dB above truth-tuned wiener", "above the blurred input in every case",
                   ">= 2.5x faster", ">= 5x sooner", "no PSNR loss in the"):
        assert phrase in text


def test_cli_writes_the_report(result, tmp_path, capsys, monkeypatch):
    calls = []

    def fake_run(**kwargs):
        calls.append(kwargs)
        return result
    monkeypatch.setattr(restoration, "run", fake_run)
    path = tmp_path / "restoration.md"
    assert main(["bench", "--restoration", "--quick", "--markdown", str(path)]) == 0
    assert calls[0]["quick"] is True
    assert path.read_text(encoding="utf-8") == restoration.report(result)
    assert main(["bench", "--restoration", "--markdown", str(path)]) == 2   # no --overwrite
    assert "would overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--quick"], "--quick applies to --restoration and --restoration-3d only"),
    (["--restoration", "--cases", "S1"], "--cases does not apply to --restoration"),
    (["--restoration", "--batch", "2", "--threads", "1"],
     "--batch, --threads do not apply to --restoration"),
    (["--restoration", "--training"], "separate benchmarks"),
])
def test_cli_options_that_do_not_apply(argv, message, capsys):
    assert main(["bench"] + argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_regularized_rows_and_targets_with_a_stand_in(monkeypatch):
    """The rows and targets of ``regularized`` (a recording stand-in until it lands)."""
    from skimage.restoration import wiener
    calls = []

    def stand_in(g, psf, *, boundary="edgetaper", full_output=False):
        calls.append(boundary)
        return wiener(g, psf, 0.05, clip=False), {"lam": 0.05}
    monkeypatch.setattr(quality, "_regularized", lambda: (stand_in, "edgetaper"))
    rows, note = quality.run(64, ["box 5x5"], (0.01,), log=io.StringIO())
    assert note is None and calls == ["edgetaper", "periodic", "edgetaper"]
    labels = [(r["setting"], r["method"]) for r in rows if r["method"].startswith("ours reg")]
    assert labels == [("circular", quality.OURS + " (default boundary=edgetaper)"),
                      ("circular", quality.OURS_PERIODIC),
                      ("cropped", quality.OURS + " (default boundary=edgetaper)")]
    items = quality.targets(rows)
    assert len(items) == 6 and all(met in (True, False) for _, met, _ in items)
    assert any("lam 0.05" in line for line in restoration._quality_section(rows, None))
