"""Uploaded files: their name's rules, and what its bytes are (sniffed from
their first bytes, whatever the client said). No I/O."""

from __future__ import annotations

import codecs
import secrets
import unicodedata

from services.chat.domain.model import ChatError, Invalid

# Re-exported: the leaf's words are the rules' too.
from services.chat.domain.stored_file import RASTER_TYPES as RASTER_TYPES
from services.chat.domain.stored_file import FileKind as FileKind
from services.chat.domain.stored_file import StoredFile as StoredFile

FILE_NAME_MAX_CHARS = 255
ATTACHMENTS_MAX_PER_MESSAGE = 10
# Enough of a file's start for every signature below and for the text check.
SNIFF_BYTES = 512
THUMBNAIL_SUFFIX = "-thumb"
GENERIC_TYPE = "application/octet-stream"
TEXT_TYPE = "text/plain"

# Unicode's explicit direction marks, embeddings, overrides and isolates: a name such as
# "invoice\u202Efdp.exe" would read as "invoiceexe.pdf".
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
    "application/x-zip-compressed": "application/zip", "application/x-gzip": "application/gzip",
    "audio/mp3": "audio/mpeg", "audio/x-wav": "audio/wav", "audio/wave": "audio/wav",
}


class TooLarge(ChatError):
    """413: the file passes the per-file limit (`file_too_large`) or the uploader's quota
    (`quota_exceeded`)."""

    status = 413


def file_too_large(max_bytes: int) -> TooLarge:
    return TooLarge("file_too_large", f"A file may have at most {max_bytes} bytes.")


def refuse_over_quota(used: int, size: int, quota: int) -> None:
    if used + size > quota:
        raise TooLarge("quota_exceeded", f"Your files would take {used + size} bytes; "
                       f"the quota is {quota}.")


def new_file_id() -> str:
    return secrets.token_hex(16)


def is_file_id(value: str) -> bool:
    return len(value) == 32 and all(ch in "0123456789abcdef" for ch in value)


def thumbnail_key(file_id: str) -> str:
    return file_id + THUMBNAIL_SUFFIX


def validate_file_name(name: str | None) -> str:
    """The name as stored (NFC). No path separators, control or direction characters, no
    "." or "..", not blank, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    if (not name.strip() or len(name) > FILE_NAME_MAX_CHARS or name in (".", "..")
            or "/" in name or "\\" in name
            or any(unicodedata.category(ch) == "Cc" or ch in _BIDI for ch in name)):
        raise Invalid("file_name_invalid", "A file name must be 1-255 characters, with no "
                      "path separators, control or text-direction characters.")
    return name


def sniff(head: bytes) -> str | None:
    """The type a file's first bytes prove, or None when no signature matches."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "application/zip"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    return None


_VERIFIABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "audio/wav",
                         "application/pdf", "application/zip", "application/gzip",
                         "video/mp4", "audio/ogg", "audio/mpeg"})


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:  # not final: the head may end inside a character
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def resolve_content_type(declared: str | None, head: bytes) -> str:
    """The type the file is stored and served with: the sniffed one, else `text/plain` for
    UTF-8 text, else `application/octet-stream`. A declared type that can be checked (a
    signature type above, or any `image/*` but SVG) must match the sniffed one."""
    claimed = (declared or "").split(";")[0].strip().lower()
    claimed = _ALIASES.get(claimed, claimed)
    sniffed = sniff(head)
    checkable = claimed in _VERIFIABLE or (claimed.startswith("image/")
                                           and claimed != "image/svg+xml")
    if checkable and claimed != sniffed:
        raise Invalid("content_type_mismatch",
                      f"The file says it is {claimed}, but its content is not.")
    if sniffed is not None:
        return sniffed
    return TEXT_TYPE if _looks_like_text(head) else GENERIC_TYPE


def refuse_empty(size: int) -> None:
    if size <= 0:
        raise Invalid("file_empty", "The file is empty.")


def refuse_too_many(attachment_ids: list[str]) -> None:
    if len(attachment_ids) > ATTACHMENTS_MAX_PER_MESSAGE:
        raise Invalid("too_many_attachments",
                      f"A message carries at most {ATTACHMENTS_MAX_PER_MESSAGE} files.")
