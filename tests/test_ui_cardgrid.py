"""What the queue's card grid (ui/cardgrid.py) reports back is applied exactly, and anything else
changes nothing: the browser sends it, so it is untrusted input like any other."""

from __future__ import annotations

import pytest

from ui.cardgrid import PAGES, apply_ticks, opened
from workbench.ids import MAX_ID


def test_ticks_set_the_cards_shown_and_keep_the_selection_elsewhere():
    selected = {1, 2, 50}  # 50: ticked on another page
    assert apply_ticks(selected, {"shown": [1, 2, 3, 4], "ticked": [2, 3], "seq": 7}) == {2, 3, 50}
    assert apply_ticks(selected, {"shown": [1, 2, 3, 4], "ticked": []}) == {50}
    assert selected == {1, 2, 50}  # a new set: the session's own is replaced, not changed under it


@pytest.mark.parametrize("value", [
    None, [], "1,2", 12, {"shown": [1, 2]}, {"ticked": [1]}, {"shown": "1,2", "ticked": [1]},
    {"shown": [1, 2], "ticked": "1"}, {"shown": None, "ticked": None},
])
def test_a_malformed_tick_report_changes_nothing(value):
    assert apply_ticks({1, 9}, value) == {1, 9}


def test_only_ids_shown_can_be_ticked_and_only_ids_count():
    report = {"shown": [1, 2, MAX_ID, True, "3", 4.0, None, 0, -5, MAX_ID + 1, 2**70],
              "ticked": [1, 99, MAX_ID, True, "3", 4.0, 0, -5, MAX_ID + 1, 2**70]}
    assert apply_ticks(set(), report) == {1, MAX_ID}  # 99 was not shown; the rest are not ids


def test_open_names_a_known_page_and_a_variant_id():
    assert opened({"page": "variant", "id": 12}) == (PAGES["variant"], 12)
    assert opened({"page": "compare", "id": 3}) == (PAGES["compare"], 3)


@pytest.mark.parametrize("value", [
    None, "variant", {"page": "users", "id": 1}, {"page": "../views/users.py", "id": 1}, {"page": "variant"},
    {"page": "variant", "id": "12"}, {"page": "variant", "id": True}, {"page": "variant", "id": 0},
    {"page": "variant", "id": -4}, {"page": "variant", "id": 1.5}, {"page": ["variant"], "id": 1},
    {"page": "variant", "id": MAX_ID + 1}, {"page": "compare", "id": 2**200},
])
def test_open_refuses_anything_else(value):
    assert opened(value) is None
