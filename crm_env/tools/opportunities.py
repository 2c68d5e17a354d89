"""Opportunity (sales pipeline) tools."""

from __future__ import annotations

from typing import Any

from crm_env.backends.base import Condition, Op, Record
from crm_env.errors import RuleViolationError
from crm_env.schema.enums import Entity, OpportunityStage, ToolKind
from crm_env.schema.types import (
    Amount,
    ClientId,
    IsoDate,
    LongText,
    Offset,
    OpportunityId,
    PageSize,
    Probability,
    Text,
)
from crm_env.tools.attachments import attached, delete_attachments
from crm_env.tools.context import DEFAULT_PAGE_SIZE, Context
from crm_env.tools.registry import tool
from crm_env.tools.rules import check_not_past, check_open_deal, given, require_changes, search_conditions

_FIELDS = ("name", "client_id", "stage", "amount", "close_date", "owner", "probability", "notes")


@tool(ToolKind.WRITE)
def create_new_opportunity(
    ctx: Context,
    name: Text,
    client_id: ClientId,
    stage: OpportunityStage = OpportunityStage.PROSPECTING.value,
    amount: Amount | None = None,
    close_date: IsoDate | None = None,
    owner: Text | None = None,
    probability: Probability | None = None,
    notes: LongText | None = None,
) -> Record:
    """Create a new sales opportunity (deal) for an existing client.

    Args:
        name: Name of the deal.
        client_id: Id of the client the deal is with.
        stage: Pipeline stage; defaults to Prospecting.
        amount: Deal value in dollars, greater than 0 and at most 10,000,000.
        close_date: Expected close date (YYYY-MM-DD), not before today.
        owner: Name of the sales rep who owns the deal.
        probability: Chance of winning in percent, a whole number from 0 to 100.
        notes: Free-text notes.

    Returns:
        the created opportunity record, including its new opportunity_id.
    """
    fields = given(locals())
    ctx.require(Entity.CLIENT, client_id)
    if close_date is not None:
        check_not_past(ctx, "close_date", close_date)
    return ctx.create(Entity.OPPORTUNITY, fields)


@tool(ToolKind.WRITE)
def modify_opportunity(
    ctx: Context,
    opportunity_id: OpportunityId,
    name: Text | None = None,
    client_id: ClientId | None = None,
    stage: OpportunityStage | None = None,
    amount: Amount | None = None,
    close_date: IsoDate | None = None,
    owner: Text | None = None,
    probability: Probability | None = None,
    notes: LongText | None = None,
) -> Record:
    """Update fields of an existing opportunity; fields left out stay as they are.

    A closed deal (Closed-Won or Closed-Lost) keeps its stage, amount, probability and close date. A deal
    with contracts cannot move to another client.

    Args:
        opportunity_id: Id of the opportunity to update.
        name: New deal name.
        client_id: Id of the client the deal now belongs to.
        stage: New pipeline stage.
        amount: New deal value, greater than 0 and at most 10,000,000.
        close_date: New expected close date (YYYY-MM-DD), not before today.
        owner: New owner.
        probability: New chance of winning in percent, a whole number from 0 to 100.
        notes: New notes (replaces the old text).

    Returns:
        the opportunity record after the update.
    """
    changes = given(locals(), "opportunity_id")
    require_changes("modify_opportunity", changes, _FIELDS)
    before = ctx.require(Entity.OPPORTUNITY, opportunity_id)
    check_open_deal(before, changes)
    if client_id is not None and client_id != before["client_id"]:
        ctx.require(Entity.CLIENT, client_id)
        # A contract's opportunity must belong to the contract's client (create/modify_contract
        # enforce it); moving the deal to another client would silently break that link.
        contracts = ctx.store.find(Entity.CONTRACT, [Condition("opportunity_id", Op.EQ, opportunity_id)]).records
        if contracts:
            raise RuleViolationError(
                f"Opportunity {opportunity_id!r} has contract(s) {', '.join(c['contract_id'] for c in contracts)} "
                f"with client {before['client_id']!r}; it cannot move to another client. "
                "Create a new opportunity for the other client instead."
            )
    if close_date is not None and close_date != before["close_date"]:
        check_not_past(ctx, "close_date", close_date)
    return ctx.update(Entity.OPPORTUNITY, before, changes)


@tool(ToolKind.WRITE)
def delete_opportunity(ctx: Context, opportunity_id: OpportunityId) -> dict[str, Any]:
    """Delete an opportunity together with its quotes and the documents and notes attached to them.

    Refused while a contract refers to the opportunity: contracts are executed agreements and keep
    their history.

    Args:
        opportunity_id: Id of the opportunity to delete.

    Returns:
        deleted: the ids removed, by record type.
    """
    opportunity = ctx.require(Entity.OPPORTUNITY, opportunity_id)
    contracts = ctx.store.find(Entity.CONTRACT, [Condition("opportunity_id", Op.EQ, opportunity_id)]).records
    if contracts:
        ids = ", ".join(c["contract_id"] for c in contracts)
        raise RuleViolationError(
            f"Opportunity {opportunity_id!r} has contract(s) {ids}; it cannot be deleted. "
            "Close it as Closed-Lost instead, or keep it."
        )
    deleted: dict[str, list[str]] = {Entity.OPPORTUNITY.value: [opportunity_id]}
    for quote in ctx.store.find(Entity.QUOTE, [Condition("opportunity_id", Op.EQ, opportunity_id)]).records:
        delete_attachments(ctx, Entity.QUOTE, quote["quote_id"], deleted)
        ctx.delete(Entity.QUOTE, quote)
        deleted.setdefault(Entity.QUOTE.value, []).append(quote["quote_id"])
    delete_attachments(ctx, Entity.OPPORTUNITY, opportunity_id, deleted)
    ctx.delete(Entity.OPPORTUNITY, opportunity)
    return {"deleted": deleted}


@tool(ToolKind.WRITE)
def clone_opportunity(ctx: Context, opportunity_id: OpportunityId, name: Text | None = None) -> Record:
    """Create an exact copy of an opportunity under a new id (its quotes are not copied).

    Args:
        opportunity_id: Id of the opportunity to copy.
        name: Name for the copy; defaults to the original's name.

    Returns:
        the new opportunity record.
    """
    original = ctx.require(Entity.OPPORTUNITY, opportunity_id)
    fields = {k: v for k, v in original.items() if k != "opportunity_id"}
    if name is not None:
        fields["name"] = name
    return ctx.create(Entity.OPPORTUNITY, fields)


@tool(ToolKind.READ)
def opportunity_search(
    ctx: Context,
    name: Text | None = None,
    client_id: ClientId | None = None,
    stage: OpportunityStage | None = None,
    owner: Text | None = None,
    amount_min: Amount | None = None,
    amount_max: Amount | None = None,
    probability_min: Probability | None = None,
    probability_max: Probability | None = None,
    close_date_from: IsoDate | None = None,
    close_date_to: IsoDate | None = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find opportunities matching every filter given; with no filters, list all opportunities.

    Args:
        name: Part of the deal name (case-insensitive).
        client_id: Exact id of the client.
        stage: Exact pipeline stage.
        owner: Part of the owner's name (case-insensitive).
        amount_min: Smallest amount to include.
        amount_max: Largest amount to include.
        probability_min: Lowest probability to include.
        probability_max: Highest probability to include.
        close_date_from: Earliest close date to include (YYYY-MM-DD).
        close_date_to: Latest close date to include (YYYY-MM-DD).
        limit: Page size, 1 to 100.
        offset: Number of matches to skip (for the next page).

    Returns:
        total (all matches), count, offset, limit and results (opportunity records sorted by name).
    """
    conditions = search_conditions(Entity.OPPORTUNITY, given(locals()))
    return ctx.search(Entity.OPPORTUNITY, conditions, limit, offset)


@tool(ToolKind.READ)
def opportunity_details(ctx: Context, opportunity_id: OpportunityId) -> Record:
    """Fetch one opportunity record by id.

    Args:
        opportunity_id: Id of the opportunity.

    Returns:
        the opportunity record.
    """
    return ctx.require(Entity.OPPORTUNITY, opportunity_id)


@tool(ToolKind.READ)
def view_opportunity_details(ctx: Context, opportunity_id: OpportunityId) -> dict[str, Any]:
    """Show an opportunity with its client, quotes, contracts, documents and notes.

    Args:
        opportunity_id: Id of the opportunity.

    Returns:
        opportunity, client, quotes, contracts, documents and notes.
    """
    opportunity = ctx.require(Entity.OPPORTUNITY, opportunity_id)
    by_opportunity = [Condition("opportunity_id", Op.EQ, opportunity_id)]
    return {
        "opportunity": opportunity,
        "client": ctx.store.get(Entity.CLIENT, opportunity["client_id"]),
        "quotes": ctx.store.find(Entity.QUOTE, by_opportunity).records,
        "contracts": ctx.store.find(Entity.CONTRACT, by_opportunity).records,
        **attached(ctx, Entity.OPPORTUNITY, opportunity_id),
    }


@tool(ToolKind.READ)
def summarize_opportunities(
    ctx: Context,
    client_id: ClientId | None = None,
    stage: OpportunityStage | None = None,
    owner: Text | None = None,
) -> dict[str, Any]:
    """Summarise the pipeline: counts, totals, averages and the probability-weighted value, by stage.

    Args:
        client_id: Only this client's opportunities.
        stage: Only opportunities in this stage.
        owner: Only opportunities whose owner contains this text (case-insensitive).

    Returns:
        count, total_amount, average_amount, weighted_amount (amount x probability / 100) and by_stage.
    """
    records = ctx.store.find(Entity.OPPORTUNITY, search_conditions(Entity.OPPORTUNITY, given(locals()))).records
    by_stage = {s.value: {"count": 0, "total_amount": 0.0} for s in OpportunityStage}
    total = weighted = 0.0
    with_amount = 0
    for record in records:
        amount = record["amount"]
        if record["stage"] is not None:
            by_stage[record["stage"]]["count"] += 1
            by_stage[record["stage"]]["total_amount"] += amount or 0.0
        if amount is not None:
            with_amount += 1
            total += amount
            weighted += amount * (record["probability"] or 0) / 100
    for bucket in by_stage.values():
        bucket["total_amount"] = round(bucket["total_amount"], 2)
    return {
        "count": len(records),
        "total_amount": round(total, 2),
        "average_amount": round(total / with_amount, 2) if with_amount else None,
        "weighted_amount": round(weighted, 2),
        "by_stage": by_stage,
    }
