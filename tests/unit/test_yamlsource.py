"""YAML parsing with line numbers: plain data, lines per path, one-line errors."""

from __future__ import annotations

import textwrap

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from adsuite.errors import InputError
from adsuite.formats.yaml_source import (
    SourceDoc,
    dotted,
    parse_yaml,
    short_repr,
    validation_error,
)


def parse(text: str) -> SourceDoc:
    return parse_yaml(textwrap.dedent(text), "doc.yml")


def error_of(text: str) -> str:
    with pytest.raises(InputError) as caught:
        parse(text)
    assert caught.value.file == "doc.yml"
    return str(caught.value)


def test_plain_data_with_safe_loader_types() -> None:
    doc = parse(
        """
        text: hello
        number: 42
        ratio: 0.5
        flag: true
        nothing: null
        quoted: "42"
        date: 2024-05-01
        items: [a, 1]
        """
    )
    assert doc.data == {
        "text": "hello",
        "number": 42,
        "ratio": 0.5,
        "flag": True,
        "nothing": None,
        "quoted": "42",
        "date": "2024-05-01",
        "items": ["a", 1],
    }


def test_lines_are_recorded_per_path() -> None:
    doc = parse(
        """
        tasks:
          - name: first
            ou:
              path: HQ
          - name: second
        """
    )
    assert doc.lines[("tasks",)] == 2
    assert doc.lines[("tasks", 0)] == 3
    assert doc.lines[("tasks", 0, "name")] == 3
    assert doc.lines[("tasks", 0, "ou")] == 4
    assert doc.lines[("tasks", 0, "ou", "path")] == 5
    assert doc.lines[("tasks", 1, "name")] == 6


def test_line_for_a_missing_path_is_its_nearest_parent() -> None:
    doc = parse(
        """
        ou:
          description: x
        """
    )
    assert doc.line_for(("ou", "path")) == 2
    assert doc.line_for(("ou", "description", 3, "deep")) == 3
    assert doc.line_for(()) == 2


def test_chinese_text_round_trips() -> None:
    doc = parse("name: 集团总部 Group headquarters\n")
    assert doc.data == {"name": "集团总部 Group headquarters"}


def test_empty_document_is_none() -> None:
    assert parse("# nothing here\n").data is None


def test_anchors_aliases_and_merge_keys() -> None:
    doc = parse(
        """
        base: &base {protected: true, description: old}
        ou:
          <<: *base
          description: new
        """
    )
    assert doc.data["ou"] == {"protected": True, "description": "new"}
    assert doc.line_for(("ou", "description")) == 5


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    message = error_of(
        """
        ou:
          path: HQ
          description: a
          path: BR
        """
    )
    assert message == "doc.yml:5: duplicate key 'path' (first at line 3)"


def test_yaml_syntax_error_points_at_its_line() -> None:
    message = error_of(
        """
        ou:
          path: HQ
         description: [unclosed
        """
    )
    assert message.startswith("doc.yml:4: YAML syntax error: ")


def test_control_character_is_one_line_at_its_line() -> None:
    # libyaml says "control characters", PyYAML's pure-Python reader "special characters"
    assert error_of("a: 1\nb: x\x07y\n").replace("special", "control") == (
        "doc.yml:2: not valid YAML: unacceptable character #x0007: "
        "control characters are not allowed"
    )


def test_non_text_key_is_an_error() -> None:
    assert error_of("ou:\n  1: x\n") == "doc.yml:2: key 1 is not text; quote it: '1'"


def test_boolean_looking_key_is_an_error() -> None:
    assert error_of("yes: x\n") == "doc.yml:1: key yes is not text; quote it: 'yes'"


def test_unsupported_tag_is_an_error() -> None:
    assert error_of("a: 1\nb: !!binary aGk=\n") == (
        "doc.yml:2: unsupported YAML tag tag:yaml.org,2002:binary"
    )


def test_two_documents_are_an_error() -> None:
    assert error_of("a: 1\n---\nb: 2\n").startswith("doc.yml:2: YAML syntax error: ")


def test_dotted_and_short_repr() -> None:
    assert dotted(("hosts", "fs1", "members", 2, "name")) == "hosts.fs1.members[2].name"
    assert short_repr(None) == "null"
    assert short_repr(False) == "false"
    assert short_repr("x" * 80) == "'" + "x" * 36 + "..."


class _Smb(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int
    credential: str


class _Host(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str
    smb: _Smb | None = None


def test_validation_error_reports_the_earliest_line_with_a_suggestion() -> None:
    doc = parse(
        """
        address: 10.0.0.1
        smb:
          port: 445
          credentail: admin
        """
    )
    with pytest.raises(ValidationError) as caught:
        _Host.model_validate(doc.data)
    error = validation_error(doc, caught.value, base=(), what="host", model=_Host)
    assert str(error) == "doc.yml:5: unknown key 'credentail' in smb (did you mean 'credential'?)"
