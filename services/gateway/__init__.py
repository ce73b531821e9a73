"""The gateway: Caddy's configuration (`Caddyfile`), the one origin in front of the services.

Not a service of its own (no code runs here); a package so that the file travels in the
wheel and `tertulia up` finds it beside the code, in a checkout or installed
(docs/operations.md, "The gateway").
"""
