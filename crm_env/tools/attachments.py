"""Documents and notes: records attached to another record through (entity_type, entity_id)."""

from __future__ import annotations

from typing import Any

from crm_env.backends.base import Condition, Op, Record
from crm_env.schema.enums import DocumentEntityType, Entity, NoteEntityType, ToolKind
from crm_env.schema.types import DocumentId, FileName, Id, LongText, NoteId, Offset, PageSize, Text, Url
from crm_env.tools.context import DEFAULT_PAGE_SIZE, Context
from crm_env.tools.registry import tool
from crm_env.tools.rules import given, require_parent, search_conditions

_ATTACHMENTS = (Entity.DOCUMENT, Entity.NOTE)


def _attached_to(entity: Entity, record_id: str) -> list[Condition]:
    return [Condition("entity_type", Op.EQ, entity.value), Condition("entity_id", Op.EQ, record_id)]


def attached(ctx: Context, entity: Entity, record_id: str) -> dict[str, list[Record]]:
    """The documents and notes attached to a record."""
    return {
        "documents": ctx.store.find(Entity.DOCUMENT, _attached_to(entity, record_id)).records,
        "notes": ctx.store.find(Entity.NOTE, _attached_to(entity, record_id)).records,
    }


def delete_attachments(ctx: Context, entity: Entity, record_id: str, deleted: dict[str, list[str]]) -> None:
    """Delete what is attached to a record that is being deleted, noting the ids in ``deleted``."""
    for kind in _ATTACHMENTS:
        key = "document_id" if kind is Entity.DOCUMENT else "note_id"
        for record in ctx.store.find(kind, _attached_to(entity, record_id)).records:
            ctx.delete(kind, record)
            deleted.setdefault(kind.value, []).append(record[key])


@tool(ToolKind.WRITE)
def upload_document(
    ctx: Context,
    entity_type: DocumentEntityType,
    entity_id: Id,
    file_name: FileName,
    uploaded_by: Text | None = None,
    file_url: Url | None = None,
) -> Record:
    """Upload (register) a document against an opportunity, contract, quote or client.

    Args:
        entity_type: Kind of record the document belongs to.
        entity_id: Id of that record.
        file_name: File name of letters, digits, '.', '_' or '-' with one of the extensions pdf, doc, docx,
            ppt, pptx, xlsx, csv, txt, key.
        uploaded_by: Name of the person uploading.
        file_url: Where the file is stored (http or https URL).

    Returns:
        the created document record, including its new document_id.
    """
    fields = given(locals())
    require_parent(ctx, entity_type, entity_id)
    return ctx.create(Entity.DOCUMENT, fields)


@tool(ToolKind.WRITE)
def add_note(
    ctx: Context,
    entity_type: NoteEntityType,
    entity_id: Id,
    content: LongText,
    created_by: Text | None = None,
) -> Record:
    """Add an internal note to an opportunity, client, contact, quote or contract.

    Args:
        entity_type: Kind of record the note is about.
        entity_id: Id of that record.
        content: Text of the note.
        created_by: Name of the author.

    Returns:
        the created note record, including its new note_id.
    """
    fields = given(locals())
    require_parent(ctx, entity_type, entity_id)
    return ctx.create(Entity.NOTE, fields)


@tool(ToolKind.READ)
def document_search(
    ctx: Context,
    entity_type: DocumentEntityType | None = None,
    entity_id: Id | None = None,
    file_name: Text | None = None,
    uploaded_by: Text | None = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find documents matching every filter given (e.g. all documents of one record).

    Args:
        entity_type: Exact kind of record the documents belong to.
        entity_id: Exact id of that record.
        file_name: Part of the file name (case-insensitive).
        uploaded_by: Part of the uploader's name (case-insensitive).
        limit: Page size, 1 to 100.
        offset: Number of matches to skip (for the next page).

    Returns:
        total (all matches), count, offset, limit and results (document records, oldest first).
    """
    return ctx.search(Entity.DOCUMENT, search_conditions(Entity.DOCUMENT, given(locals())), limit, offset)


@tool(ToolKind.READ)
def note_search(
    ctx: Context,
    entity_type: NoteEntityType | None = None,
    entity_id: Id | None = None,
    content: Text | None = None,
    created_by: Text | None = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Find notes matching every filter given (e.g. all notes on one record).

    Args:
        entity_type: Exact kind of record the notes are about.
        entity_id: Exact id of that record.
        content: Part of the note text (case-insensitive).
        created_by: Part of the author's name (case-insensitive).
        limit: Page size, 1 to 100.
        offset: Number of matches to skip (for the next page).

    Returns:
        total (all matches), count, offset, limit and results (note records, oldest first).
    """
    return ctx.search(Entity.NOTE, search_conditions(Entity.NOTE, given(locals())), limit, offset)


@tool(ToolKind.READ)
def get_document(ctx: Context, document_id: DocumentId) -> Record:
    """Fetch one document record by id.

    Args:
        document_id: Id of the document.

    Returns:
        the document record.
    """
    return ctx.require(Entity.DOCUMENT, document_id)


@tool(ToolKind.READ)
def get_note(ctx: Context, note_id: NoteId) -> Record:
    """Fetch one note by id.

    Args:
        note_id: Id of the note.

    Returns:
        the note record.
    """
    return ctx.require(Entity.NOTE, note_id)
