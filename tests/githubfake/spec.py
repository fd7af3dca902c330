"""GitHub's OpenAPI description, as the fake's contract: operation matching and JSON Schema validation.

Owns: loading `shared/github-openapi/subset.json` (GitHub's own description, 22 operations) plus
`openapi_extra.json` beside this file (further operations cut from the same npm release by
`extract_openapi.py`), translating OpenAPI 3.0 schemas to JSON Schema 2020-12 (`nullable: true` becomes a
type union), matching a request to its operation (path template + method), and turning every mismatch
between a request or response and the description into a human-readable violation string.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

HERE = Path(__file__).resolve().parent
EXTRA_SPEC = HERE / "openapi_extra.json"
SUBSET_ENV = "GITHUBFAKE_OPENAPI_SUBSET"
SUBSET_RELATIVE = Path("shared") / "github-openapi" / "subset.json"
# Path parameters whose values may contain "/" (git refs, file paths, branch names).
GREEDY_PARAMS = frozenset({"ref", "path", "branch"})
METHODS = ("get", "put", "post", "patch", "delete")
GENERIC_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}, "documentation_url": {"type": "string"}},
}


def find_subset() -> Path:
    """Locate subset.json: $GITHUBFAKE_OPENAPI_SUBSET, else the copy kept in the repository
    (tests/githubfake/openapi/, with its SOURCES.md), else `shared/` beside any parent of this file."""
    if os.environ.get(SUBSET_ENV):
        return Path(os.environ[SUBSET_ENV])
    if (HERE / "openapi" / "subset.json").is_file():
        return HERE / "openapi" / "subset.json"
    for parent in HERE.parents:
        candidate = parent / SUBSET_RELATIVE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{SUBSET_RELATIVE} not found above {HERE}; set ${SUBSET_ENV}")


def openapi_to_json_schema(node: Any) -> Any:
    """Return a copy of an OpenAPI 3.0 document where every schema is valid JSON Schema 2020-12."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: openapi_to_json_schema(value) for key, value in node.items()}
    nullable = out.get("nullable")
    if isinstance(nullable, bool):
        del out["nullable"]
        if nullable:
            out = _make_nullable(out)
    return out


def _make_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _labels_as_array(schema: dict[str, Any]) -> None:
    """issues/add-labels: the description's own text says "You can also pass an `array` of labels
    directly", but its schema only lists the object form; PyGithub sends the bare array."""
    items = schema["oneOf"][0]["properties"]["labels"]["items"]
    schema["oneOf"].append({"type": "array", "minItems": 1, "items": items})


def _protection_checks_and_nulls(schema: dict[str, Any]) -> None:
    """repos/update-branch-protection: `contexts` is marked "closing down" in favour of `checks`, and
    PyGithub's `Branch.edit_protection` sends only `checks` plus explicit nulls for unset booleans."""
    properties = schema["properties"]
    properties["required_status_checks"]["required"] = ["strict"]  # `contexts` is `deprecated: true`
    for name, prop in properties.items():
        if prop.get("type") == "boolean":
            prop["type"] = ["boolean", "null"]


# Request schemas that are stricter than GitHub itself, relaxed on purpose (operationId -> patch).
LENIENCIES: dict[str, Callable[[dict[str, Any]], None]] = {
    "issues/add-labels": _labels_as_array,
    "repos/update-branch-protection": _protection_checks_and_nulls,
}


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Operation:
    """One OpenAPI operation and where its schemas live."""

    operation_id: str
    method: str
    template: str
    doc_uri: str
    spec: Mapping[str, Any]
    pattern: re.Pattern[str] = field(compare=False)

    @property
    def pointer(self) -> str:
        return f"/paths/{_escape(self.template)}/{self.method.lower()}"

    @property
    def documentation_url(self) -> str:
        docs = self.spec.get("externalDocs", {})
        return str(docs.get("url", "https://docs.github.com/rest"))

    @property
    def literal_weight(self) -> tuple[int, int]:
        segments = self.template.strip("/").split("/")
        literals = sum(1 for s in segments if not s.startswith("{"))
        return (-literals, len(segments) - literals)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


def _compile(template: str) -> re.Pattern[str]:
    parts = []
    for segment in re.split(r"(\{[^}]+\})", template):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            parts.append(f"(?P<{name}>.*)" if name in GREEDY_PARAMS else f"(?P<{name}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("".join(parts))


class OpenAPISpec:
    """Several OpenAPI documents merged into one operation table, with cached validators."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._documents = {uri: openapi_to_json_schema(doc) for uri, doc in documents.items()}
        self._registry: Registry[Any] = Registry()
        for uri, doc in self._documents.items():
            resource = Resource.from_contents(doc, default_specification=DRAFT202012)
            self._registry = self._registry.with_resource(uri, resource)
        self._operations = self._collect_operations()
        for op in self._operations:
            if op.operation_id in LENIENCIES:
                LENIENCIES[op.operation_id](self._request_schema(op))
        self._by_id = {op.operation_id: op for op in self._operations}
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    @functools.cache
    def load_default(cls) -> OpenAPISpec:
        subset = json.loads(find_subset().read_text(encoding="utf-8"))
        extra = json.loads(EXTRA_SPEC.read_text(encoding="utf-8"))
        return cls({"urn:githubfake:subset": subset, "urn:githubfake:extra": extra})

    def _collect_operations(self) -> list[Operation]:
        operations: list[Operation] = []
        seen: set[tuple[str, str]] = set()
        for uri, doc in self._documents.items():
            for template, item in doc.get("paths", {}).items():
                for method in METHODS:
                    if method not in item or (method, template) in seen:
                        continue
                    seen.add((method, template))
                    spec = copy.deepcopy(item[method])
                    spec["parameters"] = [*item.get("parameters", []), *spec.get("parameters", [])]
                    operations.append(
                        Operation(spec["operationId"], method.upper(), template, uri, spec, _compile(template))
                    )
        return sorted(operations, key=lambda op: op.literal_weight)

    @property
    def operation_ids(self) -> list[str]:
        return [op.operation_id for op in self._operations]

    def operation(self, operation_id: str) -> Operation:
        return self._by_id[operation_id]

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for op in self._operations:
            if op.method == method.upper():
                params = op.match(path)
                if params is not None:
                    return op, params
        return None

    # -- validation -----------------------------------------------------------------------------------

    def _resolve(self, doc_uri: str, pointer: str) -> tuple[str, Any]:
        """Follow `$ref`s at a JSON pointer (for responses/parameters), returning the final pointer."""
        node: Any = self._documents[doc_uri]
        for token in pointer.strip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = node["$ref"].removeprefix("#")
            node = self._resolve(doc_uri, pointer)[1]
        return pointer, node

    def _request_schema(self, op: Operation) -> Any:
        pointer, _ = self._resolve(op.doc_uri, f"{op.pointer}/requestBody")
        return self._resolve(op.doc_uri, f"{pointer}/content/application~1json/schema")[1]

    def _validator(self, doc_uri: str, pointer: str) -> Draft202012Validator:
        key = f"{doc_uri}#{pointer}"
        if key not in self._validators:
            self._validators[key] = Draft202012Validator({"$ref": key}, registry=self._registry)
        return self._validators[key]

    def validate_request(self, op: Operation, query: Mapping[str, list[str]], body: Any) -> list[str]:
        problems = list(self._check_query(op, query))
        base = f"{op.pointer}/requestBody"
        if "requestBody" not in op.spec:
            if body is not None:
                problems.append("request body sent to an operation that takes none")
            return problems
        pointer, request_body = self._resolve(op.doc_uri, base)
        if body is None:
            if request_body.get("required"):
                problems.append("required request body missing")
            return problems
        if "application/json" not in request_body.get("content", {}):
            return problems
        schema_pointer = f"{pointer}/content/application~1json/schema"
        problems += _errors("request body", self._validator(op.doc_uri, schema_pointer).iter_errors(body))
        return problems

    def _check_query(self, op: Operation, query: Mapping[str, list[str]]) -> Iterator[str]:
        declared: dict[str, Any] = {}
        for raw in op.spec.get("parameters", []):
            param = self._follow(op.doc_uri, raw)
            if param.get("in") == "query":
                declared[param["name"]] = param
        for name, values in query.items():
            if name not in declared:
                yield f"unknown query parameter {name!r}"
                continue
            schema = declared[name].get("schema", {})
            value = _coerce(values[-1], schema)
            validator = Draft202012Validator(schema, registry=self._registry)
            yield from _errors(f"query parameter {name!r}", validator.iter_errors(value))
        for name, param in declared.items():
            if param.get("required") and name not in query:
                yield f"required query parameter {name!r} missing"

    def _follow(self, doc_uri: str, node: Any) -> Any:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            return self._resolve(doc_uri, node["$ref"].removeprefix("#"))[1]
        return node

    def validate_response(self, op: Operation, status: int, body: Any) -> list[str]:
        responses = op.spec.get("responses", {})
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        if key is None:
            if status >= 400:
                errors = Draft202012Validator(GENERIC_ERROR_SCHEMA).iter_errors(body)
                return _errors(f"{status} response (undocumented error status)", errors)
            return [f"response status {status} is not documented for {op.operation_id}"]
        pointer, response = self._resolve(op.doc_uri, f"{op.pointer}/responses/{key}")
        content = response.get("content", {})
        if "application/json" not in content:
            return [] if body is None else [f"{status} response has a body but the description has none"]
        if body is None:
            return [f"{status} response has no body but the description requires JSON"]
        validator = self._validator(op.doc_uri, f"{pointer}/content/application~1json/schema")
        return _errors(f"{status} response", validator.iter_errors(body))


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "integer" in kinds and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value


def _errors(where: str, errors: Iterator[ValidationError]) -> list[str]:
    found = []
    for error in errors:
        detail = best_match([error])
        message = detail.message if len(detail.message) < 300 else detail.message[:297] + "..."
        found.append(f"{where} at {detail.json_path}: {message}")
    return found
