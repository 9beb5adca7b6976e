"""Who may do what: the roles, one permission table, and the check every library entry point
makes before it does anything (a page that hides a button is not the check).

The actor of a call is an :class:`Actor` (a name and a role). The review UI gets one from a
login session (:func:`workbench.users.actor_for_session`); the CLI from ``--as NAME`` or the
bootstrap rule in :func:`workbench.users.resolve_cli_actor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from workbench.errors import InvalidInput, WorkbenchError

Role = Literal["creative", "localization", "ad_ops", "admin"]
ROLES: tuple[str, ...] = get_args(Role)

Permission = Literal["view", "audit", "review", "batch_approve", "regenerate", "jobs", "export", "manage_users", "rights"]

_REVIEWERS = ("creative", "localization", "admin")

# The one table. A role not listed for a permission does not have it.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view": ROLES,  # the queue, compare and variant pages, provenance panels
    "audit": ROLES,  # read the audit trail (who decided what is no secret inside the team)
    "review": _REVIEWERS,  # approve, reject, request changes
    "batch_approve": _REVIEWERS,  # approve many variants in one decision
    "regenerate": _REVIEWERS,  # request a new version with tweaks (a job for the workers)
    "jobs": _REVIEWERS,  # cancel or retry jobs
    "export": ("ad_ops", "admin"),  # export approved creatives for ad servers
    "manage_users": ("admin",),  # add users, change roles, disable accounts
    "rights": ("admin",),  # change a title's rights record (e.g. whether model treatments are allowed)
}


class PermissionDenied(WorkbenchError):
    """The actor's role does not carry the permission the operation needs."""


@dataclass(frozen=True)
class Actor:
    """Who is calling: a user's name and role (as recorded in review and audit events)."""

    name: str
    role: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInput("an actor needs a non-empty name")
        if self.role not in ROLES:
            raise InvalidInput(f"unknown role {self.role!r}; roles: {', '.join(ROLES)}")

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


def _roles_for(permission: str) -> tuple[str, ...]:
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise InvalidInput(f"unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}") from None


def can(actor: Actor | None, permission: str) -> bool:
    """Whether ``actor`` holds ``permission`` (for a UI deciding what to show; the library still checks)."""
    return actor is not None and actor.role in _roles_for(permission)


def require(actor: Actor | None, permission: str) -> Actor:
    """``actor`` if its role holds ``permission``; :class:`PermissionDenied` otherwise."""
    roles = _roles_for(permission)
    if not isinstance(actor, Actor):
        raise PermissionDenied(f"nobody is signed in: {permission} needs one of {', '.join(roles)}")
    if actor.role not in roles:
        raise PermissionDenied(f"{actor.name} ({actor.role}) may not {permission}: needs one of {', '.join(roles)}")
    return actor
