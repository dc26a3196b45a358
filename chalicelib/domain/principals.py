"""Who is calling: roles, their order, and what each may do to other users."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


TENANT_ROLES: tuple[Role, ...] = (Role.OWNER, Role.ADMIN, Role.EDITOR, Role.VIEWER)
_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3, Role.OWNER: 4}


def at_least(role: Role, least: Role) -> bool:
    """Whether a tenant member with ``role`` may do what needs ``least`` (operators are not members)."""
    return role in _RANK and _RANK[role] >= _RANK[least]


def may_manage(actor: Role, target: Role) -> bool:
    """Owners manage everyone in their tenant; admins manage editors, viewers and other admins."""
    if actor == Role.OWNER:
        return target in _RANK
    if actor == Role.ADMIN:
        return target in (Role.ADMIN, Role.EDITOR, Role.VIEWER)
    return False


@dataclass(frozen=True)
class Principal:
    user_id: str
    tenant_id: str | None
    role: Role
    email: str
    key_hash: str

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR
