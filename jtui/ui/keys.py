"""Keys as the user has them: BINDINGS with config.toml's [keys] applied.

Textual applies a keymap when it looks a key up; the help screen, the
palette and the problems line need the same answer ahead of time, from the
same inputs, so it is computed here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType

Keymap = dict[str, str]


@dataclass(frozen=True)
class BoundAction:
    """An action and its keys after config.toml's [keys]: what the help, the palette and the key line show."""

    id: str
    binding: Binding  # the declared one (action, tooltip)
    keys: tuple[str, ...]  # after the keymap; empty when another action took its only key


def bound_actions(bindings: Iterable[BindingType], keymap: Keymap) -> list[BoundAction]:
    """Every binding with an id, in declaration order, with its keys after `keymap`.

    A key the keymap gives to one action is taken from any other that had it,
    as Textual does.
    """
    declared: dict[str, tuple[Binding, list[str]]] = {}
    for binding in Binding.make_bindings(bindings):
        if binding.id:
            entry = declared.setdefault(binding.id, (binding, []))
            entry[1].append(binding.key)
    keys = {i: [k.strip() for k in keymap[i].split(",")] if i in keymap else ks for i, (b, ks) in declared.items()}
    taken = {k for i in keymap if i in keys for k in keys[i]}
    result = []
    for binding_id, (binding, _) in declared.items():
        mine = keys[binding_id]
        if binding_id not in keymap:
            mine = [k for k in mine if k not in taken]
        result.append(BoundAction(binding_id, binding, tuple(mine)))
    return result


def keymap_problems(keymap: Keymap, actions: list[BoundAction], where: str) -> list[str]:
    """What is wrong with [keys]: unknown ids, and actions left without a key."""
    known = {a.id for a in actions}
    problems = [
        f"{where}: keys.{binding_id}: no such action (known: {', '.join(sorted(known))}); ignored"
        for binding_id in keymap
        if binding_id not in known
    ]
    for action in actions:
        if not action.keys:
            takers = [i for i in keymap if i in known and set(keymap[i].split(",")) & {action.binding.key}]
            problems.append(
                f"{where}: keys.{', keys.'.join(takers)} took {action.binding.key!r} from {action.id}, "
                f"which now has no key; give it one in [keys]"
            )
    return problems


def known_keymap(keymap: Keymap, actions: list[BoundAction]) -> Keymap:
    known = {a.id for a in actions}
    return {i: k for i, k in keymap.items() if i in known}


def describe_keys(action: BoundAction, display: Callable[[Binding], str]) -> str:
    """'c' or 'y/c' as the footer would show them; '—' for none."""
    return "/".join(display(action.binding.with_key(k)) for k in action.keys) or "—"
