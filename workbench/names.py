"""Names users give (titles) and names the workbench writes (output files): checked and made safe."""

from __future__ import annotations

import re
import unicodedata

from workbench.errors import InvalidInput

TITLE_NAME_MAX = 200
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def check_title_name(name: str) -> str:
    """A title name is free text, but never a path: no separators, no '..', no control characters."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise InvalidInput("title name is empty")
    if len(name) > TITLE_NAME_MAX:
        raise InvalidInput(f"title name is {len(name)} characters; at most {TITLE_NAME_MAX}")
    if "/" in name or "\\" in name or name in {".", ".."} or ".." in name.split():
        raise InvalidInput(f"title name {name!r} may not contain '/', '\\' or '..'")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput(f"title name {name!r} contains control characters")
    return name


def safe_filename(text: str, max_len: int = 80) -> str:
    """ASCII slug usable as one path component on any filesystem ('..' and separators removed)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _SAFE.sub("-", ascii_text).strip("-.")
    slug = re.sub(r"\.{2,}", ".", slug)
    return (slug[:max_len].rstrip("-.") or "untitled")


def title_folder(title_id: int, name: str) -> str:
    """The folder of a title's friendly copies: its slug and its id, so two titles never share one
    ("日本" and "中国" are ``untitled-3`` and ``untitled-4``; "Show A" and "Show-A" differ too)."""
    if isinstance(title_id, bool) or not isinstance(title_id, int) or title_id < 1:
        raise ValueError(f"title id must be a positive integer, got {title_id!r}")
    return f"{safe_filename(name, 60)}-{title_id}"
