"""The notifications service: who must be told about what; inboxes, read state, preferences."""
