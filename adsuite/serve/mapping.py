"""Service-desk payloads → the adsuite ticket document: pure functions, no I/O.

The document they produce is the one ``adsuite ticket apply`` reads from a file::

    {"id": "IT-42", "type": "new_employee", "requester": "li.hr", "domain": "group",
     "approvals": [{"name": "zhou.hr", "role": "hr", "time": "2026-11-27T01:30:00+00:00"}],
     "confirmations": {}, "parameters": {"company": "HQ", "name": "zhang.wei"}}

Only approvals that were given are carried over (Jira: the approval's final decision
and the approver's decision are both "approved"; ServiceNow: state "approved"); the
ticket rules then decide whether they are enough. A payload that cannot be mapped
raises :class:`~adsuite.serve.contract.Refused` (422) naming the field.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adsuite.serve.contract import Refused
from adsuite.serve.desk_config import JiraFields, ServiceNowFields

log = logging.getLogger(__name__)

_SN_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_SN_KEYS = (
    "u_adsuite_type",
    "u_adsuite_parameters",
    "u_adsuite_confirmations",
    "u_adsuite_domain",
)


def unmappable(message: str) -> Refused:
    return Refused(422, message)


def from_native(body: Any) -> dict[str, Any]:
    """adsuite's own ticket document, as posted to ``/tickets``."""
    if not isinstance(body, dict):
        raise unmappable("the body must be a JSON object: a ticket with id, type and requester")
    return dict(body)


def from_jira(body: Any, fields_map: JiraFields) -> dict[str, Any]:
    """A Jira webhook (``{"issue": {...}}``) or an automation's issue data (``{key, fields}``)."""
    issue = body.get("issue", body) if isinstance(body, dict) else None
    if not isinstance(issue, dict) or not isinstance(issue.get("fields"), dict):
        raise unmappable('not a Jira issue: expected {"issue": {"key": ..., "fields": {...}}}')
    fields: dict[str, Any] = issue["fields"]
    if not isinstance(issue.get("key"), str) or not issue["key"]:
        raise unmappable("the Jira issue has no key")
    kind = _plain(fields.get(fields_map.type_field), fields_map.type_field)
    if not isinstance(kind, str) or not kind:
        raise unmappable(f"Jira field {fields_map.type_field} (the ticket type) is empty")
    reporter = fields.get("reporter")
    if not isinstance(reporter, dict):
        raise unmappable("the Jira issue has no reporter")
    doc: dict[str, Any] = {"id": issue["key"], "type": kind, "requester": person(reporter)}
    if fields_map.domain_field and fields.get(fields_map.domain_field) is not None:
        doc["domain"] = _plain(fields[fields_map.domain_field], fields_map.domain_field)
    doc["approvals"] = _jira_approvals(fields, fields_map)
    if fields_map.confirmations_field:
        field_id = fields_map.confirmations_field
        doc["confirmations"] = _json_object(fields.get(field_id), f"Jira field {field_id}")
    doc["parameters"] = _jira_parameters(fields, fields_map)
    return doc


def from_servicenow(body: Any, fields_map: ServiceNowFields) -> dict[str, Any]:
    """The body of the Business Rule in docs/service-desk.md (a requested item)."""
    if not isinstance(body, dict):
        raise unmappable("the body must be a JSON object with number, u_adsuite_type, …")
    for key in body:
        if key.startswith("u_adsuite_") and key not in _SN_KEYS:
            close = difflib.get_close_matches(key, _SN_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(_SN_KEYS)}"
            raise unmappable(f"unknown ServiceNow field '{key}' ({hint})")
    for key in ("number", "u_adsuite_type", "requested_for"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise unmappable(f"the ServiceNow body needs '{key}' (text)")
    doc: dict[str, Any] = {
        "id": body["number"],
        "type": body["u_adsuite_type"],
        "requester": body["requested_for"],
    }
    if body.get("u_adsuite_domain"):
        doc["domain"] = body["u_adsuite_domain"]
    doc["approvals"] = _servicenow_approvals(body.get("approvals"), fields_map)
    for key in ("confirmations", "parameters"):
        doc[key] = _json_object(body.get(f"u_adsuite_{key}"), f"u_adsuite_{key}")
    return doc


def person(user: Mapping[str, Any]) -> str:
    """A Jira user as a name: ``name`` (Data Center), else ``emailAddress``, else ``accountId``."""
    for key in ("name", "emailAddress", "accountId"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return value
    raise unmappable("a Jira user has no name, emailAddress or accountId")


def role_for(name: str, roles: Mapping[str, str]) -> str:
    """The approver role an approval step (Jira) or approval group (ServiceNow) stands for."""
    if name in roles:
        return roles[name]
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _jira_parameters(fields: Mapping[str, Any], fields_map: JiraFields) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if fields_map.parameters_field:
        field_id = fields_map.parameters_field
        params.update(_json_object(fields.get(field_id), f"Jira field {field_id}"))
    for name, field_id in fields_map.parameter_fields.items():
        value = _plain(fields.get(field_id), field_id)
        if value is not None:
            params[name] = value
    return params


def _jira_approvals(fields: Mapping[str, Any], fields_map: JiraFields) -> list[dict[str, str]]:
    if not fields_map.approvals_field:
        return []
    steps = fields.get(fields_map.approvals_field)
    if steps is None:
        return []
    if not isinstance(steps, list):
        raise unmappable(f"Jira field {fields_map.approvals_field} is not a list of approvals")
    approvals = []
    for step in steps:
        if not isinstance(step, dict) or step.get("finalDecision") != "approved":
            continue
        name = str(step.get("name") or "")
        role = role_for(name, fields_map.roles)
        time = _jira_time(step.get("completedDate"), name)
        for approver in step.get("approvers") or []:
            user = approver.get("approver") if isinstance(approver, dict) else None
            if isinstance(user, dict) and approver.get("approverDecision") == "approved":
                approvals.append({"name": person(user), "role": role, "time": time})
    return approvals


def _jira_time(value: Any, step: str) -> str:
    """JSM dates come as {"epochMillis": …, "iso8601": …} (REST) or as text."""
    if isinstance(value, dict) and isinstance(value.get("epochMillis"), int | float):
        return datetime.fromtimestamp(value["epochMillis"] / 1000, UTC).isoformat()
    text = value.get("iso8601") if isinstance(value, dict) else value
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise unmappable(f"Jira approval '{step}' has no completedDate with a time zone")


def _servicenow_approvals(value: Any, fields_map: ServiceNowFields) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise unmappable("'approvals' must be a list of sysapproval_approver records")
    approvals = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise unmappable(f"approvals[{index}] must be an object")
        if item.get("state") != "approved":
            continue
        approver = item.get("approver")
        if not isinstance(approver, str) or not approver:
            raise unmappable(f"approvals[{index}] needs 'approver' (a user_name)")
        approvals.append(
            {
                "name": approver,
                "role": _servicenow_role(item, index, fields_map),
                "time": _servicenow_time(item.get("sys_updated_on"), index),
            }
        )
    return approvals


def _servicenow_role(item: Mapping[str, Any], index: int, fields_map: ServiceNowFields) -> str:
    role = item.get("role")
    if isinstance(role, str) and role:
        return role
    group = item.get("group")
    if isinstance(group, str) and group:
        return role_for(group, fields_map.roles)
    raise unmappable(f"approvals[{index}] names neither 'role' nor 'group'")


def _servicenow_time(value: Any, index: int) -> str:
    """``sys_updated_on`` as GlideDateTime.getValue() gives it: UTC, no zone written."""
    if isinstance(value, str) and _SN_TIME.match(value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            stamp = None
        if stamp is not None and stamp.tzinfo is not None:
            return stamp.isoformat()
    raise unmappable(
        f"approvals[{index}].sys_updated_on must be UTC 'YYYY-MM-DD hh:mm:ss', not {value!r}"
    )


def _plain(value: Any, field_id: str) -> Any:
    """A Jira field value as plain data: options by value, users by name, whole numbers as int."""
    if isinstance(value, list):
        return [_plain(item, field_id) for item in value]
    if isinstance(value, dict):
        if "value" in value:
            return value["value"]
        if any(key in value for key in ("name", "emailAddress", "accountId")):
            return person(value)
        raise unmappable(f"Jira field {field_id} holds an object adsuite cannot read")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _json_object(value: Any, what: str) -> dict[str, Any]:
    """An object, or text holding a JSON object (a multi-line text field); empty is {}."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            where = f"{exc.msg} at line {exc.lineno}"
            raise unmappable(f"{what} is not a JSON object: {where}") from None
    if not isinstance(value, dict):
        raise unmappable(f"{what} must be a JSON object")
    return value
