"""One planner per manifest kind, and what they share (the context, inheritance, push targets)."""
