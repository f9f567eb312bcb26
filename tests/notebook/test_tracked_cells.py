"""``%%track run`` is a tracked run: the cell reaches it through
``conductor_nb.current_run()`` to log metrics, an interrupted cell is an interrupted run,
and the panel's runs tab shows each run's latest metrics (escaped), live."""

from __future__ import annotations

import pytest

from conductor_nb.notebook import watch
from conductor_nb.notebook.panel import TrackPanel
from conductor_nb.tracking import TrackedRun


@pytest.fixture
def watcher():
    instance = watch.Watcher(interval=0.05)
    yield instance
    instance.stop()


def test_a_run_cell_logs_metrics_through_current_run(ip, track, magics) -> None:
    track('create --name "Cell metrics"')
    track("activate Cell")
    cell = (
        "%%track run --name training\n"
        "import conductor_nb\n"
        "cell_run = conductor_nb.current_run()\n"
        "for epoch in range(3):\n"
        "    cell_run.log(loss=1.0 / (epoch + 1))\n"
        "cell_run.log_params(epochs=3)\n"
    )
    assert ip.run_cell(cell).success
    engine = magics.engine()
    cell_run = ip.user_ns["cell_run"]
    record = engine.run(None, cell_run.run_id)
    assert record["status"] == "completed" and record["params"] == {"epochs": 3}
    assert [m["value"] for m in engine.run_metrics(None, cell_run.run_id)] == [
        1.0,
        0.5,
        pytest.approx(1 / 3),
    ]
    assert ip.run_cell("import conductor_nb\nconductor_nb.current_run()").result is None


def test_an_interrupted_cell_is_an_interrupted_run(ip, track, magics) -> None:
    track('create --name "Cell interrupt"')
    track("activate Cell")
    result = ip.run_cell("%%track run --name stopped\nraise KeyboardInterrupt\n")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    (run,) = magics.engine().runs(None)
    assert run["status"] == "interrupted"


def test_the_runs_tab_shows_latest_metrics_escaped_and_live(engine, watcher) -> None:
    track_id = engine.create("Panel metrics")["track_id"]
    engine.transition(track_id, "activate")
    panel = TrackPanel(engine, track_id, watcher=watcher, live=False)
    with TrackedRun(engine, "fit") as run:
        run.log(loss=0.123456, **{"<b>acc</b>": 0.5})
        panel.refresh()  # a running run: read from its metrics file
        assert "loss=0.1235" in panel.runs_table.value
        assert "&lt;b&gt;acc&lt;/b&gt;=0.5" in panel.runs_table.value
        assert "<b>acc" not in panel.runs_table.value
        run.log(loss=0.05)
        panel.refresh()
        assert "loss=0.05" in panel.runs_table.value
    panel.refresh()  # finished: run.json's summary
    assert "loss=0.05" in panel.runs_table.value and "latest metrics" in panel.runs_table.value
