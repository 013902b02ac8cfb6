"""What a volunteer's work adds up to: ``stats`` (read) and ``stats_updates`` (written from
events), and the feedback list (``add_feedback.lua``)."""
