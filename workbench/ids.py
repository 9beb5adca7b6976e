"""Ids and integers typed by people (command lines, links, brief files), checked once at the edge.

An id is a positive integer that fits the database's 64-bit integer columns, written with ASCII
digits only: ``"²"`` and ``"٣"`` (which ``str.isdigit`` accepts and ``int`` may refuse or read
differently), ``"99999999999999999999"`` (which overflows SQLite), ``"+5"``, ``" 5"`` and ``"5.0"``
are refused with one line saying what an id looks like.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.errors import InvalidInput

MAX_ID = 2**63 - 1  # the largest value of a 64-bit signed integer column (SQLite, PostgreSQL BIGINT)
MAX_INT = 2**63 - 1  # any integer a user gives is bounded the same way
_ID_TEXT = re.compile(r"[0-9]{1,19}")


def shown(value: Any) -> str:
    """A value as an error message quotes it: short, and safe for integers of any size (Python
    refuses to print an int of more than 4,300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_id_text(text: Any) -> bool:
    """Whether ``text`` is an id written as the workbench writes them (no sign, ASCII digits)."""
    return isinstance(text, str) and bool(_ID_TEXT.fullmatch(text)) and 1 <= int(text) <= MAX_ID


def parse_id(text: Any, what: str = "id") -> int:
    """``text`` as an id, or InvalidInput naming ``what`` ("variant id", "job id")."""
    if isinstance(text, int) and not isinstance(text, bool):
        return check_id(text, what)
    if not is_id_text(text):
        raise InvalidInput(f"{what} {shown(text)} is not an id: give a whole number from 1 to {MAX_ID}, in digits 0-9")
    return int(text)


def is_id(value: Any) -> bool:
    """Whether ``value`` is an id: an int (not a bool) from 1 to :data:`MAX_ID`."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def check_id(value: Any, what: str = "id") -> int:
    if not is_id(value):
        raise InvalidInput(f"{what} {shown(value)} is out of range: ids are whole numbers from 1 to {MAX_ID}")
    return value


def check_int(value: Any, what: str, low: int = -MAX_INT, high: int = MAX_INT) -> int:
    """An integer a user gave, within ``low..high`` (the 64-bit range by default)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be a whole number from {low} to {high}, got {shown(value)}")
    return value
