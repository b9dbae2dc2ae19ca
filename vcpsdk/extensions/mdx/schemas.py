"""JSON Schemas of the mdx requests and their validation (``jsonschema``, else a built-in subset)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from vcpsdk.errors import raise_error
from vcpsdk.extensions.mdx.errors import MdxInvalidArgumentError, logger

try:  # optional at run time; a dependency of the package
    import jsonschema as _jsonschema
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    _jsonschema = None

#: JSON Schema of ``deploy_vm``'s ``vm_spec`` (a project of type "通常", normal).
#: ``additionalProperties`` is false, so a key the schema does not know is refused;
#: notebooks that need a newer API field add it to ``MDX_VM_SPEC_SCHEMA['properties']``.
#: The schema is read at every call, so such changes take effect at once.
MDX_VM_SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["catalog", "template_name", "network_adapters"],
    "properties": {
        "catalog": {"type": "string", "minLength": 1},  # catalog uuid
        "template_name": {"type": "string", "minLength": 1},  # vCenter VM template name
        "pack_num": {"type": "integer", "minimum": 1},
        "pack_type": {"type": "string", "enum": ["cpu", "gpu"]},
        "gpu": {"type": "string"},  # number of GPUs, as a string
        "disk_size": {"type": "integer", "minimum": 1},  # GB
        "network_adapters": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["adapter_number", "segment"],
                "properties": {
                    "adapter_number": {"type": "integer", "minimum": 1},
                    "segment": {"type": "string", "minLength": 1},  # segment uuid
                },
            },
        },
        "shared_key": {"type": "string"},  # SSH public key text
        "storage_network": {"type": "string", "enum": ["sr-iov", "pvrdma", "portgroup"]},
        "service_level": {"type": "string"},  # e.g. "spot", "guarantee"
    },
}

_ACL_PROPERTIES: dict[str, Any] = {
    "segment": {"type": "string", "minLength": 1},
    "src_address": {"type": "string", "minLength": 1},
    "src_mask": {"type": "string"},
    "src_port": {"type": "string"},
    "dst_address": {"type": "string", "minLength": 1},
    "dst_mask": {"type": "string"},
    "dst_port": {"type": "string"},
    "protocol": {"type": "string", "enum": ["ICMP", "TCP", "UDP"]},
}
#: JSON Schema of ``add_allow_acl_ipv4_info``'s ``allow_acl_spec`` (every property required).
MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": list(_ACL_PROPERTIES),
    "properties": _ACL_PROPERTIES,
}


_JSON_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list | tuple),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _fallback_errors(value: Any, schema: Mapping[str, Any], path: str) -> Iterator[str]:
    """The subset of JSON Schema used by this module's schemas, without ``jsonschema``."""
    where = path or "vm_spec"
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_JSON_TYPES.get(name, lambda v: True)(value) for name in names):
            yield f"{where}: {value!r} is not of type {' or '.join(map(repr, names))}"
            return
    if "enum" in schema and value not in schema["enum"]:
        yield f"{where}: {value!r} is not one of {schema['enum']!r}"
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        yield f"{where}: {value!r} is too short"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            yield f"{where}: {value!r} is less than the minimum of {schema['minimum']!r}"
        if "maximum" in schema and value > schema["maximum"]:
            yield f"{where}: {value!r} is greater than the maximum of {schema['maximum']!r}"
    if isinstance(value, Mapping):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                yield f"{where}: {key!r} is a required property"
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            sub = f"{path}/{key}" if path else str(key)
            if key in properties:
                yield from _fallback_errors(item, properties[key], sub)
            elif extra is False:
                yield f"{where}: additional property {key!r} is not allowed"
            elif isinstance(extra, Mapping):
                yield from _fallback_errors(item, extra, sub)
    if isinstance(value, list | tuple):
        if len(value) < schema.get("minItems", 0):
            yield f"{where}: {list(value)!r} should have at least {schema['minItems']} item(s)"
        if isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                sub = f"{path}/{index}" if path else str(index)
                yield from _fallback_errors(item, schema["items"], sub)


def validate_spec(spec: Any, schema: Mapping[str, Any], what: str = "vm_spec") -> None:
    """Check ``spec`` against a JSON Schema; raise :class:`MdxInvalidArgumentError` if it fails.

    Uses the ``jsonschema`` package when it is installed, else a built-in check of the
    keywords this module's schemas use (type, enum, required, properties,
    additionalProperties, items, minItems, minLength, minimum, maximum).

    Args:
        spec: the value to check (e.g. a ``vm_spec`` dict).
        schema: the JSON Schema (e.g. :data:`MDX_VM_SPEC_SCHEMA`).
        what: the name used in the error message.

    Raises:
        MdxInvalidArgumentError: ``spec`` does not match, or ``schema`` is not a valid schema.

    Example::

        validate_spec({"catalog": "c", "template_name": "t",
                       "network_adapters": [{"adapter_number": 1, "segment": "s"}]},
                      MDX_VM_SPEC_SCHEMA)
    """
    if _jsonschema is not None:
        try:
            validator_cls = _jsonschema.validators.validator_for(
                schema, default=_jsonschema.Draft202012Validator
            )
            validator_cls.check_schema(schema)
            error = _jsonschema.exceptions.best_match(validator_cls(schema).iter_errors(spec))
        except _jsonschema.exceptions.SchemaError as e:
            raise_error(
                MdxInvalidArgumentError, f"mdx: the schema for {what} is not valid: {e.message}", log=logger
            )
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or what
            raise_error(MdxInvalidArgumentError, f"mdx: invalid {what}: {where}: {error.message}", log=logger)
        return
    problems = list(_fallback_errors(spec, schema, ""))
    if problems:
        raise_error(MdxInvalidArgumentError, f"mdx: invalid {what}: {problems[0]}", log=logger)
