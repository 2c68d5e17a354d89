"""Contract and company tools."""

from __future__ import annotations

from typing import Any

from crm_env.backends.base import Record
from crm_env.errors import ValidationError
from crm_env.schema.enums import CompanyType, ContractStatus, Entity, ToolKind
from crm_env.schema.types import (
    ClientId,
    CompanyId,
    ContractId,
    ContractValue,
    IsoDate,
    Offset,
    OpportunityId,
    PageSize,
    Text,
    Url,
)
from crm_env.tools.context import DEFAULT_PAGE_SIZE, Context
from crm_env.tools.registry import tool
from crm_env.tools.rules import check_date_order, given, require_changes, search_conditions

_FIELDS = ("client_id", "opportunity_id", "start_date", "end_date", "value", "status", "document_url")


def _check_links(ctx: Context, client_id: str, opportunity_id: str | None) -> None:
    """The client must exist, and a linked opportunity must belong to that client."""
    ctx.require(Entity.CLIENT, client_id)
    if opportunity_id is None:
        return
    opportunity = ctx.require(Entity.OPPORTUNITY, opportunity_id)
    if opportunity["client_id"] != client_id:
        raise ValidationError(
            f"opportunity {opportunity_id!r} belongs to client {opportunity['client_id']!r}, not {client_id!r}; "
            "use that client_id or another opportunity of this client."
        )


@tool(ToolKind.WRITE)
def create_contract(
    ctx: Context,
    client_id: ClientId,
    opportunity_id: OpportunityId | None = None,
    start_date: IsoDate | None = None,
    end_date: IsoDate | None = None,
    value: ContractValue | None = None,
    status: ContractStatus = ContractStatus.PENDING.value,
    document_url: Url | None = None,
) -> Record:
    """Create a contract for a client, optionally linked to one of the client's opportunities.

    Args:
        client_id: Id of the client signing the contract.
        opportunity_id: Id of the opportunity the contract closes; it must belong to the same client.
        start_date: First day of the contract (YYYY-MM-DD).
        end_date: Last day of the contract (YYYY-MM-DD), on or after start_date.
        value: Contract value in dollars, from 0 to 10,000,000.
        status: Contract status; defaults to Pending.
        document_url: Link to the signed document (http or https URL).

    Returns:
        the created contract record, including its new contract_id.
    """
    fields = given(locals())
    _check_links(ctx, client_id, opportunity_id)
    check_date_order(start_date, end_date)
    return ctx.create(Entity.CONTRACT, fields)


@tool(ToolKind.WRITE)
def modify_contract(
    ctx: Context,
    contract_id: ContractId,
    client_id: ClientId | None = None,
    opportunity_id: OpportunityId | None = None,
    start_date: IsoDate | None = None,
    end_date: IsoDate | None = None,
    value: ContractValue | None = None,
    status: ContractStatus | None = None,
    document_url: Url | None = None,
) -> Record:
    """Update fields of an existing contract; fields left out stay as they are.

    Args:
        contract_id: Id of the contract to update.
        client_id: Id of the client the contract is now with.
        opportunity_id: Id of the opportunity the contract is now linked to (same client).
        start_date: New first day (YYYY-MM-DD).
        end_date: New last day (YYYY-MM-DD), on or after the start date.
        value: New value, from 0 to 10,000,000.
        status: New status.
        document_url: New link to the signed document.

    Returns:
        the contract record after the update.
    """
    changes = given(locals(), "contract_id")
    require_changes("modify_contract", changes, _FIELDS)
    before = ctx.require(Entity.CONTRACT, contract_id)
    after = {**before, **changes}
    if client_id is not None or opportunity_id is not None:
        _check_links(ctx, after["client_id"], after["opportunity_id"])
    check_date_order(after["start_date"], after["end_date"])
    return ctx.update(Entity.CONTRACT, before, changes)


@tool(ToolKind.READ)
def contract_search(
    ctx: Context,
    client_id: ClientId | None = None,
    opportunity_id: OpportunityId | None = None,
    status: ContractStatus | None = None,
    value_min: ContractValue | None = None,
    value_max: ContractValue | None = None,
    start_date_from: IsoDate | None = None,
    start_date_to: IsoDate | None = None,
    end_date_from: IsoDate | None = None,
    end_date_to: IsoDate | None = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find contracts matching every filter given; with no filters, list all contracts.

    Args:
        client_id: Exact id of the client.
        opportunity_id: Exact id of the opportunity.
        status: Exact contract status.
        value_min: Smallest value to include.
        value_max: Largest value to include.
        start_date_from: Earliest start date to include (YYYY-MM-DD).
        start_date_to: Latest start date to include (YYYY-MM-DD).
        end_date_from: Earliest end date to include (YYYY-MM-DD).
        end_date_to: Latest end date to include (YYYY-MM-DD).
        limit: Page size, 1 to 100.
        offset: Number of matches to skip (for the next page).

    Returns:
        total (all matches), count, offset, limit and results (contract records sorted by id).
    """
    return ctx.search(Entity.CONTRACT, search_conditions(Entity.CONTRACT, given(locals())), limit, offset)


@tool(ToolKind.READ)
def get_contract(ctx: Context, contract_id: ContractId) -> Record:
    """Fetch one contract by id.

    Args:
        contract_id: Id of the contract.

    Returns:
        the contract record.
    """
    return ctx.require(Entity.CONTRACT, contract_id)


@tool(ToolKind.READ)
def company_search(
    ctx: Context,
    name: Text | None = None,
    type: CompanyType | None = None,
    industry: Text | None = None,
    address: Text | None = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find reference companies (partners, vendors, competitors) matching every filter given.

    Args:
        name: Part of the company name (case-insensitive).
        type: Exact company type.
        industry: Part of the industry (case-insensitive).
        address: Part of the address (case-insensitive).
        limit: Page size, 1 to 100.
        offset: Number of matches to skip (for the next page).

    Returns:
        total (all matches), count, offset, limit and results (company records sorted by name).
    """
    return ctx.search(Entity.COMPANY, search_conditions(Entity.COMPANY, given(locals())), limit, offset)


@tool(ToolKind.READ)
def get_company(ctx: Context, company_id: CompanyId) -> Record:
    """Fetch one reference company by id.

    Args:
        company_id: Id of the company.

    Returns:
        the company record.
    """
    return ctx.require(Entity.COMPANY, company_id)
