"""The four Tertulia services and the `tertulia` command line."""
