"""The role permission matrix, against a table written out here, and the table in the
module's docstring against the code."""

from __future__ import annotations

import pytest

from pharmatwin.gmp import permissions
from pharmatwin.gmp.permissions import ACTIONS, ROLES, PermissionDenied, allowed, require

# action: viewer, operator, engineer, qa, admin (1 = allowed)
MATRIX = {
    "view":               (1, 1, 1, 1, 1),
    "acknowledge_alarm":  (0, 1, 1, 1, 1),
    "change_setpoint":    (0, 1, 1, 0, 1),
    "evaluate_whatif":    (0, 1, 1, 1, 1),
    "apply_action":       (0, 1, 1, 0, 1),
    "change_twin_config": (0, 0, 1, 0, 0),
    "manage_users":       (0, 0, 0, 0, 1),
    # GMP records (issue 8)
    "view_audit":         (0, 0, 0, 1, 1),
    "export_records":     (0, 0, 1, 1, 1),
    "sign_record":        (0, 1, 1, 1, 1),
    "approve_record":     (0, 0, 0, 1, 0),
    "propose_version":    (0, 0, 1, 0, 0),
    "approve_version":    (0, 0, 0, 1, 0),
    "record_genealogy":   (0, 1, 1, 0, 0),
    "trace_genealogy":    (1, 1, 1, 1, 1),
}  # fmt: skip
CASES = [
    (role, action, bool(row[i])) for action, row in MATRIX.items() for i, role in enumerate(ROLES)
]


def test_the_roles() -> None:
    assert ROLES == ("viewer", "operator", "engineer", "qa", "admin")


def test_the_matrix_covers_every_action() -> None:
    assert set(ACTIONS) == set(MATRIX)


@pytest.mark.parametrize(("role", "action", "expected"), CASES)
def test_role_x_action(role: str, action: str, expected: bool) -> None:
    assert allowed(role, action) is expected
    if expected:
        require(role, action)
    else:
        with pytest.raises(PermissionDenied) as caught:
            require(role, action)
        assert role in str(caught.value) and action in str(caught.value)
        assert (caught.value.role, caught.value.action) == (role, action)


def test_an_unknown_action_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="action: unknown action 'fly_plane'"):
        allowed("admin", "fly_plane")
    with pytest.raises(ValueError, match="fly_plane"):
        require("admin", "fly_plane")


def test_an_unknown_role_may_do_nothing() -> None:
    assert not any(allowed("superuser", action) for action in ACTIONS)
    with pytest.raises(PermissionDenied, match="superuser"):
        require("superuser", "view")


def _docstring_table() -> dict[str, set[str]]:
    """The access table of the module docstring: action -> roles marked ``x``."""
    doc = permissions.__doc__ or ""
    lines = doc.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("=====")]
    header = lines[rules[0] + 1]
    columns = {role: header.index(role) for role in ROLES}
    table: dict[str, set[str]] = {}
    for line in lines[rules[1] + 1 : rules[2]]:
        action = line[: columns["viewer"]].strip()
        if not action:
            continue  # a continuation line of the description
        table[action] = {r for r, at in columns.items() if line[at : at + 1] == "x"}
    return table


def test_the_docstring_table_is_the_matrix() -> None:
    table = _docstring_table()
    assert set(table) == set(ACTIONS)
    for action, roles in ACTIONS.items():
        assert table[action] == set(roles), action
