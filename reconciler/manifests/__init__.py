"""Load: find the manifest files, read them with bounds, parse them with a position for every key."""
