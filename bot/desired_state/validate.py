"""Validates Kubernetes manifests offline against the schemas bundled in kubernetes-validate (a shell)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config.loader import parse_yaml_all
from bot.errors import InputError

KUBERNETES_VERSION = "1.37.0"
# Kinds without a Kubernetes schema that still belong in deploy/.
SKIP_KINDS = ("Kustomization",)
SKIP_GROUPS = ("argoproj.io/", "kustomize.config.k8s.io/")


def manifest_errors(files: Mapping[str, str]) -> list[str]:
    """One message per invalid document, naming the file; empty when every manifest validates."""
    import kubernetes_validate  # type: ignore[import-untyped]  # heavy: imported only when a check needs it
    from kubernetes_validate.utils import (  # type: ignore[import-untyped]
        SchemaNotFoundError,
        ValidationError,
    )

    problems = []
    for path, text in sorted(files.items()):
        if path.rsplit("/", 1)[-1].startswith("kustomization."):
            continue
        try:
            documents: list[Any] = [d for d in parse_yaml_all(text, path) if d is not None]
        except InputError as exc:
            problems.append(f"{exc.field}: {exc.problem}" if exc.field else exc.problem)
            problems[-1] = f"{path}: {problems[-1]}"
            continue
        for doc in documents:
            if not isinstance(doc, dict):
                problems.append(f"{path}: a document is not a mapping")
                continue
            if doc.get("kind") in SKIP_KINDS or str(doc.get("apiVersion", "")).startswith(SKIP_GROUPS):
                continue
            absent = [key for key in ("apiVersion", "kind") if not isinstance(doc.get(key), str)]
            if absent:  # kubernetes-validate looks both up unchecked (a KeyError, not a finding)
                problems.append(f"{path}: a document without {' and '.join(absent)}")
                continue
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except ValidationError as exc:
                where = ".".join(str(p) for p in exc.path) or "$"
                problems.append(f"{path}: {doc.get('kind')} {where}: {exc.message}")
            except SchemaNotFoundError:
                problems.append(f"{path}: no Kubernetes schema for {doc.get('apiVersion')}/{doc.get('kind')}")
    return problems
