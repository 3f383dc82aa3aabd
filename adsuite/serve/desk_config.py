"""Which service-desk fields carry what: the ``--mapping`` file of ``adsuite serve``.

Jira custom field ids differ from one Jira to the next, so the Jira endpoint needs
this file; the ServiceNow body is one adsuite defines (docs/service-desk.md), so its
section is optional and only names approval groups::

    jira:
      type_field: customfield_10050        # select or text field: the adsuite ticket type
      parameters_field: customfield_10051  # text field holding a JSON object (optional)
      parameter_fields:                    # one field per parameter (optional)
        company: customfield_10060
        name: customfield_10061
      confirmations_field: customfield_10052   # JSON object (optional)
      domain_field: customfield_10053          # inventory domain key (optional)
      approvals_field: customfield_10027       # JSM's "Approvals" field
      roles: {"Department head approval": department_head}
    servicenow:
      roles: {"HR Approvers": hr}

``roles`` maps a Jira approval's name, or a ServiceNow approval group, to an approver
role of playbooks/approvals.yml; a name not listed is used as a role once lower-cased
with ``_`` for spaces ("Department head" → ``department_head``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from adsuite.formats.yaml_source import read_yaml, validation_error

log = logging.getLogger(__name__)

_FIELD_ID = re.compile(r"^(customfield_[0-9]{1,10}|[a-z][A-Za-z0-9_]{0,63})$")


def _field_id(value: str) -> str:
    if not _FIELD_ID.match(value):
        raise ValueError(f"{value!r} is not a Jira field id like customfield_10050")
    return value


FieldId = Annotated[str, AfterValidator(_field_id)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JiraFields(_Model):
    type_field: FieldId
    approvals_field: FieldId | None = None
    parameters_field: FieldId | None = None
    parameter_fields: dict[str, FieldId] = Field(default_factory=dict)
    confirmations_field: FieldId | None = None
    domain_field: FieldId | None = None
    roles: dict[str, str] = Field(default_factory=dict)


class ServiceNowFields(_Model):
    roles: dict[str, str] = Field(default_factory=dict)


class DeskMapping(_Model):
    jira: JiraFields | None = None
    servicenow: ServiceNowFields = Field(default_factory=ServiceNowFields)


def load_mapping(path: Path) -> DeskMapping:
    """Read the mapping file; a mistake is one ``file:line: what is wrong`` InputError."""
    doc, _ = read_yaml(path, str(path))
    if not isinstance(doc.data, dict):
        raise doc.error((), "a service-desk mapping must be a mapping with 'jira' or 'servicenow'")
    try:
        mapping = DeskMapping.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(
            doc, exc, base=(), what="service-desk mapping", model=DeskMapping
        ) from None
    log.debug("service-desk mapping from %s (jira: %s)", path, mapping.jira is not None)
    return mapping
