"""Find work, practice, and the task pages under their lease."""
