"""One module per command flow (connect, plan, apply, drift, export, review, explain, push, demo):
what the CLI calls, tying the stages together; nothing here prints."""
