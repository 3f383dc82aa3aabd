"""Service-desk payloads → adsuite ticket documents, as data cases (tests/unit/desk_cases/).

Every mapped document must also be one the ticket model accepts, so a mapping cannot
produce something the runner would reject for its form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from adsuite.serve import mapping
from adsuite.serve.contract import Refused
from adsuite.serve.desk_config import JiraFields, ServiceNowFields, load_mapping
from adsuite.tickets.model import parse_ticket

CASES = Path(__file__).parent / "desk_cases"


def cases(source: str) -> list[Any]:
    loaded = yaml.safe_load((CASES / f"{source}.yml").read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["name"]) for case in loaded]


def mapped(source: str, case: dict[str, Any]) -> dict[str, Any]:
    if source == "jira":
        return mapping.from_jira(case["body"], JiraFields.model_validate(case["mapping"]))
    return mapping.from_servicenow(case["body"], ServiceNowFields.model_validate(case["mapping"]))


def run_case(source: str, case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(Refused) as caught:
            mapped(source, case)
        assert caught.value.status == 422
        assert case["error"] in caught.value.message
        return
    document = mapped(source, case)
    assert document == case["expect"]
    parse_ticket(json.dumps(document), "mapped", as_json=True)  # the model accepts it


@pytest.mark.parametrize("case", cases("jira"))
def test_jira_payload_maps_to_ticket(case: dict[str, Any]) -> None:
    run_case("jira", case)


@pytest.mark.parametrize("case", cases("servicenow"))
def test_servicenow_payload_maps_to_ticket(case: dict[str, Any]) -> None:
    run_case("servicenow", case)


def test_native_body_is_the_ticket_itself_and_must_be_an_object() -> None:
    ticket = {"id": "IT-1", "type": "leaver", "requester": "li.hr"}
    assert mapping.from_native(ticket) == ticket
    with pytest.raises(Refused, match="must be a JSON object"):
        mapping.from_native([ticket])


@pytest.mark.parametrize(
    ("name", "roles", "role"),
    [
        ("Department head", {}, "department_head"),
        ("  General Manager approval ", {}, "general_manager_approval"),
        ("Waiting for approval", {"Waiting for approval": "it_head"}, "it_head"),
    ],
)
def test_approval_step_or_group_names_become_roles(
    name: str, roles: dict[str, str], role: str
) -> None:
    assert mapping.role_for(name, roles) == role


def test_mapping_file_mistake_is_one_line_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "desk.yml"
    path.write_text("jira:\n  type_field: customfield_10050\n  typo_field: x\n", encoding="utf-8")
    with pytest.raises(Exception) as caught:
        load_mapping(path)
    assert str(caught.value).startswith(f"{path}:3: unknown key 'typo_field'")
