"""Playbook loading: loops, when, vars, imports, and one `file:line` error per mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from adsuite.engine.loader import NO_TAGS, Playbook, load_playbook
from adsuite.errors import InputError
from adsuite.runtime.inventory import Inventory, load_inventory
from adsuite.source import Location


class OuSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    description: str | None = None
    protected: bool = True

    @field_validator("path")
    @classmethod
    def _no_empty_segments(cls, value: str) -> str:
        if any(not part.strip() for part in value.split("/")):
            raise ValueError(f"bad OU path {value!r}")
        return value


class GroupSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    ou: str
    scope: Literal["global", "universal", "domain_local"] = "global"
    members: list[str] = []


class MembershipSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: str
    members: list[str]


class UserSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sam: str
    ou: str


KINDS: dict[str, type[BaseModel]] = {
    "ou": OuSpec,
    "group": GroupSpec,
    "membership": MembershipSpec,
    "user": UserSpec,
}

INVENTORY = """\
domains:
  group:
    realm: GROUP.EXAMPLE.COM
    base_dn: DC=group,DC=example,DC=com
    netbios: GROUP
    credential: admin
    dcs: {dc1: {ldap_url: "ldaps://127.0.0.1:636"}}
companies:
  - {code: HQ, name: 集团总部 Group headquarters, ip_range: 172.16.0.0/16}
  - {code: HANTONG, name: 韩通船舶 Hantong Shipbuilding, ip_range: 172.17.0.0/16}
  - {code: WENJING, name: 文景 Wenjing, ip_range: 172.19.0.0/16}
credentials:
  admin: {username: Administrator@GROUP.EXAMPLE.COM}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that is also the current directory, so paths in errors stay short."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def inventory(workdir: Path) -> Inventory:
    (workdir / "inventory.yml").write_text(INVENTORY, encoding="utf-8")
    return load_inventory(Path("inventory.yml"))


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(inventory: Inventory, text: str, name: str = "site.yml") -> Playbook:
    return load_playbook(write(name, text), inventory, KINDS)


def error_of(inventory: Inventory, text: str) -> str:
    with pytest.raises(InputError) as caught:
        load(inventory, text)
    return str(caught.value)


# --- good playbooks ----------------------------------------------------------------

OU_PLAYBOOK = """
name: Group-wide OU structure (三.2.b)
domain: group
vars:
  sub_ous: [Users, Groups, Servers]
tasks:
  - name: Company root OUs
    loop: "{{ companies }}"
    ou:
      path: "{{ item.code }}"
      description: "{{ item.name }}"
      protected: true
  - name: Sub-OUs
    loop: "{{ companies | product(sub_ous) | list }}"
    loop_control: {loop_var: pair}
    ou:
      path: "{{ pair[0].code }}/{{ pair[1] }}"
    when: "{{ pair[1] != 'Servers' or pair[0].code == 'HQ' }}"
"""


def test_loops_product_and_when(inventory: Inventory) -> None:
    playbook = load(inventory, OU_PLAYBOOK)
    (play,) = playbook.plays
    assert play.name == "Group-wide OU structure (三.2.b)"
    assert play.domain == "group"
    assert play.location == Location("site.yml", 1)
    paths = [task.spec.path for task in play.tasks if isinstance(task.spec, OuSpec)]
    assert paths == [
        "HQ",
        "HANTONG",
        "WENJING",
        "HQ/Users",
        "HQ/Groups",
        "HQ/Servers",
        "HANTONG/Users",
        "HANTONG/Groups",
        "WENJING/Users",
        "WENJING/Groups",
    ]
    sub = play.tasks[3:]
    assert [task.loop_index for task in sub] == [0, 1, 2, 3, 4, 6, 7]
    assert {task.location for task in sub} == {Location("site.yml", 12)}


def test_chinese_text_round_trips(inventory: Inventory) -> None:
    playbook = load(inventory, OU_PLAYBOOK)
    first = playbook.plays[0].tasks[0]
    assert first.kind == "ou"
    assert first.name == "Company root OUs"
    assert first.spec == OuSpec(path="HQ", description="集团总部 Group headquarters")


def test_vars_reference_earlier_vars_and_the_inventory(inventory: Inventory) -> None:
    playbook = load(
        inventory,
        """
        name: Admins
        vars:
          prefix: "{{ domain.netbios }}"
          admins_group: "{{ prefix }}-Admins"
          hq: "{{ companies | selectattr('code', 'equalto', 'HQ') | first }}"
          realm: "{{ inventory.domains.group.realm | lower }}"
        tasks:
          - name: "Admin group for {{ hq.code }}"
            group:
              name: "{{ admins_group }}"
              ou: "{{ hq.code }}/Groups"
              members: ["admin@{{ realm }}", "{{ domain.key }}"]
        """,
    )
    (task,) = playbook.plays[0].tasks
    assert task.name == "Admin group for HQ"
    assert task.spec == GroupSpec(
        name="GROUP-Admins", ou="HQ/Groups", members=["admin@group.example.com", "group"]
    )
    assert playbook.plays[0].domain == "group"


def test_native_types_but_text_stays_text(inventory: Inventory) -> None:
    playbook = load(
        inventory,
        """
        vars: {flag: false, code: "007"}
        tasks:
          - ou: {path: "{{ code }}", protected: "{{ flag }}"}
          - ou: {path: "X"}
            when: code == '007'
        """,
    )
    first, second = playbook.plays[0].tasks
    assert first.spec == OuSpec(path="007", protected=False)
    assert first.name == "ou"
    assert first.loop_index is None
    assert second.spec == OuSpec(path="X")


def test_import_playbook_relative_to_the_importing_file(inventory: Inventory) -> None:
    write("areas/ou.yml", "- import_playbook: groups.yml\n- {name: OUs, tasks: [ou: {path: HQ}]}\n")
    write("areas/groups.yml", "name: Groups\ntasks:\n  - group: {name: G, ou: HQ}\n")
    playbook = load(inventory, "- import_playbook: areas/ou.yml\n- {name: Top, tasks: []}\n")
    assert [play.name for play in playbook.plays] == ["Groups", "OUs", "Top"]
    assert playbook.files == (Path("site.yml"), Path("areas/ou.yml"), Path("areas/groups.yml"))
    assert playbook.plays[0].tasks[0].location == Location("areas/groups.yml", 3)
    assert playbook.path == Path("site.yml")


def test_sha256_changes_when_an_imported_file_changes(inventory: Inventory) -> None:
    write("areas/ou.yml", "name: OUs\ntasks: [ou: {path: HQ}]\n")
    before = load(inventory, "- import_playbook: areas/ou.yml\n").sha256
    assert load(inventory, "- import_playbook: areas/ou.yml\n").sha256 == before
    write("areas/ou.yml", "name: OUs\ntasks: [ou: {path: BR}]\n")
    after = load(inventory, "- import_playbook: areas/ou.yml\n").sha256
    assert after != before and len(after) == 64


# --- one clear line per mistake ----------------------------------------------------


def test_unknown_key_suggests_the_right_one(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Root
            ou:
              path: HQ
              descriptoin: Headquarters
        """,
    )
    assert message == (
        "site.yml:5: unknown key 'descriptoin' in ou task (did you mean 'description'?)"
    )


def test_wrong_type(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Root
            ou:
              path: HQ
              protected: yes please
        """,
    )
    assert message == "site.yml:5: 'protected' must be true or false, not 'yes please'"


def test_wrong_type_in_a_loop_names_the_item(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Root
            loop: "{{ companies }}"
            ou:
              path: "{{ item.code }}"
              protected: "{{ 'nope' if item.code == 'WENJING' else true }}"
        """,
    )
    assert message == (
        "site.yml:6: 'protected' must be true or false, not 'nope' (loop item 3: 'WENJING')"
    )


def test_undefined_variable(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        name: OUs
        tasks:
          - name: Company root OUs
            loop: "{{ compnies }}"
            ou:
              path: "{{ item.code }}"
        """,
    )
    assert message == "site.yml:4: undefined variable 'compnies' in task 'Company root OUs'"


def test_undefined_variable_inside_a_loop(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Roots
            loop: "{{ companies }}"
            ou:
              path: "{{ item.code }}"
              description: "{{ descr }}"
        """,
    )
    assert message == "site.yml:6: undefined variable 'descr' in task 'Roots' (loop item 1: 'HQ')"


def test_missing_key_of_a_loop_item(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Roots
            loop: "{{ companies }}"
            ou:
              path: "{{ item.cod }}"
        """,
    )
    assert message == "site.yml:5: undefined key 'cod' in task 'Roots' (loop item 1: 'HQ')"


def test_loop_accepts_an_iterator(inventory: Inventory) -> None:
    playbook = load(
        inventory,
        """
        tasks:
          - loop: "{{ ['A', 'B'] | product(['x']) }}"
            ou: {path: "{{ item | join('/') }}"}
        """,
    )
    assert [task.spec for task in playbook.plays[0].tasks] == [
        OuSpec(path="A/x"),
        OuSpec(path="B/x"),
    ]


def test_template_syntax_error(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Roots
            ou:
              path: "{{ item.code }"
        """,
    )
    assert message.startswith("site.yml:4: template syntax error: ")
    assert message.endswith(" in task 'Roots'")


def test_missing_key(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Root
            ou:
              description: Headquarters
        """,
    )
    assert message == "site.yml:3: ou task needs 'path'"


def test_bad_value_from_a_validator(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        vars:
          sub: ""
        tasks:
          - name: Users
            ou:
              description: x
              path: "HQ/{{ sub }}/Users"
        """,
    )
    assert message == "site.yml:7: bad OU path 'HQ//Users'"


def test_duplicate_key(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Root
            ou:
              path: HQ
              path: BR
        """,
    )
    assert message == "site.yml:5: duplicate key 'path' (first at line 4)"


def test_yaml_syntax_error(inventory: Inventory) -> None:
    message = error_of(inventory, "tasks:\n  - name: Root\n    ou: {path: HQ\n  - name: Next\n")
    assert message.startswith("site.yml:4: YAML syntax error: ")


def test_unknown_kind(inventory: Inventory) -> None:
    message = error_of(inventory, "tasks:\n  - name: Root\n    oou: {path: HQ}\n")
    assert message == "site.yml:3: unknown resource kind 'oou' (known: group, membership, ou, user)"


def test_misspelt_task_key(inventory: Inventory) -> None:
    message = error_of(inventory, "tasks:\n  - loops: [1]\n    ou: {path: HQ}\n")
    assert message == "site.yml:2: unknown task key 'loops' (did you mean 'loop'?)"


def test_two_kinds_in_one_task(inventory: Inventory) -> None:
    message = error_of(
        inventory,
        """
        tasks:
          - name: Root
            ou: {path: HQ}
            group: {name: G, ou: HQ}
        """,
    )
    assert message == (
        "site.yml:4: task 'Root' has two resource kinds, 'ou' and 'group'; "
        "a task declares exactly one"
    )


def test_tags_are_refused_with_one_line_that_says_why(inventory: Inventory) -> None:
    message = error_of(inventory, "tasks:\n  - ou: {path: HQ}\n    tags: [ou, structure]\n")
    assert message == f"site.yml:3: {NO_TAGS}"


def test_task_without_kind(inventory: Inventory) -> None:
    message = error_of(inventory, "tasks:\n  - name: Root\n    when: true\n")
    assert message == (
        "site.yml:2: task 'Root' declares no resource kind (one of: group, membership, ou, user)"
    )


def test_unknown_play_key(inventory: Inventory) -> None:
    message = error_of(inventory, "name: P\nvar: {a: 1}\ntasks: []\n")
    assert message == "site.yml:2: unknown play key 'var' (did you mean 'vars'?)"


def test_unknown_domain(inventory: Inventory) -> None:
    message = error_of(inventory, "name: P\ndomain: grp\ntasks: []\n")
    assert message == "site.yml:2: play 'P': unknown domain 'grp' (known: group)"


def test_when_must_be_a_bool(inventory: Inventory) -> None:
    message = error_of(inventory, "tasks:\n  - ou: {path: HQ}\n    when: \"{{ 'x' }}\"\n")
    assert message == "site.yml:3: 'when' must give true or false, not 'x' in ou task"


def test_import_cycle(inventory: Inventory) -> None:
    write("a.yml", "- import_playbook: b.yml\n")
    write("b.yml", "- {name: B, tasks: []}\n- import_playbook: a.yml\n")
    message = error_of(inventory, "- import_playbook: a.yml\n")
    assert message == "b.yml:2: import cycle: site.yml -> a.yml -> b.yml -> a.yml"


def test_missing_import(inventory: Inventory) -> None:
    message = error_of(inventory, "- name: A\n  tasks: []\n- import_playbook: nope.yml\n")
    assert message == "site.yml:3: cannot import 'nope.yml': no such file"


BAD_INPUTS = [
    "tasks:\n  - ou: {path: HQ, descriptoin: x}\n",
    "tasks:\n  - ou: {path: HQ, protected: yes please}\n",
    "tasks:\n  - ou: {path: '{{ nope }}'}\n",
    "tasks:\n  - ou: {path: '{{ 1 / 0 }}'}\n",
    "tasks:\n  - ou: {path: '{{ companies | nosuchfilter }}'}\n",
    "tasks:\n  - ou: {}\n",
    "tasks:\n  - ou:\n",
    "tasks:\n  - ou: [1, 2]\n",
    "tasks:\n  - oou: {}\n",
    "tasks: {a: 1}\n",
    "tasks:\n  - 42\n",
    "- 42\n",
    "42\n",
    "",
    "a: [\n",
    "tasks:\n  - ou: {path: HQ}\n    loop: 7\n",
    "tasks:\n  - ou: {path: HQ}\n    loop_control: {loop_var: x}\n",
    "tasks:\n  - ou: {path: HQ}\n    loop: [1]\n    loop_control: {loop_vra: x}\n",
    "tasks:\n  - ou: {path: HQ}\n    tags: 5\n",
    "vars: {companies: []}\ntasks: []\n",
    "vars: [1]\ntasks: []\n",
    "name: no tasks\n",
    "- import_playbook: site.yml\n",
    "- import_playbook: x.yml\n  vars: {}\n",
    "tasks:\n  - ou: {path: HQ}\n    when: '{{ 1 +}}'\n",
]


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_input_is_one_line_without_a_traceback(inventory: Inventory, text: str) -> None:
    Path("site.yml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_playbook(Path("site.yml"), inventory, KINDS)
    message = str(caught.value)
    assert message.startswith("site.yml:")
    assert "\n" not in message
    assert "Traceback" not in message and 'File "' not in message
    assert "pydantic" not in message and "errors.pydantic.dev" not in message
    assert caught.value.__suppress_context__ or caught.value.__cause__ is None
