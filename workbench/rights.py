"""A title's rights record: whether model (AI) treatments are cleared, and for which markets.

It stands for the talent-likeness and licence clearances a studio holds for the title. Model
treatments (outpaint, restyle, clean-up by a diffusion model) need ``ai_treatments: allowed``;
where they are denied the request is refused with the reason, the refusal is an audit event,
and the classical treatments still work. A title without a record follows
``WORKBENCH_AI_TREATMENTS_DEFAULT`` (``denied`` unless an operator says otherwise). Every
treated variant records the rights state it was made under in its recipe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from workbench.catalog import open_catalog, repo
from workbench.errors import InvalidInput
from workbench.settings import Settings, get_settings

AiTreatments = Literal["allowed", "denied"]
AI_STATES: tuple[str, ...] = ("allowed", "denied")
MARKET = re.compile(r"^(?:[A-Z]{2}|[0-9]{3}|WW)$")  # ISO 3166-1 alpha-2, UN M49 region, or worldwide
MAX_MARKETS = 300
MAX_NOTE = 500


class RightsDenied(InvalidInput):
    """A model treatment asked for on a title whose rights do not clear it."""


@dataclass(frozen=True)
class Rights:
    ai_treatments: AiTreatments
    markets: tuple[str, ...] = ()  # where the clearance holds; () = not limited
    note: str | None = None
    source: Literal["record", "default"] = "record"
    updated_by: str | None = None
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ai_treatments": self.ai_treatments, "markets": list(self.markets), "note": self.note,
                "source": self.source, "updated_by": self.updated_by, "updated_at": self.updated_at}

    def covers(self, market: str | None) -> bool:
        return not self.markets or market is None or market in self.markets or "WW" in self.markets


def _from_row(data: dict[str, Any] | None, settings: Settings) -> Rights:
    if not data:
        default = settings.ai_treatments_default if settings.ai_treatments_default in AI_STATES else "denied"
        return Rights(default, source="default")  # type: ignore[arg-type]
    return Rights(data.get("ai_treatments", "denied"), tuple(data.get("markets") or ()), data.get("note"),
                  "record", data.get("updated_by"), data.get("updated_at"))


def get_rights(title: str | int, *, settings: Settings | None = None) -> Rights:
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        return _from_row(repo.get_title(session, title).rights, settings)


def set_rights(title: str | int, ai_treatments: str, markets: list[str] | tuple[str, ...] = (), note: str | None = None,
               *, actor: str, role: str = "admin", settings: Settings | None = None) -> Rights:
    settings = settings or get_settings()
    if ai_treatments not in AI_STATES:
        raise InvalidInput(f"ai treatments must be one of {', '.join(AI_STATES)}, got {ai_treatments!r}")
    clean = tuple(dict.fromkeys(m.strip().upper() for m in markets if m and m.strip()))
    bad = [m for m in clean if not MARKET.match(m)]
    if bad:
        raise InvalidInput(f"unknown market code(s) {', '.join(map(repr, bad[:5]))}: use ISO 3166 two-letter codes, UN M49 numbers or WW")
    if len(clean) > MAX_MARKETS:
        raise InvalidInput(f"at most {MAX_MARKETS} markets")
    if note is not None and (len(note) > MAX_NOTE or not note.isprintable()):
        raise InvalidInput(f"the note must be one printable line of at most {MAX_NOTE} characters")
    record = Rights(ai_treatments, clean, note, "record", actor, datetime.now(UTC).isoformat())  # type: ignore[arg-type]
    with open_catalog(settings).session() as session:
        row = repo.get_title(session, title)
        before = row.rights
        row.rights = record.to_dict()
        repo.record_audit(session, actor=actor, role=role, action="rights.set", title=row,
                          details={"before": before, "after": row.rights})
    return record


def require_model_treatments(title: str | int, treatment: str, *, actor: str, role: str = "system",
                             settings: Settings | None = None) -> Rights:
    """The title's rights when they clear model treatments; else an audit event and RightsDenied."""
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        row = repo.get_title(session, title)
        rights = _from_row(row.rights, settings)
        if rights.ai_treatments == "allowed":
            return rights
        why = ("its rights record denies AI treatments" if rights.source == "record"
               else "it has no rights record and AI treatments are denied by default (WORKBENCH_AI_TREATMENTS_DEFAULT)")
        message = (f"model {treatment} refused for {row.name!r}: {why}; the classical treatment (engine=classical) "
                   f"still works, or an admin can run `workbench rights {row.name} --ai-treatments allowed`")
        repo.record_audit(session, actor=actor, role=role, action="treatment.refused", title=row,
                          details={"treatment": treatment, "rights": rights.to_dict()}, comment=message)
    raise RightsDenied(message)
