"""The command line under hostile text and odd integers: no user or file text is ever read as
markup or sent to the terminal as a control sequence, and every bad id or integer is one line
with exit 2, never a traceback."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.review_helpers import fast_password_hashing
from workbench import users
from workbench.cli import app

HOSTILE = [
    "[/x]",
    "[link=http://evil.example]click[/link]",
    "[bold red]loud[/]",
    ":smile: :warning:",
    "[",
    "a]b[c",
]


# title names may not hold '/' (they are never paths), so their markup is of the other kinds
TITLES = [t for t in HOSTILE if "/" not in t] + ["[link=mailto:x@example.com]mail me", "[bold red]loud[ ]"]


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def _flat(text: str) -> str:
    """Text without blanks and table rules: what a table cell held, however it wrapped."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in "│┃|")


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.fixture
def cli_home(home, monkeypatch):
    from workbench.cli import output

    fast_password_hashing(monkeypatch)
    monkeypatch.setenv("WORKBENCH_USER", "local-ops")
    monkeypatch.setattr(output.console, "width", 400)  # a wide terminal: one table row per line
    return home


@pytest.fixture
def still(tmp_path):
    from skimage import data as pictures

    path = tmp_path / "still.png"
    Image.fromarray(pictures.astronaut()).save(path)
    return path


# -- text is text ------------------------------------------------------------------------------


def test_login_names_typed_into_the_form_never_break_the_audit(cli_home) -> None:
    for name in HOSTILE:
        with pytest.raises(users.AuthenticationFailed):
            users.authenticate(name, "whatever-password")
    for _ in range(2):  # "from then on": every later run too
        r = _run("audit", "--limit", "50")
        assert r.exit_code == 0, r.output
        assert all(_flat(name) in _flat(r.output) for name in HOSTILE), r.output
        assert "\x1b]8;" not in r.output  # no terminal hyperlink was made


def test_titles_comments_and_error_messages_print_as_typed(cli_home, still) -> None:
    for name in TITLES:
        r = _run("ingest", str(still), "--title", name)
        assert r.exit_code == 0 and name in r.output, r.output
    r = _run("titles")
    assert r.exit_code == 0
    assert all(_flat(name) in _flat(r.output) for name in TITLES), r.output
    # an error message quoting user text
    line = _one_line_error(_run("analyze", "[/no such][link=x]"))
    assert "[/no such][link=x]" in line
    # a comment and a decision
    r = _run("thumbnails", TITLES[0], "--segments", "action", "--formats", "16x9", "--top-k", "1", "--json")
    assert r.exit_code == 0, r.output
    variant = json.loads(r.output)["variants"][0]["variant_id"]
    r = _run("reject", str(variant), "--comment", "[/x] :smile: [link=http://e]y[/link]")
    assert r.exit_code == 0, r.output
    r = _run("audit", "--variant", str(variant))
    assert r.exit_code == 0 and _flat("[/x] :smile: [link=http://e]y[/link]") in _flat(r.output), r.output


def test_control_characters_from_files_are_shown_not_sent(cli_home, tmp_path, still) -> None:
    """A manifest made elsewhere can name its ingredients anything: escape sequences are printed
    as visible escapes, markup as text."""
    from provenance import Ingredient, ManifestSpec, load_identity, sign_file
    from workbench.settings import get_settings

    jpeg = tmp_path / "outside.jpg"
    Image.open(still).convert("RGB").save(jpeg, "JPEG")
    parent = Ingredient(title="\x1b]8;;http://evil\x1b\\[bold]frame[/]\x1b[2J", mime="image/jpeg", data=jpeg.read_bytes())
    spec = ManifestSpec(title="outside.jpg", mime="image/jpeg", actions=(), parent=parent, recipe={"x": 1})
    signed = tmp_path / "signed.jpg"
    sign_file(jpeg, signed, spec, load_identity(get_settings()))
    r = _run("verify", str(signed))
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output
    assert "\\x1b]8;;http://evil\\x1b\\[bold]frame[/]\\x1b[2J" in r.output


def test_brief_values_print_as_typed(cli_home, still, tmp_path) -> None:
    _run("ingest", str(still), "--title", "Plain")
    brief = tmp_path / "b.yaml"
    brief.write_text('name: "[/x] [link=http://e]launch[/link]"\ntitle: Plain\ngenerators:\n  - kind: thumbnail\n'
                     '    segments: [action]\n    formats: [16x9]\n    top_k: 1\n', encoding="utf-8")
    from workers.broker import EmbeddedBroker

    try:
        r = _run("run", str(brief))
    finally:
        EmbeddedBroker(cli_home).stop()
    assert r.exit_code == 0, r.output
    assert "[/x] [link=http://e]launch[/link]" in r.output


# -- ids and integers --------------------------------------------------------------------------

BAD_IDS = ["²", "٣", "99999999999999999999", "0", "-1", "1.0", "0x10", " 7"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_bad_ids_are_one_line_for_every_command(cli_home, bad) -> None:
    for args in (["approve", "--", bad], ["reject", "--comment", "no", "--", bad], ["request-changes", "--comment", "x", "--", bad],
                 ["cancel", "--", bad], ["retry", "--", bad], ["audit", "--variant", bad]):
        line = _one_line_error(_run(*args))
        assert "not an id" in line or "out of range" in line, (args, line)


@pytest.mark.parametrize("ref", ["²", "99999999999999999999", "9" * 5000])
def test_title_references_that_are_no_id_are_not_found(cli_home, ref) -> None:
    line = _one_line_error(_run("analyze", ref))
    assert "no title" in line and len(line) < 300


def test_unknown_job_state_is_one_line(cli_home) -> None:
    line = _one_line_error(_run("jobs", "--status", "bogus"))
    assert "unknown job state 'bogus'" in line


@pytest.mark.parametrize("text", [
    "name: x\ntitle: 0x" + "f" * 4000 + "\ngenerators: [{kind: thumbnail}]\n",
    "name: x\ntitle: T\ngenerators: [{kind: thumbnail, top_k: 99999999999999999999}]\n",
    "name: x\ntitle: T\ngenerators: [{kind: thumbnail, top_k: " + "9" * 5000 + "}]\n",
])
def test_huge_integers_in_yaml_briefs_are_one_line(cli_home, tmp_path, text) -> None:
    brief = tmp_path / "huge.yaml"
    brief.write_text(text)
    line = _one_line_error(_run("run", str(brief)))
    assert "out of range" in line or "bad integer" in line, line
    assert len(line) < 400


@pytest.mark.parametrize("number", ["99999999999999999999", "9" * 5000, "-99999999999999999999"])
def test_huge_integers_in_json_briefs_are_one_line(cli_home, tmp_path, number) -> None:
    brief = tmp_path / "huge.json"
    brief.write_text('{"name": "x", "title": "T", "generators": [{"kind": "thumbnail", "top_k": %s}]}' % number)
    line = _one_line_error(_run("run", str(brief)))
    assert "out of range" in line and len(line) < 400, line


def test_verify_says_what_the_path_is(cli_home, tmp_path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe")
    assert "is a folder" in _one_line_error(_run("verify", str(tmp_path)))
    assert "no such file" in _one_line_error(_run("verify", str(tmp_path / "missing.jpg")))
    assert "not a regular file" in _one_line_error(_run("verify", str(tmp_path / "pipe")))
