"""The dashboard service: live aggregates for operators, Server-Sent Events, broadcasts."""
