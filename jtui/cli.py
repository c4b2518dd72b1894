"""The `jtui` command: the TUI by default, and scriptable subcommands."""

from __future__ import annotations

import argparse
import json
import sys

from jtui import __version__


def _add_config(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "--config", "-F", action="append", metavar="FILE", default=default,
        help="SSH config-style hosts file (repeatable); replaces ~/.ssh/config "
        "and the jtui hosts file",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jtui", description="Run Jupyter on your SSH hosts from one terminal screen."
    )
    parser.add_argument("--version", action="version", version=f"jtui {__version__}")
    _add_config(parser, None)
    parser.add_argument("--demo", action="store_true", help="serve this machine as host `demo` over an embedded SSH server")
    sub = parser.add_subparsers(dest="command")

    hosts = sub.add_parser("hosts", help="list hosts and their resolved connection")
    _add_config(hosts, argparse.SUPPRESS)
    hosts.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "hosts":
        return cmd_hosts(args)
    return run_tui(args)


def cmd_hosts(args) -> int:
    from jtui.core.inventory import load_inventory, where_hosts_come_from
    from jtui.core.resolve import resolve_host

    inventory = load_inventory(args.config)
    for problem in inventory.problems:
        print(f"jtui: {problem}", file=sys.stderr)
    rows = []
    for entry in inventory.scan.hosts:
        resolved = resolve_host(entry.alias, list(inventory.sources))
        row = resolved.to_json()
        row["file"], row["line"] = entry.file, entry.line
        rows.append(row)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    elif not rows:
        print(where_hosts_come_from(inventory), file=sys.stderr)
    else:
        print(_hosts_table(rows))
    return 1 if inventory.problems else 0


def _hosts_table(rows: list[dict]) -> str:
    header = ["ALIAS", "USER@HOSTNAME:PORT", "JUMP", "IDENTITY", "DEFINED AT"]
    table = [header] + [
        [
            r["alias"],
            f'{r["user"]}@{r["hostname"]}:{r["port"]}' + (f'  ! {r["error"]}' if r["error"] else ""),
            r["proxyjump"] or "-",
            ",".join(r["identity_files"]) or "-",
            f'{r["file"]}:{r["line"]}',
        ]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in table
    )


def run_tui(args) -> int:
    from jtui.app import build_app

    app = build_app(config_files=args.config, demo=args.demo)
    app.run()
    return app.return_code or 0
