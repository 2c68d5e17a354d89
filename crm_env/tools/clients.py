"""Client and contact tools."""

from __future__ import annotations

from typing import Any

from crm_env.backends.base import Record
from crm_env.schema.enums import ClientStatus, Entity, ToolKind
from crm_env.schema.types import ClientId, ContactId, Email, LongText, Offset, PageSize, Text
from crm_env.tools.context import DEFAULT_PAGE_SIZE, Context
from crm_env.tools.registry import tool
from crm_env.tools.rules import check_client_email, given, require_changes, search_conditions

_CLIENT_FIELDS = ("name", "industry", "email", "phone", "address", "status", "owner")
_CONTACT_FIELDS = ("first_name", "last_name", "title", "email", "phone", "client_id", "notes")


@tool(ToolKind.WRITE)
def create_new_client(
    ctx: Context,
    name: Text,
    email: Email | None = None,
    industry: Text | None = None,
    phone: Text | None = None,
    address: Text | None = None,
    status: ClientStatus = ClientStatus.PROSPECT.value,
    owner: Text | None = None,
) -> Record:
    """Create a new client account.

    Args:
        name: Company name of the client.
        email: Main e-mail address; must not be used by another client (compared case-insensitively).
        industry: Industry the client works in.
        phone: Main phone number.
        address: Postal address.
        status: Lifecycle status; defaults to Prospect.
        owner: Name of the account owner on the revenue team.

    Returns:
        the created client record, including its new client_id.
    """
    fields = given(locals())
    if email is not None:
        check_client_email(ctx, email)
    return ctx.create(Entity.CLIENT, fields)


@tool(ToolKind.WRITE)
def modify_client(
    ctx: Context,
    client_id: ClientId,
    name: Text | None = None,
    email: Email | None = None,
    industry: Text | None = None,
    phone: Text | None = None,
    address: Text | None = None,
    status: ClientStatus | None = None,
    owner: Text | None = None,
) -> Record:
    """Update fields of an existing client; fields left out stay as they are.

    Args:
        client_id: Id of the client to update.
        name: New company name.
        email: New e-mail address; must not be used by another client (compared case-insensitively).
        industry: New industry.
        phone: New phone number.
        address: New postal address.
        status: New lifecycle status.
        owner: New account owner.

    Returns:
        the client record after the update.
    """
    changes = given(locals(), "client_id")
    require_changes("modify_client", changes, _CLIENT_FIELDS)
    before = ctx.require(Entity.CLIENT, client_id)
    if email is not None:
        check_client_email(ctx, email, exclude_id=client_id)
    return ctx.update(Entity.CLIENT, before, changes)


@tool(ToolKind.READ)
def client_search(
    ctx: Context,
    name: Text | None = None,
    email: Text | None = None,
    industry: Text | None = None,
    status: ClientStatus | None = None,
    owner: Text | None = None,
    phone: Text | None = None,
    address: Text | None = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find clients matching every filter given; with no filters, list all clients.

    Args:
        name: Part of the client name (case-insensitive).
        email: Part of the e-mail address (case-insensitive).
        industry: Part of the industry (case-insensitive).
        status: Exact lifecycle status.
        owner: Part of the owner's name (case-insensitive).
        phone: Part of the phone number.
        address: Part of the address (case-insensitive).
        limit: Page size, 1 to 100.
        offset: Number of matches to skip (for the next page).

    Returns:
        total (all matches), count, offset, limit and results (client records sorted by name).
    """
    return ctx.search(Entity.CLIENT, search_conditions(Entity.CLIENT, given(locals())), limit, offset)


@tool(ToolKind.READ)
def get_client(ctx: Context, client_id: ClientId) -> Record:
    """Fetch one client by id.

    Args:
        client_id: Id of the client.

    Returns:
        the client record.
    """
    return ctx.require(Entity.CLIENT, client_id)


@tool(ToolKind.WRITE)
def create_new_contact(
    ctx: Context,
    first_name: Text,
    last_name: Text,
    client_id: ClientId,
    title: Text | None = None,
    email: Email | None = None,
    phone: Text | None = None,
    notes: LongText | None = None,
) -> Record:
    """Create a contact person at an existing client.

    Args:
        first_name: Given name.
        last_name: Family name.
        client_id: Id of the client the contact works for.
        title: Job title.
        email: E-mail address.
        phone: Phone number.
        notes: Free-text notes about the contact.

    Returns:
        the created contact record, including its new contact_id.
    """
    fields = given(locals())
    ctx.require(Entity.CLIENT, client_id)
    return ctx.create(Entity.CONTACT, fields)


@tool(ToolKind.WRITE)
def modify_contact(
    ctx: Context,
    contact_id: ContactId,
    first_name: Text | None = None,
    last_name: Text | None = None,
    title: Text | None = None,
    email: Email | None = None,
    phone: Text | None = None,
    client_id: ClientId | None = None,
    notes: LongText | None = None,
) -> Record:
    """Update fields of an existing contact; fields left out stay as they are.

    Args:
        contact_id: Id of the contact to update.
        first_name: New given name.
        last_name: New family name.
        title: New job title.
        email: New e-mail address.
        phone: New phone number.
        client_id: Id of the client the contact now works for.
        notes: New notes (replaces the old text).

    Returns:
        the contact record after the update.
    """
    changes = given(locals(), "contact_id")
    require_changes("modify_contact", changes, _CONTACT_FIELDS)
    before = ctx.require(Entity.CONTACT, contact_id)
    if client_id is not None:
        ctx.require(Entity.CLIENT, client_id)
    return ctx.update(Entity.CONTACT, before, changes)


@tool(ToolKind.READ)
def contact_search(
    ctx: Context,
    first_name: Text | None = None,
    last_name: Text | None = None,
    email: Text | None = None,
    title: Text | None = None,
    client_id: ClientId | None = None,
    phone: Text | None = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find contacts matching every filter given; with no filters, list all contacts.

    Args:
        first_name: Part of the given name (case-insensitive).
        last_name: Part of the family name (case-insensitive).
        email: Part of the e-mail address (case-insensitive).
        title: Part of the job title (case-insensitive).
        client_id: Exact id of the contact's client.
        phone: Part of the phone number.
        limit: Page size, 1 to 100.
        offset: Number of matches to skip (for the next page).

    Returns:
        total (all matches), count, offset, limit and results (contact records sorted by last, first name).
    """
    return ctx.search(Entity.CONTACT, search_conditions(Entity.CONTACT, given(locals())), limit, offset)


@tool(ToolKind.READ)
def get_contact(ctx: Context, contact_id: ContactId) -> Record:
    """Fetch one contact by id.

    Args:
        contact_id: Id of the contact.

    Returns:
        the contact record.
    """
    return ctx.require(Entity.CONTACT, contact_id)
