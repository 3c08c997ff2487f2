"""Read, diff, plan: live state read through the kinds' planners, compared on declared fields, and
turned into an ordered plan of steps (pure data)."""
