"""Apply and verify: run a plan's steps phase by phase, log them, and plan again what was written."""
