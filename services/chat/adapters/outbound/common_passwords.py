"""The bundled list of common passwords that sign-up refuses (`services/chat/common_passwords.txt`).

The list is the part of Django's `common-passwords.txt.gz` (Royce Williams' list of the
20,000 most common passwords, BSD-3-Clause with Django) that the length rule does not
already refuse: the entries of 8 or more characters, lower-cased, most common first, plus
a few words of this product. It is read once, at start-up, off the event loop.
"""

from __future__ import annotations

import asyncio
from importlib import resources

from services.chat.domain import PasswordPolicy

LIST_FILE = "common_passwords.txt"


def read_common_passwords() -> frozenset[str]:
    text = resources.files("services.chat").joinpath(LIST_FILE).read_text(encoding="utf-8")
    return frozenset(line.casefold() for line in text.splitlines() if line)


async def load_password_policy() -> PasswordPolicy:
    return PasswordPolicy(common=await asyncio.to_thread(read_common_passwords))
