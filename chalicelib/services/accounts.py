"""Tenants, users and their API keys: creation, authentication, rotation and revocation.

Every change that touches more than one item is one DynamoDB transaction with conditions, so a
crash or a race can never leave a user without a key, a key without a user, or two users with one
email in a tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.domain.api_keys import hash_api_key, looks_like_api_key, new_api_key
from chalicelib.domain.ids import new_id
from chalicelib.domain.principals import Principal, Role, may_manage
from chalicelib.errors import Conflict, Forbidden, NotFound, Unauthorized
from chalicelib.store.binding import transaction
from chalicelib.store.entities import (
    ApiKeyItem,
    EmailClaimItem,
    TenantItem,
    UserItem,
    member_partition,
    tenant_partition,
)
from chalicelib.store.paging import Page, prefix_page


@dataclass(frozen=True)
class IssuedKey:
    user_id: str
    api_key: str


@dataclass(frozen=True)
class NewTenant:
    tenant_id: str
    name: str
    owner: IssuedKey


def _now() -> datetime:
    return datetime.now(UTC)


def _new_member(
    tenant_id: str | None, email: str, role: Role, created_by: str | None
) -> tuple[list, IssuedKey]:
    """The items of a new user with a fresh key, ready to be written in one transaction."""
    api_key = new_api_key()
    key_hash = hash_api_key(api_key)
    user_id = new_id("usr")
    partition = member_partition(tenant_id)
    now = _now()
    items = [
        UserItem(
            pk=partition,
            sk=UserItem.SORT_PREFIX + user_id,
            tenant_id=tenant_id,
            user_id=user_id,
            email=email,
            role=role.value,
            key_hash=key_hash,
            created_at=now,
            created_by=created_by,
        ),
        EmailClaimItem(pk=partition, sk=EmailClaimItem.SORT_PREFIX + email, user_id=user_id),
        ApiKeyItem(
            pk=ApiKeyItem.partition(key_hash),
            sk=ApiKeyItem.SORT_KEY,
            tenant_id=tenant_id,
            user_id=user_id,
            role=role.value,
            email=email,
            created_at=now,
        ),
    ]
    return items, IssuedKey(user_id=user_id, api_key=api_key)


def _write_new(items: list, *, duplicate_message: str) -> None:
    try:
        with transaction() as tx:
            for item in items:
                tx.save(item, condition=type(item).pk.does_not_exist())
    except TransactWriteError as exc:
        if exc.cause_response_code == "TransactionCanceledException":
            raise Conflict(duplicate_message) from None
        raise


def create_operator(email: str) -> IssuedKey:
    items, issued = _new_member(None, email.lower(), Role.OPERATOR, created_by=None)
    _write_new(items, duplicate_message=f"an operator with email {email!r} already exists")
    return issued


def create_tenant(name: str, owner_email: str, actor: Principal | None = None) -> NewTenant:
    tenant_id = new_id("tnt")
    tenant = TenantItem(
        pk=tenant_partition(tenant_id),
        sk=TenantItem.SORT_KEY,
        tenant_id=tenant_id,
        name=name,
        created_at=_now(),
    )
    member_items, owner = _new_member(
        tenant_id, owner_email.lower(), Role.OWNER, actor.user_id if actor else None
    )
    _write_new([tenant, *member_items], duplicate_message="tenant could not be created, try again")
    return NewTenant(tenant_id=tenant_id, name=name, owner=owner)


def authenticate(api_key: str) -> Principal:
    if not looks_like_api_key(api_key):
        raise Unauthorized("the API key is not valid")
    key_hash = hash_api_key(api_key)
    try:
        item = ApiKeyItem.get(ApiKeyItem.partition(key_hash), ApiKeyItem.SORT_KEY)
    except DoesNotExist:
        raise Unauthorized("the API key is not valid or has been revoked") from None
    return Principal(
        user_id=item.user_id,
        tenant_id=item.tenant_id,
        role=Role(item.role),
        email=item.email,
        key_hash=key_hash,
    )


def get_tenant(tenant_id: str) -> TenantItem:
    try:
        return TenantItem.get(tenant_partition(tenant_id), TenantItem.SORT_KEY)
    except DoesNotExist:
        raise NotFound("tenant not found") from None


def create_user(actor: Principal, email: str, role: Role) -> IssuedKey:
    if not may_manage(actor.role, role):
        raise Forbidden(f"a {actor.role.value} cannot create a user with role {role.value}")
    return add_member(actor.tenant_id, email, role, created_by=actor.user_id)


def add_member(tenant_id: str | None, email: str, role: Role, *, created_by: str | None) -> IssuedKey:
    """A new user of ``tenant_id`` with a fresh key; callers have checked that they may."""
    items, issued = _new_member(tenant_id, email.lower(), role, created_by=created_by)
    _write_new(items, duplicate_message=f"a user with email {email.lower()!r} already exists in this tenant")
    return issued


def list_users(actor: Principal, *, limit: int, cursor: str | None) -> Page[UserItem]:
    return prefix_page(
        UserItem, member_partition(actor.tenant_id), UserItem.SORT_PREFIX, limit=limit, cursor=cursor
    )


def get_user(actor: Principal, user_id: str) -> UserItem:
    try:
        return UserItem.get(member_partition(actor.tenant_id), UserItem.SORT_PREFIX + user_id)
    except DoesNotExist:
        raise NotFound(f"user {user_id!r} not found") from None


def delete_user(actor: Principal, user_id: str) -> UserItem:
    """Delete a user and revoke their key at once (the next request with it gets a 401)."""
    user = get_user(actor, user_id)
    if user.user_id == actor.user_id:
        raise Conflict("you cannot delete yourself; ask another owner or admin")
    if not may_manage(actor.role, Role(user.role)):
        raise Forbidden(f"a {actor.role.value} cannot delete a user with role {user.role}")
    try:
        with transaction() as tx:
            tx.delete(user, condition=UserItem.key_hash == user.key_hash)
            tx.delete(EmailClaimItem(pk=user.pk, sk=EmailClaimItem.SORT_PREFIX + user.email))
            tx.delete(ApiKeyItem(pk=ApiKeyItem.partition(user.key_hash), sk=ApiKeyItem.SORT_KEY))
    except TransactWriteError:
        raise Conflict("the user changed while being deleted; try again") from None
    return user


def rotate_key(actor: Principal) -> IssuedKey:
    """A new key for the caller; the old one stops working in the same transaction."""
    user = UserItem.get(member_partition(actor.tenant_id), UserItem.SORT_PREFIX + actor.user_id)
    if user.key_hash != actor.key_hash:
        raise Conflict("this key was rotated or revoked meanwhile; use the newest key")
    return _replace_key(user)


def reissue_key(tenant_id: str | None, user_id: str) -> IssuedKey:
    """A new key for any user, for operators helping someone who lost theirs (the CLI's job)."""
    try:
        user = UserItem.get(member_partition(tenant_id), UserItem.SORT_PREFIX + user_id)
    except DoesNotExist:
        raise NotFound(f"user {user_id!r} not found") from None
    return _replace_key(user)


def _replace_key(user: UserItem) -> IssuedKey:
    old_hash = user.key_hash
    api_key = new_api_key()
    new_hash = hash_api_key(api_key)
    try:
        with transaction() as tx:
            tx.update(
                user, actions=[UserItem.key_hash.set(new_hash)], condition=UserItem.key_hash == old_hash
            )
            tx.delete(
                ApiKeyItem(pk=ApiKeyItem.partition(old_hash), sk=ApiKeyItem.SORT_KEY),
                condition=ApiKeyItem.pk.exists(),
            )
            tx.save(
                ApiKeyItem(
                    pk=ApiKeyItem.partition(new_hash),
                    sk=ApiKeyItem.SORT_KEY,
                    tenant_id=user.tenant_id,
                    user_id=user.user_id,
                    role=user.role,
                    email=user.email,
                    created_at=_now(),
                ),
                condition=ApiKeyItem.pk.does_not_exist(),
            )
    except TransactWriteError:
        raise Conflict("this key was rotated or revoked meanwhile; use the newest key") from None
    return IssuedKey(user_id=user.user_id, api_key=api_key)
