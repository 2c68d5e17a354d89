"""Quote tools."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from crm_env.backends.base import Condition, Op, Record
from crm_env.errors import RuleViolationError, ValidationError
from crm_env.schema.enums import Entity, QuoteStatus, ToolKind
from crm_env.schema.facts import ENTITIES
from crm_env.schema.types import Amount, IsoDate, Offset, OpportunityId, PageSize, QuoteId, Text
from crm_env.tools.attachments import delete_attachments
from crm_env.tools.context import DEFAULT_PAGE_SIZE, Context
from crm_env.tools.registry import tool
from crm_env.tools.rules import check_not_past, given, require_changes, search_conditions

_FIELDS = ("amount", "status", "version", "valid_until", "quote_prefix")
QuoteIds = Annotated[list[QuoteId], Field(min_length=2, max_length=10)]


def _open_quote(ctx: Context, quote_id: str) -> Record:
    quote = ctx.require(Entity.QUOTE, quote_id)
    if quote["status"] == QuoteStatus.CANCELED:
        raise RuleViolationError(f"Quote {quote_id!r} is already Canceled; a canceled quote cannot change.")
    return quote


def _quotes(ctx: Context, quote_ids: list[str]) -> list[Record]:
    if len(set(quote_ids)) != len(quote_ids):
        raise ValidationError("quote_ids lists the same quote more than once; give distinct quote ids.")
    return [ctx.require(Entity.QUOTE, quote_id, "quote_ids") for quote_id in quote_ids]


@tool(ToolKind.WRITE)
def create_quote(
    ctx: Context,
    opportunity_id: OpportunityId,
    amount: Amount | None = None,
    status: QuoteStatus = QuoteStatus.DRAFT.value,
    version: Text | None = None,
    valid_until: IsoDate | None = None,
    quote_prefix: Text | None = None,
) -> Record:
    """Create a pricing quote for an existing opportunity.

    Args:
        opportunity_id: Id of the opportunity the quote is for.
        amount: Quoted price in dollars, greater than 0 and at most 10,000,000.
        status: Quote status; defaults to Draft.
        version: Version label, e.g. "1.0".
        valid_until: Last day the quote is valid (YYYY-MM-DD), not before today.
        quote_prefix: Numbering prefix of the quote, e.g. "Q-2026".

    Returns:
        the created quote record, including its new quote_id.
    """
    fields = given(locals())
    ctx.require(Entity.OPPORTUNITY, opportunity_id)
    if valid_until is not None:
        check_not_past(ctx, "valid_until", valid_until)
    return ctx.create(Entity.QUOTE, fields)


@tool(ToolKind.WRITE)
def modify_quote(
    ctx: Context,
    quote_id: QuoteId,
    amount: Amount | None = None,
    status: QuoteStatus | None = None,
    version: Text | None = None,
    valid_until: IsoDate | None = None,
    quote_prefix: Text | None = None,
) -> Record:
    """Update fields of an existing quote; fields left out stay as they are. Canceled quotes are final.

    Args:
        quote_id: Id of the quote to update.
        amount: New price, greater than 0 and at most 10,000,000.
        status: New status.
        version: New version label.
        valid_until: New last valid day (YYYY-MM-DD), not before today.
        quote_prefix: New numbering prefix.

    Returns:
        the quote record after the update.
    """
    changes = given(locals(), "quote_id")
    require_changes("modify_quote", changes, _FIELDS)
    before = _open_quote(ctx, quote_id)
    if valid_until is not None and valid_until != before["valid_until"]:
        check_not_past(ctx, "valid_until", valid_until)
    return ctx.update(Entity.QUOTE, before, changes)


@tool(ToolKind.WRITE)
def cancel_quote(ctx: Context, quote_id: QuoteId) -> Record:
    """Cancel a quote (its status becomes Canceled; the record is kept).

    Args:
        quote_id: Id of the quote to cancel.

    Returns:
        the quote record after cancelling.
    """
    before = _open_quote(ctx, quote_id)
    return ctx.update(Entity.QUOTE, before, {"status": QuoteStatus.CANCELED.value})


@tool(ToolKind.WRITE)
def delete_quote(ctx: Context, quote_id: QuoteId) -> dict[str, Any]:
    """Delete a quote together with the documents and notes attached to it.

    Args:
        quote_id: Id of the quote to delete.

    Returns:
        deleted: the ids removed, by record type.
    """
    quote = ctx.require(Entity.QUOTE, quote_id)
    deleted: dict[str, list[str]] = {Entity.QUOTE.value: [quote_id]}
    delete_attachments(ctx, Entity.QUOTE, quote_id, deleted)
    ctx.delete(Entity.QUOTE, quote)
    return {"deleted": deleted}


@tool(ToolKind.READ)
def quote_search(
    ctx: Context,
    opportunity_id: OpportunityId | None = None,
    status: QuoteStatus | None = None,
    quote_prefix: Text | None = None,
    version: Text | None = None,
    amount_min: Amount | None = None,
    amount_max: Amount | None = None,
    valid_until_from: IsoDate | None = None,
    valid_until_to: IsoDate | None = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find quotes matching every filter given; with no filters, list all quotes.

    Args:
        opportunity_id: Exact id of the opportunity.
        status: Exact quote status.
        quote_prefix: Part of the numbering prefix (case-insensitive).
        version: Part of the version label.
        amount_min: Smallest amount to include.
        amount_max: Largest amount to include.
        valid_until_from: Earliest valid-until date to include (YYYY-MM-DD).
        valid_until_to: Latest valid-until date to include (YYYY-MM-DD).
        limit: Page size, 1 to 100.
        offset: Number of matches to skip (for the next page).

    Returns:
        total (all matches), count, offset, limit and results (quote records, oldest first).
    """
    return ctx.search(Entity.QUOTE, search_conditions(Entity.QUOTE, given(locals())), limit, offset)


@tool(ToolKind.READ)
def quote_details(ctx: Context, quote_id: QuoteId) -> Record:
    """Fetch one quote by id.

    Args:
        quote_id: Id of the quote.

    Returns:
        the quote record.
    """
    return ctx.require(Entity.QUOTE, quote_id)


@tool(ToolKind.READ)
def compare_quotes(ctx: Context, quote_ids: QuoteIds) -> dict[str, Any]:
    """Compare the prices of two to ten quotes side by side.

    Args:
        quote_ids: Ids of the quotes to compare (2 to 10, distinct).

    Returns:
        quotes (id, amount, status, version, valid_until), lowest_quote_id, highest_quote_id and
        amount_difference (highest minus lowest), over the quotes that have an amount.
    """
    quotes = _quotes(ctx, quote_ids)
    keys = ("quote_id", "opportunity_id", "amount", "status", "version", "valid_until")
    priced = [q for q in quotes if q["amount"] is not None]
    low = min(priced, key=lambda q: q["amount"], default=None)
    high = max(priced, key=lambda q: q["amount"], default=None)
    return {
        "quotes": [{k: q[k] for k in keys} for q in quotes],
        "lowest_quote_id": low and low["quote_id"],
        "highest_quote_id": high and high["quote_id"],
        "amount_difference": round(high["amount"] - low["amount"], 2) if low and high else None,
    }


@tool(ToolKind.READ)
def compare_quote_details(ctx: Context, quote_ids: QuoteIds) -> dict[str, Any]:
    """Compare every field of two to ten quotes and list the fields that differ.

    Args:
        quote_ids: Ids of the quotes to compare (2 to 10, distinct).

    Returns:
        quotes (full records) and differences (field → the values, in the order of quote_ids).
    """
    quotes = _quotes(ctx, quote_ids)
    differences = {
        field: [q[field] for q in quotes]
        for field in ENTITIES[Entity.QUOTE].field_names
        if field != "quote_id" and len({repr(q[field]) for q in quotes}) > 1
    }
    return {"quotes": quotes, "differences": differences}


@tool(ToolKind.READ)
def quote_prefixes(ctx: Context, opportunity_id: OpportunityId | None = None) -> dict[str, Any]:
    """List the quote numbering prefixes in use, with how many quotes use each.

    Args:
        opportunity_id: Only count this opportunity's quotes.

    Returns:
        prefixes: a list of {quote_prefix, count}, sorted by prefix.
    """
    conditions = [] if opportunity_id is None else [Condition("opportunity_id", Op.EQ, opportunity_id)]
    counts: dict[str, int] = {}
    for quote in ctx.store.find(Entity.QUOTE, conditions).records:
        if quote["quote_prefix"] is not None:
            counts[quote["quote_prefix"]] = counts.get(quote["quote_prefix"], 0) + 1
    return {"prefixes": [{"quote_prefix": p, "count": counts[p]} for p in sorted(counts)]}
