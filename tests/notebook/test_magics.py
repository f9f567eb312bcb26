"""%track and %%track in an in-process shell: the CLI's grammar, objects back, one-line
errors, completion, escaping, load and unload."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError

from conductor_nb.notebook.completion import candidates
from conductor_nb.notebook.display import TrackView

XSS = "<img src=x onerror=alert(1)>"


def test_list_returns_a_typed_dataframe(track) -> None:
    """`%track list` is a DataFrame: one row per track, categorical status/type/priority,
    timezone-aware datetimes, filters as in the CLI."""
    track('create --name "Alpha track" --type bugfix --priority P0')
    track('create --name "Beta track"')
    track("activate Alpha")
    frame = track("list")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    assert frame.loc[frame["name"] == "Alpha track", "status"].item() == "active"
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert list(frame["priority"].cat.categories) == ["P0", "P1", "P2", "P3"]
    assert str(frame["created_at"].dt.tz) == "UTC"
    paused = track("list --status paused")
    assert paused.empty and list(paused.columns) == list(frame.columns)


def test_show_and_status_return_track_views(track) -> None:
    """`%track show` and `%track status` return a view with HTML and text reprs."""
    track('create --name "Viewed track" --goal "See it"')
    assert track("status") is None
    track("activate Viewed")
    track("step add Design")
    track('decide "Use PKCE"')
    panel = track("show")  # the live panel; its text and HTML fallbacks are the view's
    try:
        view = panel.view()
        assert isinstance(view, TrackView) and view.status == "active"
        bundle = panel._repr_mimebundle_()
        assert bundle["text/plain"] == repr(view)
        assert repr(view).startswith("Track('Viewed track', status='active'")
        html = bundle["text/html"]
        assert "See it" in html and "Use PKCE" in html and "Design" in html
        assert "Timeline" in html
        assert track("status").track_id == view.track_id
    finally:
        panel.close()


def test_user_text_is_escaped_in_every_repr(track, ip) -> None:
    """A track named like an HTML injection shows as text everywhere."""
    track(f'create --name "{XSS}" --goal "{XSS}"')
    track("activate img")
    track(f'decide "{XSS}" --rationale "{XSS}"')
    track(f'step add "{XSS}"')
    html = track("show")._repr_mimebundle_()["text/html"]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in track("list")._repr_html_()
    assert "<img" not in track("decisions")._repr_html_()
    assert "<img" not in track('decide "x"')._repr_html_()


def test_cell_forms_decide_and_run(track, ip) -> None:
    """%%track decide takes the cell as rationale; %%track run records a run that fails
    with the exception's type and message, and the exception still reaches the user."""
    track('create --name "Cell track"')
    track("activate Cell")
    ip.run_cell('%%track decide "Use OAuth 2.0"\nIt is the standard.\n')
    (decision,) = track("decisions").to_dict("records")
    assert decision["rationale"] == "It is the standard."
    ok = ip.run_cell("%%track run --name fine\nvalue = 21 * 2\n")
    assert ok.success and ip.user_ns["value"] == 42
    failed = ip.run_cell('%%track run --name boom\nraise KeyError("missing")\n')
    assert isinstance(failed.error_in_exec, KeyError)
    runs = track("run list").set_index("name")
    assert runs.loc["fine", "status"] == "completed"
    assert runs.loc["boom", "status"] == "failed"
    detail = track("run show 2")
    assert detail["outcome"] == {
        "result": "failed",
        "error_type": "KeyError",
        "message": "'missing'",
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("activate nope", "no track matches 'nope'"),
        ("frobnicate", "invalid command 'frobnicate'"),
        ('create --name "ab"', "3 to 100 characters"),
        ("list --status bogus", "'bogus' is not one of"),
    ],
)
def test_mistakes_are_one_line_usage_errors(track, ip, capsys, line, message) -> None:
    """A mistake raises exactly UsageError, shown as one line without a traceback."""
    track('create --name "Existing one"')
    with pytest.raises(UsageError, match=message):
        track(line)
    result = ip.run_cell(f"%track {line}")
    assert type(result.error_in_exec) is UsageError
    _, err = capsys.readouterr()
    assert err.startswith("UsageError: ") and err.count("\n") == 1 and "Traceback" not in err


def test_help_and_completion(track, capsys) -> None:
    """`%track help create` prints usage; completion offers commands, choices and tracks."""
    assert track("help create") is None
    assert "--priority" in capsys.readouterr().out

    def entries():
        return []

    assert "checkpoint" in candidates("%track check", entries)
    assert candidates("%track list --status ", entries)[:2] == ["draft", "ready"]
    assert "P0" in candidates("%track create --priority ", entries)


def test_completion_offers_track_ids_and_names(magics, track) -> None:
    """After a command, completion offers the ids and the (quoted) names of tracks."""
    created = track('create --name "Quoted name"')
    offered = candidates("%track activate ", lambda: magics.engine().list())
    assert created.track_id in offered and "'Quoted name'" in offered


def test_load_twice_is_harmless_and_unload_removes_everything(ip, magics, track) -> None:
    """Loading twice keeps one magic; unloading removes %track, its completer, leases and
    the widgets' watcher thread."""
    import threading

    track('create --name "Leased track"')
    track("activate Leased")
    engine = magics.engine()
    track_id = engine.get_active()["track_id"]
    assert engine.lease_of(track_id)["kind"] == "python"
    board = track("board")  # starts the thread that keeps widgets live
    assert any(t.name == "conductor-watcher" for t in threading.enumerate())
    ip.extension_manager.load_extension("conductor_nb")
    assert ip.find_line_magic("track") is not None
    ip.extension_manager.unload_extension("conductor_nb")
    assert ip.find_line_magic("track") is None and ip.find_cell_magic("track") is None
    assert "%track" not in ip.strdispatchers["complete_command"].strs
    assert engine.lease_of(track_id) is None
    assert not any(t.name == "conductor-watcher" for t in threading.enumerate())
    board.close()
    ip.extension_manager.load_extension("conductor_nb")
    assert ip.find_line_magic("track") is not None


def test_interrupted_work_is_announced_at_load(ip, magics, root, monkeypatch, capsys) -> None:
    """Loading the extension when an active track's holder is gone prints one line with
    the command that resumes it."""
    import json

    engine = magics.engine()
    track_id = engine.create("Abandoned work")["track_id"]
    engine.transition(track_id, "activate")
    record = engine.take_lease(track_id)
    record["pid"] = 2**22 + 12345  # no process has this pid
    engine.tree.track_file(track_id, "lease.json").write_text(json.dumps(record))
    ip.extension_manager.unload_extension("conductor_nb")
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    capsys.readouterr()
    ip.extension_manager.load_extension("conductor_nb")
    assert capsys.readouterr().out == (
        f"conductor: interrupted track {track_id} (holder pid {record['pid']} is gone): "
        f"%track recover {track_id}\n"
    )


def test_run_cell_displays_its_last_expression(track, ip) -> None:
    """%%track run returns the value of the cell's final expression, like any cell."""
    track('create --name "Display track"')
    track("activate Display")
    result = ip.run_cell("%%track run\nbase = 20\nbase + 22\n")
    assert result.result == 42 and ip.user_ns["base"] == 20


def test_root_says_where_the_tracks_are(track, root, tmp_path, monkeypatch) -> None:
    """%track root: the root in use (absolute) and how it was found; a read of a root
    that does not exist says so, and where it looked."""
    result = track("root")
    lines = str(result).splitlines()
    assert lines[0] == str(root) and lines[1] == "given with --root"
    assert result.data == {"root": str(root), "source": "option", "exists": False}
    with pytest.raises(UsageError, match=f"no conductor root at {root}"):
        track("list")
    track('create --name "Docs refresh"')
    assert track("root").data["exists"] is True
    monkeypatch.setenv("CONDUCTOR_ROOT", str(tmp_path / "other"))
    assert track(f"root --root {tmp_path}").data["root"] == str(root)  # the project folder


def test_mistakes_suggest_the_closest_word(track) -> None:
    """A misspelt command, sub-action or value names the closest ones, not all of them."""
    for line, expected in (
        ("creat", "did you mean `create`?"),
        ("step ad x", "did you mean `add`?"),
        ("list --status actve", "did you mean `active`?"),
    ):
        with pytest.raises(UsageError, match=expected) as raised:
            track(line)
        assert "retry" not in str(raised.value)


def test_stats_names_the_active_track(track) -> None:
    track('create --name "Docs refresh"')
    track('activate "Docs refresh"')
    stats = track("stats")
    assert "active: 'Docs refresh' (track-docs-refresh-" in repr(stats)
    assert "<b>Docs refresh</b> <code>track-docs-refresh-" in stats._repr_html_()


def test_a_track_without_steps_says_so(track) -> None:
    """No "0% (0/0 steps)": a track with no steps says it has none, in a view and a panel."""
    view = track('create --name "Docs refresh"')
    assert "<b>Progress:</b> no steps" in view._repr_html_()
    panel = track("show Docs")
    assert panel.progress_label.value == "no steps"
    track('step add "Write it" --track Docs')
    panel.refresh()
    assert panel.progress_label.value.startswith("0/1 steps")


def test_help_of_a_sub_action(track, capsys) -> None:
    track("step add --help")
    out = capsys.readouterr().out
    assert out.startswith("usage: %track step add") and "add a step to a track" in out
    assert "default: action" in out  # --type's default
