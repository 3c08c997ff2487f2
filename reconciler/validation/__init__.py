"""Check: JSON Schemas, offline semantic rules and hostile values, before anything touches the API."""
