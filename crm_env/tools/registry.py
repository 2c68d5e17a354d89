"""Declaring tools once and deriving everything else from the declaration.

A tool is a typed function ``fn(ctx, **arguments)`` with a Google-style docstring, registered with
``@tool(ToolKind.READ | ToolKind.WRITE)``. From it we derive the argument model (validation), the
JSON schema LLMs see, the description, and the catalog entry. Nothing about a tool is written twice.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic import ValidationError as PydanticValidationError

from crm_env.errors import ValidationError
from crm_env.schema.enums import ToolKind
from crm_env.tools.messages import describe_errors

_SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Yields|Examples?|Notes?):\s*$")
_ARG_LINE = re.compile(r"^(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


@dataclass(frozen=True, slots=True)
class Docstring:
    summary: str
    body: str
    args: dict[str, str]
    returns: str


def parse_docstring(doc: str | None) -> Docstring:
    """Split a Google-style docstring into summary, body, per-argument text and returns."""
    lines = inspect.cleandoc(doc or "").splitlines()
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in lines:
        match = _SECTION.match(line.strip()) if not line.startswith(" ") else None
        if match:
            current = match.group(1)
            sections[current] = []
        else:
            sections[current].append(line)
    text = "\n".join(sections[""]).strip()
    summary, _, body = text.partition("\n\n")
    args: dict[str, str] = {}
    name = None
    for line in sections.get("Args", []):
        match = _ARG_LINE.match(line.strip()) if line.startswith("    ") and not line.startswith("     ") else None
        if match:
            name = match.group(1)
            args[name] = match.group(2).strip()
        elif name and line.strip():
            args[name] = f"{args[name]} {line.strip()}"
    returns = " ".join(s.strip() for s in sections.get("Returns", []) if s.strip())
    return Docstring(" ".join(summary.split()), " ".join(body.split()), args, returns)


def _inline(schema: Any, defs: Mapping[str, Any]) -> Any:
    """Inline ``$ref``s, drop titles and null branches: the schema LLM providers handle best."""
    if isinstance(schema, list):
        return [_inline(s, defs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target = dict(defs[schema["$ref"].rsplit("/", 1)[-1]])
        target.update({k: v for k, v in schema.items() if k != "$ref"})
        return _inline(target, defs)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b != {"type": "null"}]
        if len(branches) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            merged.update(branches[0])
            return _inline(merged, defs)
    out = {}
    for key, value in schema.items():
        if key in ("title", "$defs") or (key == "default" and value is None):
            continue
        if key == "properties":  # its keys are argument names (one may well be "title")
            out[key] = {name: _inline(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _inline(value, defs)
    return out


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """Everything derived from one tool declaration."""

    name: str
    kind: ToolKind
    summary: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    required: tuple[str, ...]
    optional: tuple[str, ...]
    arguments_model: type[BaseModel]
    func: Callable[..., Any]
    validate: Callable[[Any], BaseModel] = field(init=False, repr=False, compare=False)  # model_validate, unwrapped

    def __post_init__(self) -> None:
        validator = self.arguments_model.__pydantic_validator__.validate_python
        object.__setattr__(self, "validate", validator)

    @property
    def argument_names(self) -> tuple[str, ...]:
        return self.required + self.optional

    def parse(self, arguments: object) -> dict[str, Any]:
        """Validate raw arguments into the keyword arguments of the tool function.

        ``null`` means "not given": such keys are dropped before validation, so an optional
        argument sent as null is left unset and a required one is reported missing.

        Raises:
            ValidationError: The arguments do not fit the declaration; the message says how to fix them.
        """
        if not isinstance(arguments, Mapping):
            raise ValidationError(
                f"{self.name}: arguments must be a JSON object such as "
                f'{{"{self.argument_names[0] if self.argument_names else "arg"}": ...}}, '
                f"not {type(arguments).__name__}"
            )
        cleaned = {k: v for k, v in arguments.items() if v is not None}
        try:
            model = self.validate(cleaned)
        except PydanticValidationError as exc:
            raise ValidationError(describe_errors(self.name, exc.errors(), self.required, self.optional)) from None
        # The model keeps enum values (``use_enum_values``) and forbids extra keys, so the fields set are
        # exactly the keys given, and its ``__dict__`` holds their validated values.
        values = model.__dict__
        return {name: values[name] for name in cleaned}


_REGISTRY: dict[str, ToolSpec] = {}


def _build_spec(func: Callable[..., Any], kind: ToolKind) -> ToolSpec:
    doc = parse_docstring(func.__doc__)
    hints = typing.get_type_hints(func, include_extras=True)
    params = list(inspect.signature(func).parameters.values())[1:]  # the first is the context
    fields: dict[str, Any] = {}
    required, optional = [], []
    for param in params:
        if param.name not in doc.args:
            raise TypeError(f"tool {func.__name__}: argument {param.name!r} has no description in the docstring")
        default = ... if param.default is inspect.Parameter.empty else param.default
        (required if default is ... else optional).append(param.name)
        fields[param.name] = (hints[param.name], Field(default, description=doc.args[param.name]))
    model = create_model(  # type: ignore[call-overload]
        f"{func.__name__}_arguments", __config__=ConfigDict(extra="forbid", use_enum_values=True), **fields
    )
    raw = model.model_json_schema()
    parameters = _inline({k: v for k, v in raw.items() if k != "$defs"}, raw.get("$defs", {}))
    parameters.setdefault("properties", {})
    parameters["required"] = list(required)
    parameters["additionalProperties"] = False
    description = " ".join(p for p in (doc.summary, doc.body, f"Returns {doc.returns}" if doc.returns else "") if p)
    return ToolSpec(
        name=func.__name__,
        kind=kind,
        summary=doc.summary,
        description=description,
        parameters=parameters,
        required=tuple(required),
        optional=tuple(optional),
        arguments_model=model,
        func=func,
    )


def tool(kind: ToolKind) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as an agent tool of the given kind."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if func.__name__ in _REGISTRY:
            raise TypeError(f"tool {func.__name__!r} is declared twice")
        _REGISTRY[func.__name__] = _build_spec(func, kind)
        return func

    return register


def registered() -> Mapping[str, ToolSpec]:
    return _REGISTRY
