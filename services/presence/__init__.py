"""Presence: who is online, away, busy or offline, where, and on how many devices."""
