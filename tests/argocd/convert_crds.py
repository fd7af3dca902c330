"""Regenerate tests/argocd/schemas/*.json from Argo CD's CRDs (see SOURCES.md):

    git --git-dir=<argo-cd>.git show <commit>:manifests/crds/application-crd.yaml > /tmp/application-crd.yaml
    git --git-dir=<argo-cd>.git show <commit>:manifests/crds/appproject-crd.yaml > /tmp/appproject-crd.yaml
    python tests/argocd/convert_crds.py /tmp/application-crd.yaml /tmp/appproject-crd.yaml

Each output is the `openAPIV3Schema` of the CRD's served version, unchanged, as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parent / "schemas"


def main(paths: list[str]) -> None:
    for path in paths:
        crd = yaml.safe_load(Path(path).read_text("utf-8"))
        (version,) = [v for v in crd["spec"]["versions"] if v.get("served")]
        name = crd["spec"]["names"]["kind"].lower()
        schema = version["schema"]["openAPIV3Schema"]
        (OUT / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n", "utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
