"""Reading and writing conversation files, and the packaged datasets addressable by name.

Files are JSONL, optionally gzip-compressed (``.jsonl.gz``). Packaged datasets:

- ``arc-crm-1200``: all 1,200 generated conversations; splits ``eval-400`` (400, drawn with seed 42,
  stratified by complexity), ``train`` and ``test``. ``test`` is held out: it exists for final, once-only
  evaluation, so reading it (or the whole dataset, which holds it) takes ``allow_held_out=True``. Learning
  code never passes it; on the command line only evaluations do (``crm-env eval --split test`` and the
  held-out phases of ``crm-env learn evaluate``).
- ``golden``: the single-turn golden suite.

``load("arc-crm-1200", split="eval-400")`` and ``load("arc-crm-1200:eval-400")`` are the same.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from crm_env.datasets.format import Conversation
from crm_env.errors import CrmEnvError

DATA_DIR = Path(__file__).parent / "data"
PACKAGED: dict[str, str] = {"arc-crm-1200": "arc-crm-1200.jsonl.gz", "golden": "golden.jsonl.gz"}
SPLITS_FILE = "arc-crm-1200.splits.json"
HELD_OUT_SPLITS = frozenset({"test"})


class DatasetError(CrmEnvError):
    """A dataset file or name cannot be read."""


def packaged_path(name: str) -> Path:
    try:
        return DATA_DIR / PACKAGED[name]
    except KeyError:
        raise DatasetError(f"no packaged dataset {name!r}; choose one of: {', '.join(PACKAGED)}") from None


def splits_manifest() -> dict:
    return json.loads((DATA_DIR / SPLITS_FILE).read_text(encoding="utf-8"))


def read_lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8").splitlines()


def parse_lines(lines: Iterable[str], source: str) -> list[Conversation]:
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(Conversation.model_validate_json(line))
        except PydanticValidationError as exc:
            raise DatasetError(f"{source}:{number}: not a valid conversation: {exc.errors()[0]['msg']} "
                               f"at {'.'.join(map(str, exc.errors()[0]['loc']))}") from None
    return out


@functools.lru_cache(maxsize=None)
def _packaged(name: str) -> tuple[Conversation, ...]:
    # Conversations are immutable, so a packaged file is parsed once per process.
    return tuple(parse_lines(read_lines(packaged_path(name)), name))


_ID = re.compile(r'"conversation_id"\s*:\s*"([^"]+)"')


@functools.lru_cache(maxsize=None)
def _packaged_split(name: str, wanted: frozenset[str]) -> tuple[Conversation, ...]:
    """The conversations of one split, validating only those lines (a third of the file for eval-400)."""
    lines = [line for line in read_lines(packaged_path(name)) if (m := _ID.search(line)) and m.group(1) in wanted]
    conversations = parse_lines(lines, name)
    if {c.conversation_id for c in conversations} != wanted:  # an id found elsewhere in a line than its own key
        return tuple(c for c in _packaged(name) if c.conversation_id in wanted)
    return tuple(conversations)


def source(name_or_path: str | Path, split: str | None = None) -> str:
    """What a run records of where its conversations came from: ``NAME:SPLIT``, ``NAME`` or the file path."""
    name, split = _named(name_or_path, split)
    if name is None:
        return str(name_or_path)
    return f"{name}:{split}" if split is not None else name


def _named(name_or_path: str | Path, split: str | None) -> tuple[str | None, str | None]:
    """The packaged dataset and split meant (None for a file), with ``NAME:SPLIT`` taken apart."""
    text = str(name_or_path)
    if isinstance(name_or_path, str) and ":" in text and text.split(":", 1)[0] in PACKAGED:
        text, split_in_name = text.split(":", 1)
        if split is not None and split != split_in_name:
            raise DatasetError(f"two different splits asked for: {split_in_name!r} and {split!r}")
        split = split_in_name
    return (text if isinstance(name_or_path, str) and text in PACKAGED else None), split


def load(name_or_path: str | Path, split: str | None = None, *, allow_held_out: bool = False) -> list[Conversation]:
    """Typed conversations from a packaged dataset name or a ``.jsonl`` / ``.jsonl.gz`` path.

    Args:
        name_or_path: ``arc-crm-1200``, ``golden``, ``arc-crm-1200:eval-400`` or a file path.
        split: A split of a packaged dataset (``eval-400``, ``train``, ``test``).
        allow_held_out: Read a held-out split (``test``), or a whole dataset that holds one: only a final
            evaluation does.

    Raises:
        DatasetError: Unknown name or split, unreadable file, an invalid conversation, or a held-out split
            without ``allow_held_out``.
    """
    name, split = _named(name_or_path, split)
    if name is not None:
        splits = splits_manifest()["splits"] if name == "arc-crm-1200" else {}
        if split is not None and split not in splits:
            raise DatasetError(f"{name} has no split {split!r}; choose one of: {', '.join(splits) or 'none'}")
        held = sorted(HELD_OUT_SPLITS & set(splits)) if split is None else sorted(HELD_OUT_SPLITS & {split})
        if held and not allow_held_out:
            what = f"the {split!r} split of {name} is" if split is not None else f"{name} holds the {held[0]!r} split,"
            raise DatasetError(
                f"{what} held out: it measures what was learned, once, and nothing may learn or tune on it. "
                f"Choose another split ({', '.join(s for s in splits if s not in HELD_OUT_SPLITS)}); for a final "
                "evaluation use `crm-env eval --split test` (or load(..., allow_held_out=True))")
        if split is None:
            return list(_packaged(name))
        return list(_packaged_split(name, frozenset(splits[split])))
    path = Path(name_or_path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file, and not a packaged dataset ({', '.join(PACKAGED)})")
    if split is not None:
        raise DatasetError(f"{path} is a file: only arc-crm-1200 has splits; read the file whole (no split)")
    try:
        lines = read_lines(path)
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from None
    return parse_lines(lines, str(path))


def to_jsonl(conversations: Iterable[Conversation]) -> bytes:
    """The canonical JSONL bytes of conversations (one compact object per line)."""
    return "".join(c.model_dump_json() + "\n" for c in conversations).encode("utf-8")


def gzip_bytes(data: bytes) -> bytes:
    """Gzip with no file name and a zero timestamp, so the same data gives the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()


def dump(conversations: Iterable[Conversation], path: str | Path) -> Path:
    """Write conversations as JSONL (gzip-compressed when the path ends in ``.gz``)."""
    path = Path(path)
    data = to_jsonl(conversations)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip_bytes(data) if path.suffix == ".gz" else data)
    return path
