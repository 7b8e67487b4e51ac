"""A readable structural diff of two JSON documents (two versions of a record).

Objects are compared key by key; lists of objects that each carry a unique ``name`` (recipe
phases, specifications, actions) are matched by name, so inserting a phase shows as one added
phase rather than every later phase changed; other lists are compared by position.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Change", "ChangeKind", "json_diff"]

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference between two JSON documents: where (``phases[growth].setpoints.T``),
    the old and the new value (``None`` for an added or removed one)."""

    path: str
    old: Any
    new: Any
    change: ChangeKind

    def __str__(self) -> str:
        if self.change == "added":
            return f"+ {self.path}: {_text(self.new)}"
        if self.change == "removed":
            return f"- {self.path}: {_text(self.old)}"
        return f"~ {self.path}: {_text(self.old)} -> {_text(self.new)}"


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def json_diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """The structural differences from ``old`` to ``new``, in document order.

    Objects are compared key by key; lists of objects that each have a unique ``name`` are
    matched by name (``phases[growth]``), other lists by position (``boluses[2]``).
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for key in list(old) + [k for k in new if k not in old]:
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append(Change(where, old[key], None, "removed"))
            elif key not in old:
                out.append(Change(where, None, new[key], "added"))
            else:
                out.extend(json_diff(old[key], new[key], where))
        return out
    if isinstance(old, list) and isinstance(new, list):
        return _list_diff(old, new, path)
    if _same(old, new):
        return []
    return [Change(path or "(document)", old, new, "changed")]


def _same(a: Any, b: Any) -> bool:
    return (type(a) is type(b) and a == b) or (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def _names(items: list[Any]) -> list[str] | None:
    names = [i.get("name") for i in items if isinstance(i, dict)]
    strings = [n for n in names if isinstance(n, str)]
    if len(strings) != len(items) or len(set(strings)) != len(strings):
        return None
    return strings


def _list_diff(old: list[Any], new: list[Any], path: str) -> list[Change]:
    old_names, new_names = _names(old), _names(new)
    out: list[Change] = []
    if old_names is not None and new_names is not None:
        by_old = dict(zip(old_names, old, strict=True))
        by_new = dict(zip(new_names, new, strict=True))
        for key in old_names + [n for n in new_names if n not in by_old]:
            where = f"{path}[{key}]"
            if key not in by_new:
                out.append(Change(where, by_old[key], None, "removed"))
            elif key not in by_old:
                out.append(Change(where, None, by_new[key], "added"))
            else:
                out.extend(json_diff(by_old[key], by_new[key], where))
        common = [n for n in old_names if n in by_new]
        if common != [n for n in new_names if n in by_old]:
            order = [n for n in new_names if n in by_old]
            out.append(Change(f"{path} (order)", common, order, "changed"))
        return out
    for i in range(max(len(old), len(new))):
        where = f"{path}[{i}]"
        if i >= len(new):
            out.append(Change(where, old[i], None, "removed"))
        elif i >= len(old):
            out.append(Change(where, None, new[i], "added"))
        else:
            out.extend(json_diff(old[i], new[i], where))
    return out
