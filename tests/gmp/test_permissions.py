"""The role permission matrix, against a table written out here."""

from __future__ import annotations

import pytest

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
