"""The HTML report of ``deconvkit explain --html``: the page without JavaScript (parsed
here), its numbers against conv_transpose, and the page in a real headless Chromium
(screenshot, console, DOM after the script ran, stepping by hash and by keys)."""

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

import deconvkit as dk
from deconvkit.cli import main
from deconvkit.explain.frames import VIEWS
from deconvkit.explain.html import MAX_PAGE_CELLS, Section, page
from deconvkit.explain.report import checkerboard_page, explain_page
from deconvkit.explain.views import views
from deconvkit.explain.render import fmt_number
from deconvkit.geometry import ConvSpec

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WINDOW = (1000, 800)


# ---------------------------------------------------------------------- the page as text
class _Tables(HTMLParser):
    """Cell texts of every table, per frame id (``<figure id=...>``), scripts skipped."""

    def __init__(self):
        super().__init__()
        self.frames, self.ids, self.text = {}, [], []
        self._frame = self._row = self._cell = None
        self._script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "script":
            self._script = True
        elif tag == "figure":
            self._frame = self.frames.setdefault(attrs["id"], [])
        elif tag == "table":
            self._frame.append([])
        elif tag == "tr":
            self._row = []
            self._frame[-1].append(self._row)
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False
        elif tag == "td":
            self._row.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._script:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _parse(html):
    parser = _Tables()
    parser.feed(html)
    return parser


def _texts(panel):
    """What the page should show for a grid panel (as :func:`deconvkit.explain.html.table`)."""
    values = np.atleast_2d(panel.values)
    return [["" if np.isnan(v) else "·" if panel.kind == "matrix" and v == 0 else
             fmt_number(round(float(v), 3)) for v in row] for row in values]


def _numbers(rows):
    return np.array([[float(c) if c else np.nan for c in row] for row in rows])


@pytest.fixture(scope="module")
def seed_page(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "explain.html"
    assert main(["explain", "--html", str(path)]) == 0
    return path


def test_without_javascript_every_view_shows_its_first_frame(seed_page):
    html = seed_page.read_text(encoding="utf-8")
    parsed = _parse(html)
    v = views(*_seed_geometry())
    for name in VIEWS:
        tables = parsed.frames[f"{name}-0"]
        grids = [p for p in v[name][0].panels if p.kind != "text"]
        assert tables == [_texts(p) for p in grids], name
        assert all(f"{name}-{f.step}" in parsed.frames for f in v[name])  # every step listed
    assert "overlap-0" in parsed.frames
    text = " ".join(parsed.text)
    assert "torch.nn.functional.conv_transpose2d" in text  # the spellings (a text panel)
    assert "stamps" in text and "FLIPPED" in text and "sub-kernel" in text
    assert "periodic" in text or "uniform" in text  # the verdict
    # self-contained: nothing loaded from elsewhere
    assert not re.search(r"https?://|<link|<img|<iframe|@import|src=", html)


def _seed_geometry():
    from deconvkit.explain.pictures import picture_geometry

    return picture_geometry(example=1)


@pytest.mark.parametrize("spec, m", [
    (ConvSpec((3, 2), stride=(2, 3), padding=((1, 0), (0, 1)), output_padding=(1, 0)), (3, 2)),
    (ConvSpec(4, stride=3, padding=2, dilation=2, output_padding=1), (4,)),
])
def test_numbers_on_the_page_are_conv_transpose(spec, m):
    rng = np.random.default_rng(7)
    y, w = rng.integers(-4, 5, m) * 1.0, rng.integers(-3, 4, spec.kernel_size) * 1.0
    z = dk.conv_transpose(y[None, None], w[None, None], spec=spec)[0, 0]
    parsed = _parse(explain_page(spec, m, y, w))
    count = z.size - 1  # the last output position
    crop = parsed.frames[f"scatter-{np.prod(m)}"][-1]           # the crop frame's z
    window = parsed.frames[f"zeros-{count}"][-1]                  # the last window's z
    column = parsed.frames[f"matrix-{count}"][-1]                 # z = Cᵀ y, a column
    for rows in (crop, window):
        np.testing.assert_array_equal(_numbers(rows).reshape(z.shape), z)
    np.testing.assert_array_equal(_numbers(column).ravel(), z.ravel())
    ones = dk.conv_transpose(np.ones((1, 1) + m), np.ones((1, 1) + spec.kernel_size),
                             spec=spec)[0, 0]
    np.testing.assert_array_equal(_numbers(parsed.frames["overlap-0"][0]).reshape(z.shape),
                                  ones)


def test_overwrite_rule_and_size_limit(tmp_path, capsys):
    path = tmp_path / "a.html"
    path.write_text("keep")
    assert main(["explain", "--input", "4", "--kernel", "2", "--html", str(path)]) == 2
    assert main(["explain", "--checkerboard", "--html", str(path)]) == 2
    assert "would overwrite" in capsys.readouterr().err and path.read_text() == "keep"
    assert main(["explain", "--checkerboard", "--html", str(path), "--overwrite"]) == 0
    assert 'id="overlap-0"' in path.read_text(encoding="utf-8")
    big = tmp_path / "big.html"
    assert main(["explain", "--input", "8x8", "--kernel", "2", "--html", str(big)]) == 2
    assert "MAX_PAGE_CELLS" in capsys.readouterr().err and not big.exists()
    assert main(["explain", "--input", "8x8", "--kernel", "2", "--view", "sizes,scatter",
                 "--html", str(big)]) == 0


def test_page_builder_api():
    from deconvkit.explain.frames import Frame, Panel

    one = Frame("x", 0, "One", "", (Panel("p", np.array([[1.0, np.nan]])),))
    html = page("T", [Section("Single", (one,), "Words.")])
    assert 'id="single-0"' in html and "stepped" not in html.split("<main>")[1].split("<script>")[0]
    with pytest.raises(ValueError, match="ids must differ"):
        page("T", [Section("A", (one,)), Section("a", (one,))])
    huge = Frame("x", 0, "", "", (Panel("p", np.zeros((1, MAX_PAGE_CELLS + 1))),))
    with pytest.raises(ValueError, match="MAX_PAGE_CELLS"):
        page("T", [Section("Big", (huge,))])


# ---------------------------------------------------------------------- the real browser
def _install_chromium():
    """apt-get install chromium, only as root with apt; None when that is not possible."""
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return "no chromium on PATH, and installing it needs root and apt-get"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                    ["apt-get", "update"],
                    ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if command[1] == "install" and done.returncode == 0:
            return None
    return f"no chromium on PATH and apt-get install chromium failed: {done.stderr[-300:]}"


@pytest.fixture(scope="session")
def chromium():
    """Path of a headless-capable Chromium: found on PATH, else installed with apt (as root),
    else the tests are skipped saying why."""
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        reason = _install_chromium()
        found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
        if found is None:
            pytest.skip(reason or "chromium was installed but is not on PATH")
    return found


def _browse(chromium, tmp_path, url, *options):
    """Run headless Chromium on ``url``; returns (stdout, console lines of stderr)."""
    profile = tmp_path / "profile"
    command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--no-default-browser-check", "--disable-extensions",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               f"--window-size={WINDOW[0]},{WINDOW[1]}", *options, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def test_harness_sees_console_errors(chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>undefinedFunction();</script>")
    _, console = _browse(chromium, tmp_path, bad.as_uri(), "--dump-dom")
    assert any("Uncaught ReferenceError" in line for line in console), console


def test_screenshot_is_a_window_sized_nonblank_png(chromium, seed_page, tmp_path):
    Image = pytest.importorskip("PIL.Image")
    shot = tmp_path / "shot.png"
    _, console = _browse(chromium, tmp_path, seed_page.as_uri(), f"--screenshot={shot}")
    assert console == []
    with Image.open(shot) as im:
        assert im.format == "PNG" and im.size == WINDOW
        pixels = np.asarray(im.convert("L"), dtype=float)
    assert pixels.std() > 20 and (pixels < 128).mean() > 0.01  # text and tables, not blank


def _dom(chromium, tmp_path, path, hash_=""):
    dom, console = _browse(chromium, tmp_path, path.as_uri() + hash_, "--dump-dom")
    assert console == [], console  # no errors, no messages at all
    assert re.search(r'<html[^>]*class="js"', dom) and 'data-ready="1"' in dom
    return dom


def _steps(dom):
    """data-step of every stepped section and the id of its visible frame."""
    steps = dict(re.findall(r'<section id="(\w+)"[^>]*data-step="(\d+)"', dom))
    current = re.findall(r'class="frame current" id="(\w+)-(\d+)"', dom)
    assert dict(current) == steps  # exactly the selected frame is shown
    return {k: int(v) for k, v in steps.items()}


def test_scripts_run_and_step_in_the_browser(chromium, seed_page, tmp_path):
    dom = _dom(chromium, tmp_path, seed_page)
    assert _steps(dom) == {"scatter": 0, "zeros": 0, "matrix": 0}  # seed 1: 5, 16, 16 steps
    assert "<div class=\"controls\">" in dom  # the buttons are shown (hidden without JS)
    assert 'aria-label="next step of Scatter: stamp and add"' in dom
    assert _steps(_dom(chromium, tmp_path, seed_page, "#step=3")) == {
        "scatter": 3, "zeros": 3, "matrix": 3}
    assert _steps(_dom(chromium, tmp_path, seed_page, "#matrix=99")) == {
        "scatter": 0, "zeros": 0, "matrix": 15}  # clamped to the last step
    keys = "#keys=ArrowRight,ArrowRight,ArrowRight,ArrowLeft"
    assert _steps(_dom(chromium, tmp_path, seed_page, keys)) == {
        "scatter": 2, "zeros": 2, "matrix": 2}
    assert _steps(_dom(chromium, tmp_path, seed_page, "#keys=End")) == {
        "scatter": 4, "zeros": 15, "matrix": 15}


def test_checkerboard_page_in_the_browser(chromium, tmp_path):
    path = tmp_path / "cb.html"
    path.write_text(checkerboard_page(ConvSpec((3, 3), stride=2), (5, 5)), encoding="utf-8")
    dom = _dom(chromium, tmp_path, path)
    assert 'id="overlap-0"' in dom and "periodic with period 2" in dom
    assert _steps(dom) == {}  # one frame: nothing to step
