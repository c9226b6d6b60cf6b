"""`logloop group`: one error group in full, and user control over groups (see analyzers/group_edits).

logloop group show KEY                      the group with its root-cause material
logloop group ticket KEY [--post]           the group as a ready-to-file issue
logloop group merge KEY KEY...              the events of every KEY become one group (the first KEY)
logloop group split KEY --by message|caller|version [--max-groups N]
logloop group unmerge KEY|EDIT_ID           take KEY out of its merges (a target: the whole merge),
                                            or undo that one edit

A KEY is a whole grouping key or a unique prefix of one (as `logloop analyze` prints it). Merges join
transitively, in any order; the latest merge's target keys the group.
logloop group edits                         the history: who did what, when, and what was undone

"""

from __future__ import annotations

import argparse
from contextlib import closing
from typing import Any

from analyzers import group_edits, group_show_cli
from analyzers.escaping import text_line
from analyzers.exceptions import AnalyzerError
from analyzers.store import Store, connect


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # The one `group` parser: `show` and `ticket` come from analyzers.group_show_cli, the edits from here.
    group = subparsers.add_parser(
        "group", help="show one error group, write it as a ticket, or edit groups", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    actions = group.add_subparsers(dest="group_command", required=True, metavar="ACTION")
    group_show_cli.add_commands(actions)
    merge = actions.add_parser("merge", help="merge groups: their events become one group (the first KEY)")
    merge.add_argument("keys", nargs="+", metavar="KEY")
    merge.set_defaults(handler=handle_merge)
    split = actions.add_parser("split", help="split a group by message, caller or version")
    split.add_argument("key", metavar="KEY")
    split.add_argument("--by", required=True, choices=group_edits.SPLIT_BY)
    split.add_argument(
        "--max-groups", type=_positive, default=group_edits.SPLIT_LIMIT, metavar="N",
        help=f"refuse a split into more than N groups (default {group_edits.SPLIT_LIMIT})",
    )  # fmt: skip
    split.set_defaults(handler=handle_split)
    unmerge = actions.add_parser("unmerge", help="undo the merges and splits of a group (or one edit)")
    unmerge.add_argument("key", metavar="KEY|EDIT_ID")
    unmerge.set_defaults(handler=handle_unmerge)
    edits = actions.add_parser("edits", help="list every group edit: who, when, what, undone or not")
    edits.set_defaults(handler=handle_edits)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, not {text!r}")
    return value


def _version() -> int:
    from shipper.grouping.fingerprint import GROUPING_VERSION

    return int(GROUPING_VERSION)


def handle_merge(args: argparse.Namespace, settings: Any) -> int:
    with closing(connect(settings)) as store:
        edits = group_edits.load(store)
        keys = [group_edits.resolve_key(store, key, edits) for key in args.keys]
        edit = group_edits.new_merge(keys[0], keys[1:], who=group_edits.who_am_i(), at=group_edits.now(),
                                     version=_version())  # fmt: skip
        return _record(store, edit, f"merged {', '.join(edit.sources)} into {edit.target}")


def handle_split(args: argparse.Namespace, settings: Any) -> int:
    with closing(connect(settings)) as store:
        edits = group_edits.load(store)
        key = group_edits.resolve_key(store, args.key, edits)
        plan = group_edits.EditPlan(edits)
        target, moved_by = plan.merged.get(key, (key, None))
        if target != key:
            raise AnalyzerError(
                f"{key} is merged into {target} ({moved_by}): split {target}, or unmerge {moved_by} first"
            )
        for edit in plan.splits:
            if key in edit.keys and edit.by == args.by:
                raise AnalyzerError(f"{key} is already split by {args.by} ({edit.edit_id})")
        edit = group_edits.new_split(key, args.by, who=group_edits.who_am_i(), at=group_edits.now(),
                                     version=_version())  # fmt: skip
        limit = getattr(args, "max_groups", group_edits.SPLIT_LIMIT)
        size = group_edits.split_size(store, edit, limit=limit)
        if size > limit:
            raise AnalyzerError(
                f"split of {key} by {args.by} would make at least {size} groups, more than {limit} "
                f"(each {args.by} is a group: one holds a value?); give --max-groups N to allow N"
            )
        if size == 1:  # recorded all the same: the events to come may bring a second value
            done = (
                f"split {edit.target} by {edit.by}: its events so far have one {edit.by}, "
                "one group until another"
            )
        else:
            done = f"split {edit.target} by {edit.by} into {size} groups"
        return _record(store, edit, done)


def _record(store: Store, edit: group_edits.Edit, done: str) -> int:
    group_edits.save(store, edit)
    changed = group_edits.apply_settled(store, edit.keys)[1]
    undo = f"logloop group unmerge {edit.edit_id}"
    print(text_line(f"{edit.edit_id}: {done} by {edit.who}; {changed} events re-keyed (undo: {undo})"))
    return 0


def handle_unmerge(args: argparse.Namespace, settings: Any) -> int:
    with closing(connect(settings)) as store:
        edits = group_edits.load(store)
        chosen = _naming(edits, args.key)
        if not chosen:
            raise AnalyzerError(f"no active merge or split of {args.key}; see `logloop group edits`")
        who, at = group_edits.who_am_i(), group_edits.now()
        kept: list[group_edits.Edit] = []
        for edit in chosen:
            group_edits.mark_undone(store, edit, who=who, at=at)
            rest = [key for key in edit.sources if key not in _named(edit, args.key)]
            if edit.kind == "merge" and rest and len(rest) < len(edit.sources):
                # One source out of several: the others stay merged, by the same edit's rest (its who
                # and when: its place among the merges decides which target keys the group).
                again = group_edits.new_merge(
                    edit.target, rest, who=edit.who, at=edit.at, version=edit.grouping_version
                )
                group_edits.save(store, again)
                kept.append(again)
        keys = set().union(*(edit.keys for edit in chosen))
        changed = group_edits.apply_settled(store, keys)[1]
    undone = "; ".join(_described(edit) for edit in chosen)
    still = "".join(f"; still merged: {_described(edit)}" for edit in kept)
    print(text_line(f"undid {undone}{still}; {changed} events back to their groups"))
    return 0


def _named(edit: group_edits.Edit, reference: str) -> set[str]:
    """The sources of `edit` that `reference` (a key, a prefix of one, or the edit's id) takes out."""
    if reference in (edit.edit_id, edit.target) or edit.edit_id.startswith(reference):
        return set(edit.sources)
    named = {key for key in edit.sources if key == reference}
    return named or {key for key in edit.sources if key.startswith(reference)}


def _described(edit: group_edits.Edit) -> str:
    if edit.kind == "merge":
        return f"{edit.edit_id} (merge {' '.join(edit.sources)} -> {edit.target})"
    return f"{edit.edit_id} (split {edit.target} by {edit.by})"


def _naming(edits: list[group_edits.Edit], reference: str) -> list[group_edits.Edit]:
    """The active edits `reference` names: by id or key, else by the one id or key it is a prefix of
    (as `analyze` prints keys)."""
    active = [edit for edit in edits if edit.active]
    chosen = [edit for edit in active if reference in (edit.edit_id, *edit.keys)]
    if chosen or not reference:
        return chosen
    names = {name for edit in active for name in (edit.edit_id, *edit.keys) if name.startswith(reference)}
    if len(names) > 1:
        shown = text_line(", ".join(sorted(names)[:5]))
        raise AnalyzerError(f"{reference!r} is the start of several keys or edits ({shown}): give more of it")
    return [edit for edit in active if names & {edit.edit_id, *edit.keys}]


def handle_edits(args: argparse.Namespace, settings: Any) -> int:
    del args
    with closing(connect(settings)) as store:
        edits = group_edits.load(store)
    for edit in edits:
        what = f"merge {' '.join(edit.sources)} -> {edit.target}" if edit.kind == "merge" else (
            f"split {edit.target} by {edit.by}")  # fmt: skip
        undone = f", undone by {edit.undone_by} at {edit.undone_at:%Y-%m-%d %H:%M}" if edit.undone_at else ""
        line = (
            f"{edit.edit_id} {edit.at:%Y-%m-%d %H:%M} {edit.who}: {what} (v{edit.grouping_version}){undone}"
        )
        print(text_line(line))  # grouping keys are log content: one line, nothing invisible
    if not edits:
        print("no group edits")
    return 0
