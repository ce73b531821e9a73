"""NATS subject matching, as the server does it: `*` is exactly one token, a trailing `>`
one or more. One definition for whatever must agree with the server: the in-memory bus's
routing, the exclusive consumer's filters, and the permission lists' checks."""

from __future__ import annotations


def subject_matches(pattern: str, subject: str) -> bool:
    want, have = pattern.split("."), subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(have) > index
        if index >= len(have) or (token != "*" and token != have[index]):
            return False
    return len(want) == len(have)
