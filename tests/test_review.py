"""Review: queue queries, compare, variant detail with provenance, decisions with their review
and audit events, the audit trail and its CSV, previews, and the CLI commands. Real signed
variants of the sample title (see tests/review_helpers.py), a real SQLite catalog."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import typer
from PIL import Image
from typer.testing import CliRunner

from generators.thumbnails.generator import ThumbnailParams
from tests.review_helpers import (
    AD_OPS,
    ADMIN,
    CREATIVE,
    LOCALIZER,
    TITLE,
    fast_password_hashing,
    make_writable,
)
from workbench import review, workflow
from workbench.access import Actor, PermissionDenied
from workbench.catalog import (
    AppendOnlyError,
    Asset,
    AuditEvent,
    ReviewEvent,
    Variant,
    open_catalog,
    repo,
)
from workbench.cli import export as export_commands
from workbench.cli import review as review_commands
from workbench.errors import InvalidInput, NotFound
from workbench.previews import preview_path
from workbench.review import VariantFilter
from workbench.settings import Settings


def _events(settings, model) -> list:
    with open_catalog(settings).session() as s:
        return list(s.scalars(sa.select(model).order_by(model.id)))


def _status(settings, ids) -> dict[int, str]:
    with open_catalog(settings).session() as s:
        return {v.id: v.review_status for v in repo.get_variants(s, ids)}


# -- the queue --------------------------------------------------------------------------------


def test_queue_rows_and_filters(wb, tpl) -> None:
    page = review.query_variants(settings=wb)
    assert page.total == 8 and page.pages == 1 and [r.id for r in page.items] == sorted(tpl.variant_ids, reverse=True)
    row = page.items[0]
    assert row.title_name == TITLE and row.kind == "thumbnail" and row.status == "pending"
    assert row.file_path.is_file() and row.mime == "image/jpeg" and row.recipe["generator"] == "thumbnail"
    romance = review.query_variants(VariantFilter(segment="romance"), settings=wb)
    assert romance.total == 4 and {r.segment for r in romance.items} == {"romance"}
    wide = review.query_variants(VariantFilter(format="16x9"), settings=wb)
    assert wide.total == 2 and all(r.placement == "16x9" for r in wide.items)
    assert review.query_variants(VariantFilter(title=TITLE, status="approved"), settings=wb).total == 0
    assert review.query_variants(VariantFilter(title=str(tpl.title_id)), settings=wb).total == 8
    with pytest.raises(NotFound):
        review.query_variants(VariantFilter(title="No Such Title"), settings=wb)
    with pytest.raises(InvalidInput, match="unknown status"):
        review.query_variants(VariantFilter(status="maybe"), settings=wb)
    with pytest.raises(InvalidInput, match="per_page"):
        review.query_variants(per_page=0, settings=wb)
    options = review.filter_options(settings=wb)
    assert options["titles"] == [TITLE] and options["segments"] == ["action", "romance"]
    assert options["formats"] == ["16x9", "1x1", "2x3", "9x16"] and "changes_requested" in options["statuses"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_queue_over_thousands_of_variants_is_paged_by_the_database(request, tmp_path, backend) -> None:
    """2,400 variants in 3 titles x 2 segments x 4 formats x 100 slots, 2 versions of some:
    filters and pages are exact, and a page costs milliseconds (SQLite and PostgreSQL)."""
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    settings = Settings(home=tmp_path / "big", database_url=url)
    catalog = open_catalog(settings)
    now = datetime.now(UTC)
    with catalog.session() as s:
        assets, variants = [], []
        for t in range(3):
            source = repo.add_asset_if_absent(s, sha256=f"{t:064x}", kind="video", mime="video/mp4", ext=".mp4", size_bytes=1)
            title = repo.create_title(s, f"Title {t}", source)
            n = 0
            for segment in ("action", "romance"):
                for fmt in ("16x9", "2x3", "1x1", "9x16"):
                    for pick in range(100):
                        n += 1
                        sha = f"{t + 1:032x}{n:032x}"
                        assets.append({"sha256": sha, "kind": "image", "mime": "image/jpeg", "ext": ".jpg", "size_bytes": 1,
                                           "width": 10, "height": 10, "has_audio": False, "created_at": now})
                        slot_format = f"{fmt}.jpg.pick{pick}"
                        variants.append({"title_id": title.id, "sha": sha, "kind": "thumbnail", "segment": segment,
                                             "format": slot_format, "version": 1, "recipe": {"n": n}, "score": n / 1000,
                                             "slot_key": repo.slot_key(title.id, "thumbnail", segment, None, slot_format)})
        # a second version of the first 30 slots of Title 0
        for i, v in enumerate(variants[:30]):
            sha = f"{'f' * 32}{i:032x}"
            assets.append({"sha256": sha, "kind": "image", "mime": "image/jpeg", "ext": ".jpg", "size_bytes": 1, "width": 10,
                               "height": 10, "has_audio": False, "created_at": now})
            variants.append({**v, "sha": sha, "version": 2})
        s.execute(sa.insert(Asset), assets)
        asset_ids = dict(s.execute(sa.select(Asset.sha256, Asset.id)).all())
        s.execute(sa.insert(Variant), [
            {**{k: v for k, v in row.items() if k != "sha"}, "asset_id": asset_ids[row["sha"]],
             "review_status": "pending", "created_at": now}
            for row in variants
        ])
        first_id = s.scalar(sa.select(sa.func.min(Variant.id)))
    try:
        latest = review.query_variants(per_page=48, settings=settings)
        assert latest.total == 2400 and latest.pages == 50 and len(latest.items) == 48
        assert review.query_variants(VariantFilter(version="all"), settings=settings).total == 2430
        started = time.perf_counter()
        pages = [review.query_variants(VariantFilter(title="Title 1", segment="romance", format="2x3"), page=p,
                                       per_page=48, settings=settings) for p in (1, 2, 3)]
        per_page_s = (time.perf_counter() - started) / 3
        assert [len(p.items) for p in pages] == [48, 48, 4] and pages[0].total == 100
        ids = [r.id for p in pages for r in p.items]
        assert len(set(ids)) == 100 and ids == sorted(ids, reverse=True)
        assert all(r.title_name == "Title 1" and r.segment == "romance" and r.placement == "2x3" for p in pages for r in p.items)
        assert per_page_s < 0.25, f"a queue page took {per_page_s * 1000:.0f} ms"
        beyond = review.query_variants(page=99, settings=settings)
        assert beyond.items == [] and beyond.total == 2400
        slot = review.query_variants(VariantFilter(title="Title 0", version="all", ids=[first_id]), settings=settings)
        assert [r.version for r in slot.items] == [1]
        # the latest view of Title 0 shows version 2 of the regenerated slots
        t0 = review.query_variants(VariantFilter(title="Title 0"), per_page=500, settings=settings)
        assert t0.total == 800 and sum(r.version == 2 for r in t0.items) == 30
    finally:
        catalog.close()


# -- compare and detail -----------------------------------------------------------------------


def test_compare_slots_versions_and_explanations(wb, tpl) -> None:
    groups = review.slot_groups(TITLE, "thumbnail", "romance", settings=wb)
    assert [g.format for g in groups] == ["16x9.jpg.pick1", "1x1.jpg.pick1", "2x3.jpg.pick1", "9x16.jpg.pick1"]
    assert all(len(g.versions) == 1 for g in groups)
    # a tweak (a title treatment) makes version 2 of every slot
    workflow.generate("thumbnail", tpl.title_id, ThumbnailParams(segments=("romance",), formats=("16x9",), top_k=1,
                                                               title_text="Sample"), settings=wb)
    wide = review.slot_groups(TITLE, "thumbnail", "romance", settings=wb)[0]
    assert [v.version for v in wide.versions] == [1, 2] and wide.latest.version == 2
    assert [r.version for r in review.slot_versions(wide.slot_key, settings=wb)] == [1, 2]
    compared = review.compare_slot(wide.slot_key, settings=wb)
    assert len(compared) == 2
    why_v1, why_v2 = compared[0][1], compared[1][1]
    assert why_v1.terms and why_v1.score == pytest.approx(wide.versions[0].score, abs=1e-5)
    contributions = [abs(t.contribution) for t in why_v1.terms]
    assert contributions == sorted(contributions, reverse=True)
    assert why_v1.summary.startswith("frame ") and "pick 1 for romance" in why_v1.summary
    assert why_v1.details["crop"]["target_size"] == [1920, 1080] and why_v1.details["crop_text"]
    assert why_v1.details["treatment"]["title_text"] is None and why_v1.details["treatment"]["model"] is None
    assert why_v2.details["treatment"]["title_text"] == "Sample" and why_v2.details["treatment"]["title"]["lines"]
    # latest vs all in the queue
    assert review.query_variants(VariantFilter(segment="romance"), settings=wb).total == 4
    assert review.query_variants(VariantFilter(segment="romance", version="all"), settings=wb).total == 5


@pytest.mark.timeout(600)
def test_the_explanation_says_in_words_what_counted_and_how_much_a_model_made(wb, tpl, tiny_model, monkeypatch):
    """Named terms with their readings, and the model-made share of the pixels, read from each
    treatment's recipe: an outpainted border, the cleaned regions, the whole look of a restyle;
    none where the treatment ran classically (or no treatment ran)."""
    from generators.diffusion.treatments import TreatmentParams
    from generators.thumbnails.kind import _covered_share
    from workbench import rights
    from workbench.settings import reset_settings_cache

    plain = review.explain(review.get_rows([tpl.variant_ids[0]], settings=wb)[0])
    assert plain.model_share is None and plain.facts[0][0] == "Counted most"
    named = [t.feature for t in plain.terms]
    assert all("(" in n and not n.startswith(("face_", "saliency")) for n in named), named  # "Sharpness (edge detail 340 …)"
    assert any(n.startswith("Sharpness (edge detail ") for n in named)
    monkeypatch.setenv("WORKBENCH_DIFFUSION_MODEL", str(tiny_model))
    reset_settings_cache()
    rights.set_rights(TITLE, "allowed", actor="test", settings=wb)
    fast = {"steps": 3, "work_side": 64, "seed": 1}

    def made(name: str, **options) -> tuple:
        p = ThumbnailParams(segments=("action",), formats=("9x16",), top_k=1,
                            treatment=TreatmentParams(name, **{**fast, **options}))
        [v] = workflow.generate("thumbnail", tpl.title_id, p, settings=Settings(home=wb.home)).variants
        row = review.get_rows([v.variant_id], settings=wb)[0]
        return review.explain(row), row.recipe["details"]["treatment"]

    outpainted, recipe = made("outpaint")
    assert recipe["engine"] == "model" and outpainted.model_share == recipe["generated_share"] > 0.3
    assert "outpainted by a model" in dict(outpainted.facts)["Treatment"]
    cleaned, recipe = made("clean", regions=((0.1, 0.1, 0.3, 0.1), (0.2, 0.15, 0.3, 0.1)))
    boxes = recipe["regions"]["boxes"]
    assert cleaned.model_share == pytest.approx(_covered_share(boxes)) and 0 < cleaned.model_share < 0.1
    restyled, _ = made("restyle")
    assert restyled.model_share == 1.0 and "look" in restyled.details["model_share_note"]
    classical, recipe = made("outpaint", engine="classical")
    assert recipe["engine"] == "classical" and classical.model_share is None
    assert "no model" in dict(classical.facts)["Treatment"]


def test_variant_detail_verifies_the_stored_file(wb, tpl) -> None:
    vid = tpl.variant_ids[0]
    review.decide(CREATIVE, [vid], "approve", "lovely", settings=wb)
    detail = review.variant_detail(vid, settings=wb)
    assert detail.report.state == "Trusted" and detail.file_intact is True
    p = detail.provenance
    assert p.state == "Trusted" and p.codes == [] and p.signer and p.claim_generator.startswith("Creative Workbench")
    assert p.actions[0]["action"] == "c2pa.opened" and any(a["action"] == "c2pa.resized" for a in p.actions)
    assert p.digital_source_types == []  # no model ran
    assert p.ingredients[0]["relationship"] == "parentOf" and p.ingredients[0]["title"].startswith(TITLE)
    assert set(p.training_mining.values()) == {"notAllowed"}
    assert [v.id for v in detail.versions] == [vid]
    assert [(e.actor, e.action, e.comment) for e in detail.events] == [("cara", "approve", "lovely")]
    assert detail.explanation.terms
    # tampered after the fact: the panel says so
    path = detail.row.file_path
    make_writable(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    tampered = review.variant_detail(vid, settings=wb)
    assert tampered.file_intact is False and tampered.provenance.state == "Invalid" and tampered.provenance.codes
    path.unlink()
    missing = review.variant_detail(vid, settings=wb)
    assert missing.report is None and missing.file_intact is None and missing.provenance.state == "Missing"
    with pytest.raises(NotFound):
        review.variant_detail(999_999, settings=wb)


# -- decisions --------------------------------------------------------------------------------


def test_one_review_event_and_one_audit_event_per_decision(wb, tpl) -> None:
    ids = list(tpl.variant_ids)
    events = review.decide(LOCALIZER, ids[:5], "approve", settings=wb)  # batch approve
    assert [e.variant_id for e in events] == ids[:5] and all(e.action == "approve" for e in events)
    review.decide(CREATIVE, [ids[5]], "reject", "too dark", settings=wb)
    review.decide(CREATIVE, [ids[6]], "request_changes", "try the two-shot", settings=wb)
    assert _status(wb, ids) == {**{i: "approved" for i in ids[:5]}, ids[5]: "rejected", ids[6]: "changes_requested",
                                ids[7]: "pending"}
    reviews = _events(wb, ReviewEvent)
    audits = [a for a in _events(wb, AuditEvent) if a.action.startswith("review.")]
    assert len(reviews) == len(audits) == 7
    for r, a in zip(reviews, audits):
        assert (a.actor, a.role, a.variant_id, a.comment) == (r.actor, r.role, r.variant_id, r.comment)
        assert a.action == f"review.{r.action}" and a.details["review_event"] == r.id
        assert r.details["from"] == "pending" and r.details["sha256"]
    assert (reviews[0].actor, reviews[0].role, reviews[0].details["batch"]) == ("lou", "localization", 5)
    assert (reviews[5].action, reviews[5].comment) == ("reject", "too dark")


def test_decisions_validate_the_whole_batch_first(wb, tpl) -> None:
    ids = list(tpl.variant_ids)
    with pytest.raises(NotFound, match="999999"):
        review.decide(CREATIVE, [ids[0], 999_999], "approve", settings=wb)
    review.decide(CREATIVE, [ids[1]], "approve", settings=wb)
    with pytest.raises(InvalidInput, match=f"{ids[1]} already approved"):
        review.decide(CREATIVE, [ids[0], ids[1]], "approve", settings=wb)
    for comment in (None, "", "   \n"):
        with pytest.raises(InvalidInput, match="comment is required"):
            review.decide(CREATIVE, [ids[0]], "reject", comment, settings=wb)
    with pytest.raises(InvalidInput, match="comment is required"):
        review.decide(CREATIVE, [ids[0]], "request_changes", settings=wb)
    with pytest.raises(InvalidInput, match="at most 2000"):
        review.decide(CREATIVE, [ids[0]], "reject", "x" * 2001, settings=wb)
    with pytest.raises(InvalidInput, match="control characters"):
        review.decide(CREATIVE, [ids[0]], "reject", "bad\x00byte", settings=wb)
    with pytest.raises(InvalidInput, match="unknown decision"):
        review.decide(CREATIVE, [ids[0]], "maybe", settings=wb)
    with pytest.raises(InvalidInput, match="no variants"):
        review.decide(CREATIVE, [], "approve", settings=wb)
    # nothing of the refused batches happened
    assert _status(wb, ids) == {i: ("approved" if i == ids[1] else "pending") for i in ids}
    assert len(_events(wb, ReviewEvent)) == 1


def test_roles_and_re_decisions(wb, tpl) -> None:
    a, b = tpl.variant_ids[:2]
    with pytest.raises(PermissionDenied, match=r"otto \(ad_ops\) may not review"):
        review.decide(AD_OPS, [a], "approve", settings=wb)
    review.decide(CREATIVE, [a], "approve", settings=wb)
    # a reviewer cannot overturn a decision; an admin can, and it is on the record
    with pytest.raises(PermissionDenied, match="only an admin may change a decision"):
        review.decide(CREATIVE, [a, b], "reject", "changed my mind", settings=wb)
    assert _status(wb, [a, b]) == {a: "approved", b: "pending"}
    review.decide(ADMIN, [a], "reject", "withdrawn: rights issue", settings=wb)
    assert _status(wb, [a]) == {a: "rejected"}
    assert [e.details["from"] for e in _events(wb, ReviewEvent)] == ["pending", "approved"]


def test_comments_are_stored_as_given(wb, tpl) -> None:
    comment = "<script>alert('x')</script>\n=HYPERLINK(\"http://evil\")\t& ünïcode"
    review.decide(CREATIVE, [tpl.variant_ids[0]], "reject", comment, settings=wb)
    assert review.review_events(tpl.variant_ids[0], settings=wb)[0].comment == comment


def test_review_and_audit_events_from_decisions_are_append_only(wb, tpl) -> None:
    review.decide(CREATIVE, [tpl.variant_ids[0]], "reject", "no", settings=wb)
    catalog = open_catalog(wb)
    for model in (ReviewEvent, AuditEvent):
        with pytest.raises(AppendOnlyError), catalog.session() as s:
            s.scalars(sa.select(model).order_by(model.id.desc())).first().comment = "yes"
        with pytest.raises(AppendOnlyError), catalog.session() as s:
            s.delete(s.scalars(sa.select(model).order_by(model.id.desc())).first())
        with pytest.raises(AppendOnlyError), catalog.session() as s:
            s.execute(sa.update(model).values(comment="rewritten"))
    assert review.review_events(tpl.variant_ids[0], settings=wb)[0].comment == "no"
    assert review.audit_events(action="review", settings=wb)[0].comment == "no"


# -- audit ------------------------------------------------------------------------------------


def test_audit_filters_and_csv_injection_guard(wb, tpl) -> None:
    a, b = tpl.variant_ids[:2]
    before_all = len(review.audit_events(settings=wb))
    before_title = len(review.audit_events(title=TITLE, settings=wb))
    review.decide(CREATIVE, [a], "approve", settings=wb)
    review.decide(Actor("@mallory", "creative"), [b], "reject", "=HYPERLINK(\"http://evil\",\"x\")", settings=wb)
    everything = review.audit_events(settings=wb)
    assert everything[0].action == "review.reject" and everything[-1].action == "ingest"  # newest first
    assert len(everything) == before_all + 2
    assert [e.variant_id for e in review.audit_events(action="review", settings=wb)] == [b, a]
    assert [e.action for e in review.audit_events(action="review.approve", settings=wb)] == ["review.approve"]
    assert [e.actor for e in review.audit_events(actor="cara", settings=wb)] == ["cara"]
    by_title = review.audit_events(title=TITLE, settings=wb)
    assert len(by_title) == before_title + 2 and by_title[0].title_name == TITLE
    assert [e.variant_id for e in review.audit_events(variant_id=a, settings=wb)] == [a]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert review.audit_events(since=future, settings=wb) == []
    assert len(review.audit_events(until=future, settings=wb)) == before_all + 2
    assert len(review.audit_events(limit=1, settings=wb)) == 1
    with pytest.raises(InvalidInput, match="timezone-aware"):
        review.audit_events(since=datetime(2026, 1, 1), settings=wb)
    assert len(review.audit_events(AD_OPS, settings=wb)) == before_all + 2  # every role may read the trail

    text = review.audit_csv(everything)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(review.AUDIT_CSV_HEADER)
    reject = rows[1]
    assert reject[2] == "'@mallory" and reject[8] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert reject[5] == "'" + TITLE  # the title starts with '@' too
    assert json.loads(reject[9])["to"] == "rejected"
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)
    assert review.csv_safe("-1+2") == "'-1+2" and review.csv_safe(-12) == -12 and review.csv_safe("plain") == "plain"


# -- previews ---------------------------------------------------------------------------------


def test_previews_are_small_cached_jpegs(wb, tpl) -> None:
    row = review.query_variants(VariantFilter(format="9x16"), settings=wb).items[0]
    path = preview_path(row.sha256, row.ext, wb)
    assert path.parent.parent == wb.home / "previews"
    with Image.open(path) as im:
        assert im.format == "JPEG" and max(im.size) == wb.preview_side and im.size[1] > im.size[0]
    assert path.stat().st_size < row.file_path.stat().st_size / 5
    mtime = path.stat().st_mtime_ns
    assert preview_path(row.sha256, row.ext, wb) == path and path.stat().st_mtime_ns == mtime  # made once
    assert preview_path(row.sha256, ".mp4", wb) is None  # videos are played, not previewed
    with pytest.raises(NotFound):
        preview_path("0" * 64, ".jpg", wb)
    with pytest.raises(InvalidInput):
        preview_path("../../etc/passwd", ".jpg", wb)


# -- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def cli(wb, monkeypatch):
    fast_password_hashing(monkeypatch)
    monkeypatch.setenv("WORKBENCH_USER", "local-ops")
    app = typer.Typer()
    review_commands.register(app)
    export_commands.register(app)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return invoke


def test_cli_users_decisions_and_audit(cli, wb, tpl, tmp_path) -> None:
    a, b = tpl.variant_ids[:2]
    # fresh install: the OS user bootstraps the first admin; passwords come from stdin or a prompt
    r = cli("users", "add", "root-admin", "--role", "admin", "--password-stdin", input="correct horse\n")
    assert r.exit_code == 0, r.output
    r = cli("users", "add", "cara", "--role", "creative", "--as", "root-admin", input="password123\npassword123\n")
    assert r.exit_code == 0 and "added user cara (creative)" in r.output, r.output
    r = cli("users", "add", "eve", "--role", "admin", "--password-stdin", input="password123\n")
    assert r.exit_code == 2 and "pass --as NAME" in r.output  # the OS user is no admin any more
    r = cli("users", "add", "x y", "--role", "creative", "--as", "root-admin", "--password-stdin", input="password123\n")
    assert r.exit_code == 2 and "bad user name" in r.output
    r = cli("users", "list", "--json")
    assert [(u["name"], u["role"]) for u in json.loads(r.output)] == [("cara", "creative"), ("root-admin", "admin")]
    # decisions
    r = cli("approve", str(a), "--as", "cara", "--json")
    assert r.exit_code == 0 and json.loads(r.output)[0]["variant_id"] == a
    r = cli("reject", str(b), "--comment", " ", "--as", "cara")
    assert r.exit_code == 2 and "comment is required" in r.output
    r = cli("reject", str(b), "--comment", "off-brand", "--as", "cara")
    assert r.exit_code == 0 and "rejected 1 variant(s) as cara (creative)" in r.output
    assert _status(wb, [a, b]) == {a: "approved", b: "rejected"}
    r = cli("users", "disable", "cara", "--as", "cara")
    assert r.exit_code == 2 and "may not manage_users" in r.output
    # audit, as CSV
    out = tmp_path / "audit.csv"
    r = cli("audit", "--action", "review", "--csv", str(out), "--as", "root-admin")
    assert r.exit_code == 0 and "2 event(s) written" in r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [row["action"] for row in rows] == ["review.reject", "review.approve"]
    r = cli("audit", "--since", "not a date", "--as", "root-admin")
    assert r.exit_code == 2 and "ISO date" in r.output
    # export needs ad_ops or admin
    r = cli("export", "--out", str(tmp_path / "exports"), "--as", "cara")
    assert r.exit_code == 2 and "cara (creative) may not export" in r.output
    r = cli("export", "--out", str(tmp_path / "exports"), "--as", "root-admin", "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert result["variants"] == 1 and result["blocked"] == [] and result["zip_path"].endswith(".zip")
    assert {f["variant_id"] for f in result["files"]} == {a}
    # the review app's launcher checks its port before starting anything
    r = cli("review", "--port", "70000")
    assert r.exit_code == 2 and "out of range" in r.output


def test_cli_comments_and_share_links(cli, wb, tpl, monkeypatch) -> None:
    """``workbench comments / comment / shares`` call the library: its checks, its audit events."""
    from workbench import shares

    from workbench.cli import output

    # the tables' cells on one line each: the console's width is fixed when it is made (COLUMNS is
    # read then, perhaps by an earlier test), so set it on the console itself
    monkeypatch.setattr(output.console, "_width", 200)

    still = tpl.variant_ids[0]
    cli("users", "add", "root-admin", "--role", "admin", "--password-stdin", input="correct horse\n")
    cli("users", "add", "cara", "--role", "creative", "--as", "root-admin", "--password-stdin", input="password123\n")
    r = cli("comment", str(still), "@cara the logo <b>crowds</b> the face", "--pin", "0.6,0.25,0.3,0.4",
            "--as", "root-admin")
    assert r.exit_code == 0 and f"comment 1 added to variant {still} (mentions cara)" in r.output, r.output
    r = cli("comment", str(still), "Moved it left", "--reply-to", "1", "--as", "cara", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["parent_id"] == 1
    r = cli("comment", str(still), "no", "--at", "2", "--as", "cara")
    assert r.exit_code == 2 and "times are for video" in r.output  # the library's check, one line
    r = cli("comment", str(still), "no", "--pin", "1.5,0.2", "--as", "cara")
    assert r.exit_code == 2 and "outside the picture" in r.output
    r = cli("comments", str(still), "--as", "cara")
    assert r.exit_code == 0 and "pin 0.6,0.25 box 0.3x0.4" in r.output and "Moved it left" in r.output
    assert "<b>crowds</b>" in r.output  # as typed: the CLI prints text, never markup
    [thread] = json.loads(cli("comments", str(still), "--as", "cara", "--json").output)
    assert thread["author"] == "root-admin" and [c["author"] for c in thread["replies"]] == ["cara"]
    with open_catalog(wb).session() as s:
        assert [e.actor for e in s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "comment.add"))] == [
            "root-admin", "cara"]

    made = shares.create_share(CREATIVE, [still], label="Agency: Ana", settings=wb)
    r = cli("shares", "list", "--as", "cara", "--json")
    assert [(s["id"], s["label"], s["state"]) for s in json.loads(r.output)] == [(made.share.id, "Agency: Ana", "live")]
    assert made.token not in r.output  # the token is shown once, at creation
    r = cli("shares", "revoke", str(made.share.id), "--as", "cara")
    assert r.exit_code == 0 and f"share link {made.share.id} for Agency: Ana: revoked" in r.output
    r = cli("shares", "revoke", "999", "--as", "cara")
    assert r.exit_code == 2 and "no share link 999" in r.output
