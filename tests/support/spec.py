"""Validation of response bodies against the official PortOne V2 OpenAPI document.

The document lives outside the repository (``$LOCALPORTONE_OFFICIAL_SPEC``, else ``<repo>/../shared/reference/
portone-v2.openapi.json``). When it is absent every check here is a no-op and ``requires_spec`` skips.

What is checked beyond plain JSON Schema:

* a discriminated ``oneOf`` validates the body against exactly the variant its discriminator value selects (the
  variants themselves do not constrain the discriminator, so a plain ``oneOf`` would match several of them);
* ``integer`` means a JSON integer: ``1000.0`` is rejected (jsonschema alone accepts it), and so is ``true``;
* ``date-time`` / ``date`` / ``int32`` / ``int64`` formats are enforced;
* no JSON ``null`` anywhere in a success body (the official SDK rejects null for optional fields: omit them);
* for errors: the body's ``type`` is one the operation's error union lists, and the HTTP status is the one the
  spec gives that error type.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend

SPEC_ENV = "LOCALPORTONE_OFFICIAL_SPEC"
_REF_PREFIX = "#/components/schemas/"
_DROPPED_KEYS = frozenset({"title", "description", "example", "examples", "discriminator", "nullable"})


def official_spec_path() -> Path | None:
    """The official document: ``$LOCALPORTONE_OFFICIAL_SPEC`` if set, else ``<repo>/../shared/reference/...``."""
    configured = os.environ.get(SPEC_ENV)
    if configured:
        path = Path(configured)
    else:
        repo = Path(__file__).resolve().parents[2]
        path = repo.parent / "shared" / "reference" / "portone-v2.openapi.json"
    return path if path.is_file() else None


requires_spec = pytest.mark.skipif(
    official_spec_path() is None,
    reason=f"official PortOne V2 OpenAPI document not found (set ${SPEC_ENV})",
)


# --------------------------------------------------------------------------------------------------------------------
# JSON Schema dialect: Draft 2020-12 with strict integers and the spec's formats


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)

_FORMATS = FormatChecker(formats=())
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@_FORMATS.checks("date-time", raises=ValueError)
def _check_date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if not _RFC3339.fullmatch(instance):
        raise ValueError(f"{instance!r} is not an RFC 3339 date-time with an offset")
    datetime.fromisoformat(instance.replace("z", "Z").replace("t", "T"))
    return True


@_FORMATS.checks("date", raises=ValueError)
def _check_date(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", instance):
        raise ValueError(f"{instance!r} is not a yyyy-MM-dd date")
    date.fromisoformat(instance)
    return True


@_FORMATS.checks("int32")
def _check_int32(instance: object) -> bool:
    return not isinstance(instance, int) or -(2**31) <= instance < 2**31


@_FORMATS.checks("int64")
def _check_int64(instance: object) -> bool:
    return not isinstance(instance, int) or -(2**63) <= instance < 2**63


# --------------------------------------------------------------------------------------------------------------------
# OpenAPI 3.0 -> JSON Schema 2020-12


def _schema_name(ref: str) -> str:
    assert ref.startswith(_REF_PREFIX), ref
    return ref[len(_REF_PREFIX) :]


def _accepts(declared: dict[str, Any], value: str, schemas: dict[str, Any]) -> bool:
    """Whether a variant's own declaration of the discriminator property admits ``value``."""
    if "$ref" in declared:
        return _accepts(schemas[_schema_name(declared["$ref"])], value, schemas)
    if "enum" in declared:
        return value in declared["enum"]
    return declared.get("type", "string") == "string"


def _convert(node: Any, schemas: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_convert(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    if "oneOf" in node and isinstance(node.get("discriminator"), dict):
        return _discriminated(node, schemas)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or key.startswith("x-"):
            continue
        if key == "required":
            out[key] = list(dict.fromkeys(value))
        elif key == "properties":
            out[key] = {name: _convert(sub, schemas) for name, sub in value.items()}
        else:
            out[key] = _convert(value, schemas)
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _discriminated(node: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    prop = node["discriminator"]["propertyName"]
    mapping: dict[str, str] = dict(node["discriminator"].get("mapping", {}))
    for option in node["oneOf"]:
        name = _schema_name(option["$ref"])
        if name not in {_schema_name(r) for r in mapping.values()}:
            mapping.setdefault(name, option["$ref"])  # implicit mapping: the schema name
    branches = []
    for value in sorted(mapping):
        ref = mapping[value]
        variant = schemas[_schema_name(ref)]
        declared = variant.get("properties", {}).get(prop, {"type": "string"})
        if _accepts(declared, value, schemas):
            then: dict[str, Any] = {"$ref": ref}
        else:
            # the variant declares the property with a type that contradicts its discriminator value (a spec bug):
            # the discriminator wins, the rest of the variant still applies
            then = copy.deepcopy(_convert(variant, schemas))
            then.setdefault("properties", {})[prop] = {"const": value}
        branches.append({"if": {"properties": {prop: {"const": value}}, "required": [prop]}, "then": then})
    return {
        "type": "object",
        "required": [prop],
        "properties": {prop: {"type": "string", "enum": sorted(mapping)}},
        "allOf": branches,
    }


# --------------------------------------------------------------------------------------------------------------------
# Index of the document


@dataclass(frozen=True)
class _Response:
    content_type: str | None
    schema: str | None


@dataclass(frozen=True)
class _Operation:
    operation_id: str
    responses: dict[int, _Response]
    error_union: str | None
    error_types: tuple[str, ...]


class _Spec:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = doc["components"]["schemas"]
        converted = {name: _convert(schema, self.schemas) for name, schema in self.schemas.items()}
        self._root: dict[str, Any] = {"components": {"schemas": converted}}
        self.status_of_type: dict[str, int] = {}
        self.operations: dict[str, _Operation] = {}
        self._validators: dict[str, Validator] = {}
        for item in doc["paths"].values():
            for op in item.values():
                if isinstance(op, dict) and "operationId" in op:
                    self._add_operation(op)

    def _add_operation(self, op: dict[str, Any]) -> None:
        responses: dict[int, _Response] = {}
        error_union = None
        for status, response in op.get("responses", {}).items():
            content = response.get("content") or {}
            if not content:
                responses[int(status)] = _Response(None, None)
                continue
            ctype = "application/json" if "application/json" in content else sorted(content)[0]
            ref = (content[ctype].get("schema") or {}).get("$ref")
            name = _schema_name(ref) if ref else None
            responses[int(status)] = _Response(ctype, name)
            if status != "200" and name is not None:
                error_union = name
        error_types: tuple[str, ...] = ()
        if error_union is not None:
            union = self.schemas[error_union]
            mapping = union.get("discriminator", {}).get("mapping", {})
            error_types = tuple(sorted(mapping))
            for etype, ref in mapping.items():
                code = self.schemas[_schema_name(ref)].get("x-portone-status-code")
                if code is not None:
                    self.status_of_type.setdefault(etype, int(code))
        self.operations[op["operationId"]] = _Operation(op["operationId"], responses, error_union, error_types)

    def validator(self, schema_name: str) -> Validator:
        """The compiled validator of a component schema (cached: the suite calls this thousands of times)."""
        validator = self._validators.get(schema_name)
        if validator is None:
            if schema_name not in self.schemas:
                raise AssertionError(f"unknown schema {schema_name!r}")
            schema = {**self._root, "$ref": _REF_PREFIX + schema_name}
            validator = self._validators[schema_name] = _Validator(schema, format_checker=_FORMATS)
        return validator


@functools.cache
def _load(path: str) -> _Spec:
    return _Spec(json.loads(Path(path).read_text(encoding="utf-8")))


def _spec() -> _Spec | None:
    path = official_spec_path()
    return None if path is None else _load(str(path))


# --------------------------------------------------------------------------------------------------------------------
# Checks


def _where(path: Iterable[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _nulls(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nulls(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nulls(item, (*path, index))


def _validate(spec: _Spec, schema_name: str, body: Any, context: str, *, forbid_null: bool) -> None:
    problems: list[str] = []
    if forbid_null:
        problems.extend(f"{_where(p)}: null is not allowed (omit optional fields)" for p in _nulls(body))
    errors = list(spec.validator(schema_name).iter_errors(body))
    if errors:
        best = best_match(errors)
        problems.append(_describe(best))
        for error in sorted(errors, key=lambda e: repr(list(e.absolute_path)))[:9]:
            if error is not best:
                problems.append(_describe(error))
    if problems:
        shown = json.dumps(body, ensure_ascii=False, default=repr)
        if len(shown) > 2000:
            shown = shown[:2000] + "..."
        raise AssertionError(
            f"{context} does not match {schema_name}:\n  " + "\n  ".join(problems) + f"\nbody: {shown}"
        )


def _describe(error: ValidationError) -> str:
    detail = error.message
    if error.context:
        deepest = best_match(error.context)
        detail = f"{detail} ({_where(deepest.absolute_path)}: {deepest.message})"
    return f"{_where(error.absolute_path)}: {detail}"


def assert_response_matches(operation_id: str, status: int, body: Any) -> None:
    """Assert ``body`` is what the official spec allows ``operation_id`` to answer with HTTP ``status``.

    200 -> the success schema (and no null anywhere); any other status -> the operation's error union, a ``type``
    the union lists, and the status the spec gives that type. A status the operation does not declare fails.
    No-op when the official document is absent.
    """
    spec = _spec()
    if spec is None:
        return
    op = spec.operations.get(operation_id)
    if op is None:
        raise AssertionError(f"unknown operationId {operation_id!r}")
    response = op.responses.get(status)
    if response is None:
        raise AssertionError(
            f"{operation_id} does not declare HTTP {status} (declared: {sorted(op.responses)}); body: {body!r}"
        )
    context = f"{operation_id} HTTP {status}"
    if response.content_type is None:
        if body not in (None, "", b"", {}):
            raise AssertionError(f"{context} declares no body, got {body!r}")
        return
    if response.content_type != "application/json" or response.schema is None:
        return  # e.g. text/csv downloads: nothing to validate structurally
    if status == 200:
        _validate(spec, response.schema, body, context, forbid_null=True)
        return
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise AssertionError(f"{context}: an error body must be a JSON object with a string 'type', got {body!r}")
    if body["type"] not in op.error_types:
        raise AssertionError(
            f"{context}: error type {body['type']!r} is not in {op.error_union} (allowed: {', '.join(op.error_types)})"
        )
    _validate(spec, response.schema, body, context, forbid_null=False)
    expected = spec.status_of_type.get(body["type"])
    if expected is not None and expected != status:
        raise AssertionError(f"{context}: error type {body['type']!r} must be sent with HTTP {expected}")


def assert_schema(schema_name: str, body: Any) -> None:
    """Assert ``body`` matches the named component schema (webhook payloads, nested objects); no null allowed."""
    spec = _spec()
    if spec is None:
        return
    _validate(spec, schema_name, body, "body", forbid_null=True)


def error_types(operation_id: str) -> tuple[str, ...]:
    """The error ``type`` values the operation's error union lists (empty when the document is absent)."""
    spec = _spec()
    if spec is None:
        return ()
    op = spec.operations.get(operation_id)
    if op is None:
        raise AssertionError(f"unknown operationId {operation_id!r}")
    return op.error_types
