"""``%track list --tree``, ``create --template/--parent`` and ``templates`` in a real kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_kernel import run_in_kernel


@pytest.fixture
def kernel_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    return root


def test_the_magic_lists_the_tree_as_a_dataframe(kernel_root: Path) -> None:
    made, tree, templates, loop = run_in_kernel(
        "\n".join(
            [
                '%track create --name "Epic"',
                '%track create --name "Backend" --parent Epic --template bugfix',
                '%track create --name "Schema" --parent Backend',
            ]
        ),
        "\n".join(
            [
                "df = %track list --tree",
                "print(type(df).__name__, list(df['name']))",
                "print(list(df['depth']), df['parent_track'].notna().tolist())",
                "print(df.loc[df['name'] == 'Schema', 'parent_track'].iloc[0]"
                " == df.index[df['name'] == 'Backend'][0])",
                "print(df['total_steps'].tolist(), df['family_progress'].tolist())",
            ]
        ),
        "t = %track templates\nprint(len(t), t.set_index('name').loc['bugfix', 'steps'])",
        "%track update Epic --parent Schema",
    )
    assert made["status"] == "ok", made
    assert tree["streams"] == [
        (
            "stdout",
            "DataFrame ['Epic', 'Backend', 'Schema']\n"
            "[0, 1, 2] [False, True, True]\n"
            "True\n"
            "[0, 6, 0] [0.0, 0.0, 0.0]\n",
        )
    ]
    assert templates["streams"] == [("stdout", "13 6\n")]
    assert (loop["status"], loop["ename"]) == ("error", "UsageError")
    assert "cannot be its own ancestor" in loop["streams"][0][1]
