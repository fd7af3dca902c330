"""bot.desired_state.yaml_edit: key paths through block sequences (a container of the pod template)."""

from __future__ import annotations

import yaml
from test_manifests import API_DEPLOYMENT, changed_lines, read_deploy

from bot.desired_state.objects import read_objects
from bot.desired_state.yaml_edit import Edit, apply

IMAGE = ("spec", "template", "spec", "containers", 0, "image")


def _deployment(files: dict[str, str]) -> Edit:
    target = next(o for o in read_objects(files) if o.path == API_DEPLOYMENT)
    return Edit(target, IMAGE, "ghcr.io/example/appointments-api:1.4.3")


def test_an_index_in_the_path_replaces_one_line_of_a_list_item() -> None:
    files = read_deploy()
    after = apply(files, [_deployment(files)])[API_DEPLOYMENT]
    assert changed_lines(files[API_DEPLOYMENT], after) == [
        "-          image: ghcr.io/example/appointments-api:1.4.2",
        '+          image: "ghcr.io/example/appointments-api:1.4.3"',
    ]
    assert after.replace('"ghcr.io/example/appointments-api:1.4.3"', "ghcr.io/example/appointments-api:1.4.2") \
        == files[API_DEPLOYMENT]  # the rest of the file, comments included, is byte-identical


def test_an_index_into_a_flow_sequence_falls_back_to_a_full_dump() -> None:
    files = read_deploy()
    block = "      containers:\n        - name: api\n"
    assert block in files[API_DEPLOYMENT]
    data = yaml.safe_load(files[API_DEPLOYMENT])
    container = data["spec"]["template"]["spec"]["containers"][0]
    flow = files[API_DEPLOYMENT].split(block)[0] + "      containers: " + yaml.safe_dump(
        [container], default_flow_style=True, width=10_000
    )
    files = {**files, API_DEPLOYMENT: flow}
    after = apply(files, [_deployment(files)])[API_DEPLOYMENT]
    container["image"] = "ghcr.io/example/appointments-api:1.4.3"
    assert yaml.safe_load(after) == data
    assert "# No spec.replicas" not in after  # the dump drops comments: the price of an unusual layout
