"""The `deconvkit` command at its boundary: bounded numbers, output paths checked before
any work, nothing overwritten by surprise, and every bad input a one-line error."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deconvkit.bench
import deconvkit.bench.training
import deconvkit.train
from deconvkit.cli import EXIT_USAGE, build_parser
from deconvkit.cli.common import MAX_INT
from deconvkit.explain.text import MAX_MATRIX_ENTRIES, MAX_POSITIONS
from cli_helpers import assert_usage_error, run


@pytest.fixture
def no_work(monkeypatch):
    """Every runner of bench and train replaced by one that records its calls."""
    calls = []

    def fake(name, result=None):
        def runner(*args, **kwargs):
            calls.append(name)
            return result
        return runner

    monkeypatch.setattr(deconvkit.bench, "run", fake("bench", []))
    monkeypatch.setattr(deconvkit.bench, "markdown_table", lambda rows: "| the table |\n")
    monkeypatch.setattr(deconvkit.bench.training, "run", fake("training", {}))
    monkeypatch.setattr(deconvkit.bench.training, "report", lambda result: "| training |")
    monkeypatch.setattr(deconvkit.train, "train_and_report", fake("train", ([], [])))
    return calls


# ------------------------------------------------------------------ output paths
def test_bench_markdown_refuses_an_existing_file_without_overwrite(capsys, tmp_path, no_work):
    target = tmp_path / "EXISTING.md"
    target.write_text("keep me\n")
    assert_usage_error(*run(capsys, "bench", "--cases", "S1", "--markdown", target),
                       "would overwrite", str(target), "--overwrite", "--markdown")
    assert target.read_text() == "keep me\n" and no_work == []
    status, out, _ = run(capsys, "bench", "--cases", "S1", "--markdown", target, "--overwrite")
    assert status == 0 and no_work == ["bench"] and f"wrote {target}" in out
    assert target.read_text() == "| the table |\n"


def test_bench_markdown_new_file_is_written(capsys, tmp_path, no_work):
    target = tmp_path / "new.md"
    assert run(capsys, "bench", "--markdown", target)[0] == 0
    assert target.read_text() == "| the table |\n" and no_work == ["bench"]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("where", ["nodir/x.md", "afile/x.md", "adir"])
def test_bench_markdown_path_is_checked_before_any_timing(capsys, tmp_path, no_work,
                                                          training, where):
    (tmp_path / "afile").write_text("a file\n")
    (tmp_path / "adir").mkdir()
    argv = ["bench", "--markdown", tmp_path / where] + (["--training"] if training else [])
    assert_usage_error(*run(capsys, *argv), "--markdown", where)
    assert no_work == [] and (tmp_path / "afile").read_text() == "a file\n"


def test_bench_training_markdown_refuses_an_existing_file(capsys, tmp_path, no_work):
    target = tmp_path / "t.md"
    target.write_text("keep me\n")
    assert_usage_error(*run(capsys, "bench", "--training", "--markdown", target),
                       "would overwrite", "--overwrite")
    assert target.read_text() == "keep me\n" and no_work == []
    assert run(capsys, "bench", "--training", "--markdown", target, "--overwrite")[0] == 0
    assert target.read_text() == "| training |\n" and no_work == ["training"]


@pytest.mark.parametrize("argv, option", [
    (["--report", "afile/r.json"], "--report"),
    (["--report", "afile/deeper/r.json"], "--report"),
    (["--out", "afile"], "--out"),
    (["--report", "adir.json"], "--report"),  # a folder named like the report
    (["--out", "out", "--report", "out-dir.json"], "--report"),
])
def test_train_output_paths_are_checked_before_training(capsys, tmp_path, monkeypatch,
                                                        no_work, argv, option):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file\n")
    (tmp_path / "adir.json").mkdir()
    (tmp_path / "out-dir.json").mkdir()
    assert_usage_error(*run(capsys, "train", "--quick", *argv), option)
    assert no_work == [] and (tmp_path / "afile").read_text() == "a file\n"


def test_train_figure_path_that_is_a_folder_is_refused_unless_no_figures(capsys, tmp_path,
                                                                         monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    (tmp_path / f"r-{deconvkit.train.FIGURES[0]}").mkdir()
    assert_usage_error(*run(capsys, "train", "--report", "r.json"), "--report", "folder")
    assert no_work == []
    assert run(capsys, "train", "--report", "r.json", "--no-figures")[0] == 0
    assert no_work == ["train"]


def test_train_new_folders_are_allowed(capsys, tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "train", "--out", "new/folder")[0] == 0
    assert run(capsys, "train", "--report", "other/r.json")[0] == 0
    assert no_work == ["train", "train"]


def test_train_existing_report_is_refused_before_loading_data(capsys, tmp_path, monkeypatch):
    """The library's own check, reached through the command: no data, no training."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.json").write_text("{}\n")

    def no_data(*args, **kwargs):
        raise AssertionError("data loaded before the output paths were checked")

    monkeypatch.setattr(deconvkit.train, "load_data", no_data)
    assert_usage_error(*run(capsys, "train", "--report", "r.json"), "would overwrite",
                       "--overwrite")
    assert (tmp_path / "r.json").read_text() == "{}\n"


# ------------------------------------------------------------------ numbers
INT_OPTIONS = [  # (command and required options, option, smallest valid value)
    (["explain", "--input", "5"], "--input", 1),
    (["explain", "--input", "5"], "--kernel", 1),
    (["explain", "--input", "5"], "--stride", 1),
    (["explain", "--input", "5"], "--padding", 0),
    (["explain", "--input", "5"], "--dilation", 1),
    (["explain", "--input", "5"], "--output-padding", 0),
    (["translate", "--from", "torch", "--to", "tf", "--input", "5"], "--input", 1),
    (["translate", "--from", "torch", "--to", "tf", "--input", "5"], "--kernel", 1),
    (["translate", "--from", "torch", "--to", "tf", "--input", "5"], "--stride", 1),
    (["translate", "--from", "torch", "--to", "tf", "--input", "5"], "--dilation", 1),
    (["translate", "--from", "torch", "--to", "tf", "--input", "5"], "--output-padding", 0),
    (["translate", "--from", "torch", "--to", "tf", "--input", "5"], "--output-size", 1),
    (["translate", "--from", "torch", "--to", "tf", "--input", "5"], "--groups", 1),
    (["bench"], "--rounds", 1),
    (["bench", "--training"], "--batch", 1),
    (["bench", "--training"], "--size", 1),
    (["bench", "--training"], "--threads", 1),  # "number of threads", as the library says
    (["train"], "--epochs", 1),
    (["train"], "--batch-size", 1),
    (["train"], "--width", 1),
    (["train"], "--seed", 0),
    (["train"], "--n-train", 1),
    (["train"], "--n-val", 1),
    (["train"], "--size", 1),
    (["train"], "--data-seed", 0),
]


def _with(base, option, value):
    """``base`` with ``option value``, replacing a value ``base`` already gives it."""
    argv = list(base)
    if option in argv:
        del argv[argv.index(option):argv.index(option) + 2]
    return argv + [f"{option}={value}"]


@pytest.mark.parametrize("base, option, low", INT_OPTIONS)
@pytest.mark.parametrize("value", ["10**30", str(10**30), str(MAX_INT + 1), "2x" + str(2**63),
                                   "9" * 5000, "-1", "low-1"])
def test_every_integer_option_is_bounded_at_parse_time(capsys, no_work, base, option, low,
                                                       value):
    value = str(low - 1) if value == "low-1" else value
    assert_usage_error(*run(capsys, *_with(base, option, value)), option,
                       f"from {low} to {MAX_INT}")
    assert no_work == []


@pytest.mark.parametrize("base, option, low", INT_OPTIONS)
def test_every_integer_option_takes_its_bounds(base, option, low):
    parser = build_parser()
    for value in (low, MAX_INT):
        args = parser.parse_args(_with(base, option, value))
        got = getattr(args, option[2:].replace("-", "_"))
        got = got[0] if isinstance(got, tuple) else got
        assert got == value


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "1e999", "fast"])
def test_learning_rate_is_finite_and_positive(capsys, no_work, value):
    assert_usage_error(*run(capsys, "train", f"--lr={value}"), "--lr", "finite number > 0")
    assert no_work == []


@pytest.mark.parametrize("base", [["bench"], ["bench", "--training"]])
@pytest.mark.parametrize("value", ["-1", "-0.001", "nan", "inf", "-inf", "1e999", "61", "fast"])
def test_block_time_is_from_0_to_a_minute(capsys, no_work, base, value):
    assert_usage_error(*run(capsys, *base, f"--block-time={value}"), "--block-time",
                       "seconds from 0 to 60")
    assert no_work == []


@pytest.mark.parametrize("value", ["0", "0.5", "60"])
def test_block_time_bounds_are_accepted(value):
    args = build_parser().parse_args(["bench", "--block-time", value])
    assert args.block_time == float(value)


def test_bench_rounds_zero_and_bad_method_do_no_work(capsys, no_work):
    assert_usage_error(*run(capsys, "bench", "--rounds", "0"), "--rounds")
    assert_usage_error(*run(capsys, "bench", "--method", "bogus"), "--method", "bogus")
    assert no_work == []


def test_translate_sizes_are_at_least_one(capsys):
    base = ["translate", "--from", "torch", "--to", "tf"]
    assert_usage_error(*run(capsys, *base, "--input", "0"), "--input", "got '0'")
    assert_usage_error(*run(capsys, *base, "--input", "4x0"), "--input")
    assert_usage_error(*run(capsys, *base, "--input", "4", "--output-size", "0"),
                       "--output-size")


def test_translate_padding_may_be_negative_for_the_library_to_judge(capsys):
    """JAX's own padding pairs may be negative: the parser leaves that to conventions."""
    args = build_parser().parse_args(["translate", "--from", "jax", "--to", "torch",
                                      "--input", "5", "--padding=-1:-1"])
    assert args.padding == ((-1, -1),)
    status, out, err = run(capsys, "translate", "--from", "jax", "--to", "torch", "--input",
                           "5", "--padding=-1:-1")
    if status:
        assert_usage_error(status, out, err, "padding")
    assert run(capsys, "translate", "--from", "jax", "--to", "torch", "--input", "5",
               f"--padding=-{MAX_INT + 1}:0")[0] == EXIT_USAGE


def test_explain_weights_must_be_finite(capsys):
    assert_usage_error(*run(capsys, "explain", "--input", "4", "--weights", "1,nan,2"),
                       "--weights", "finite")


# ------------------------------------------------------------------ explain's limits
def test_explain_refuses_a_full_print_beyond_the_limit_up_front(capsys):
    assert_usage_error(*run(capsys, "explain", "--input", "3000x3000", "--full"),
                       "too large to explain", "--input", f"{MAX_POSITIONS:,}")
    assert_usage_error(*run(capsys, "explain", "--input", "40x40", "--full"),
                       "drop full (--full)", "--input", f"{MAX_MATRIX_ENTRIES:,}")
    status, out, err = run(capsys, "explain", "--input", "40x40")
    assert status == 0 and err == "" and "use --full" in out


@pytest.mark.parametrize("argv", [
    ["--input", "100000000"],
    ["--input", "3000x3000"],
    ["--input", "5", "--kernel", "2", "--dilation", str(MAX_INT), "--padding", str(MAX_INT)],
    ["--input", "1", "--kernel", "1", "--stride", str(MAX_INT), "--padding", str(MAX_INT)],
    ["--input", "5", "--kernel", "1", "--stride", str(MAX_INT), "--output-padding",
     str(MAX_INT - 1)],
])
def test_explain_refuses_large_geometry_up_front(capsys, argv):
    assert_usage_error(*run(capsys, "explain", *argv), "too large to explain",
                       f"{MAX_POSITIONS:,}", "--input")


def test_explain_at_the_largest_stride(capsys):
    status, out, err = run(capsys, "explain", "--input", "5", "--stride", str(MAX_INT))
    assert status == 0 and err == "" and "MISMATCH" not in out


# ------------------------------------------------------------------ last resorts
@pytest.mark.parametrize("error, words", [
    (MemoryError(), ["out of memory"]),
    (OSError(28, "No space left on device"), ["No space left on device"]),
    (ValueError("first line\nsecond line"), ["first line second line"]),
])
def test_errors_while_running_are_one_line(capsys, monkeypatch, error, words):
    def fail(args):
        raise error

    monkeypatch.setattr("deconvkit.cli.explain.run", fail)  # what `explain` runs
    assert_usage_error(*run(capsys, "explain"), "deconvkit explain: error:", *words)


# ------------------------------------------------------------------ property
_number = st.one_of(st.integers(-2, 12), st.integers(MAX_INT - 2, MAX_INT + 2),
                    st.just(2**63), st.just(10**30))
_sizes = st.lists(_number, min_size=1, max_size=3).map(lambda v: "x".join(map(str, v)))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(input_=_sizes, kernel=_sizes, stride=_sizes, padding=_sizes, dilation=_sizes,
       output_padding=st.one_of(st.none(), _sizes), full=st.booleans())
def test_explain_any_numbers_give_text_or_one_line(capsys, input_, kernel, stride, padding,
                                                   dilation, output_padding, full):
    argv = ["explain", f"--input={input_}", f"--kernel={kernel}", f"--stride={stride}",
            f"--padding={padding}", f"--dilation={dilation}"]
    argv += [] if output_padding is None else [f"--output-padding={output_padding}"]
    argv += ["--full"] if full else []
    status, out, err = run(capsys, *argv)
    if status == 0:
        assert err == "" and "MISMATCH" not in out and out.count(" ok (error") >= 4
    else:
        assert_usage_error(status, out, err)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(_number.map(str), st.floats(allow_nan=True, allow_infinity=True)
                       .map(repr), st.text(max_size=8)))
def test_bench_numbers_are_checked_before_any_work(capsys, value):
    calls = []
    original = deconvkit.bench.run
    deconvkit.bench.run = lambda *a, **k: calls.append(k) or []
    try:
        status, out, err = run(capsys, "bench", "--cases", "S1", f"--rounds={value}",
                               f"--block-time={value}")
    finally:
        deconvkit.bench.run = original
    if status == 0:
        assert calls and calls[0]["rounds"] >= 1 and 0 <= calls[0]["block_time"] <= 60
    else:
        assert_usage_error(status, out, err)
        assert calls == []
