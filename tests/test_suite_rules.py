"""The suite's own rules, from the top-level conftest.py: with ``CI`` set a skip fails the
run (naming the test and the reason), and a run leaves no temporary folder behind. Each
test runs a tiny suite with that very conftest in a separate pytest process."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

SKIPS = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("no widget here")

@pytest.fixture
def tool():
    pytest.skip("the tool is missing")

def test_needs_the_tool(tool):
    pass

@pytest.mark.skipif(True, reason="marked to skip")
def test_marked():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_failure():
    assert False
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester folder with the real top-level conftest, and a temp folder of its own
    standing for the system's (so its runs never touch the real one)."""
    pytester.makeconftest(ROOT_CONFTEST.read_text())
    system_tmp = pytester.mkdir("system-tmp")
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    monkeypatch.delenv("CI", raising=False)
    return pytester


def test_with_ci_set_every_kind_of_skip_fails_the_run(suite, monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    suite.makepyfile(test_tiny=SKIPS)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # a skip in the test fails it, one in its setup (fixture, skipif) errors it; an
    # expected failure is no skip
    result.assert_outcomes(passed=1, failed=1, errors=2, xfailed=1)
    for name, reason in [
        ("test_skips", "no widget here"),
        ("test_needs_the_tool", "the tool is missing"),
        ("test_marked", "marked to skip"),
    ]:
        result.stdout.fnmatch_lines(
            [f"*test_tiny.py::{name} was skipped ({reason}); with CI set a skip fails the run*"]
        )


def test_without_ci_a_skip_is_only_a_skip(suite) -> None:
    suite.makepyfile(test_tiny=SKIPS)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)


def test_with_ci_set_a_module_level_importorskip_fails(suite, monkeypatch) -> None:
    suite.makepyfile(
        test_fine="def test_fine():\n    pass\n",
        test_needs_a_module="""
        import pytest
        pytest.importorskip("no_such_module_anywhere")

        def test_never_collected():
            pass
        """,
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=1)
    monkeypatch.setenv("CI", "1")
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error stops the run
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_needs_a_module.py was skipped (*no_such_module_anywhere*); with CI set*"]
    )


def test_temp_folders_of_child_processes_are_removed(suite) -> None:
    """A child process (a notebook kernel, the CLI) that leaves its demo folder behind
    leaves it in the run's folder, which the run removes."""
    suite.makepyfile(
        test_child="""
        import os, subprocess, sys, tempfile

        def test_child_leaves_a_demo_folder():
            made = subprocess.run(
                [sys.executable, "-c",
                 "import tempfile; print(tempfile.mkdtemp(prefix='conductor-demo-'))"],
                capture_output=True, text=True, check=True,
            ).stdout.strip()
            assert os.path.isdir(made) and made.startswith(os.environ["TMPDIR"])
            print("MADE", made)

        def test_in_process_folders_go_there_too():
            assert tempfile.mkdtemp(prefix="conductor-test-").startswith(os.environ["TMPDIR"])
        """
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    made = [line.split("MADE ")[1] for line in result.outlines if "MADE " in line]
    assert len(made) == 1 and Path(made[0]).name.startswith("conductor-demo-")
    assert not Path(made[0]).exists()
    assert list((suite.path / "system-tmp").iterdir()) == []  # nothing outside it either


def test_a_folder_left_in_the_system_temp_folder_fails_the_run(suite) -> None:
    system_tmp = suite.path / "system-tmp"
    suite.makepyfile(
        test_leak=f"""
        import tempfile

        def test_leaks():
            tempfile.mkdtemp(prefix="conductor-demo-", dir={str(system_tmp)!r})
        """
    )
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1)
    (leaked,) = system_tmp.glob("conductor-demo-*")
    result.stdout.fnmatch_lines(["*temporary folders left by the run*", f"left behind: {leaked}"])
