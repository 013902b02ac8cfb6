"""Volunteer stats count each event once (record_stats.lua), and the markers that make it so are
pruned once they are older than any replay (prune_old_fields in the scripts' prelude)."""

from __future__ import annotations

from core.clock import ManualClock
from core.ids import new_volunteer_id
from core.quality.outcomes import STATS_MARKER_RETENTION_MS, PipelineOps
from tests.support.board import TestBoard


def test_old_stats_markers_are_pruned_and_counts_kept(board: TestBoard, clock: ManualClock) -> None:
    """record_stats.lua prunes its applied-event markers the same way (prune_old_fields in the
    prelude): a day's stamp, markers older than the retention gone, counts untouched."""
    ops = PipelineOps(board.keys, board.clock)
    volunteer = new_volunteer_id()
    key = board.keys.volunteer_stats(volunteer)
    assert board.run(ops.record_stats(volunteer, "sub:old", {"tasks": 1}))
    clock.advance(STATS_MARKER_RETENTION_MS / 1000 + 2 * 86_400)
    assert board.run(ops.record_stats(volunteer, "sub:new", {"tasks": 1}))
    fields = board.client.hgetall(key)
    assert "applied:sub:old" not in fields and "applied:sub:new" in fields
    assert fields["tasks"] == "2"
    assert not board.run(ops.record_stats(volunteer, "sub:new", {"tasks": 1}))  # still once
