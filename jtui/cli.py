"""The `jtui` command: the TUI by default, and scriptable subcommands."""

from __future__ import annotations

import argparse
import sys

from jtui import __version__


def _add_config(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "--config", "-F", action="append", metavar="FILE", default=default,
        help="SSH config-style hosts file (repeatable); replaces ~/.ssh/config "
        "and the jtui hosts file",
    )


def _add_host(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("host", nargs="?", help="a Host alias of your config (with --demo: default demo)")
    parser.add_argument("--demo", action="store_true",
                        help="also serve this machine as host `demo`, for this command, over an embedded SSH server")


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

    status = sub.add_parser("status", help="one sample of a host: cpu, memory, gpus, servers")
    _add_config(status, argparse.SUPPRESS)
    _add_host(status)
    status.add_argument("--json", action="store_true")

    open_ = sub.add_parser("open", help="reuse or start a server, forward it, print its URL; Ctrl-C ends the forward")
    _add_config(open_, argparse.SUPPRESS)
    _add_host(open_)
    open_.add_argument("--no-browser", action="store_true", help="print the URL only")
    open_.add_argument("--port", type=int, metavar="N", help="local port to try first")
    open_.add_argument("--service", metavar="KIND_OR_PORT",
                       help="forward a running service instead of Jupyter: tensorboard, jupyterhub, ... or its port")
    where = open_.add_mutually_exclusive_group()
    where.add_argument("--slurm", dest="launcher", action="store_const", const="slurm",
                       help="run Jupyter as a Slurm job on a compute node (default: launcher in config.toml)")
    where.add_argument("--login-node", dest="launcher", action="store_const", const="login",
                       help="run Jupyter on the host itself, even where Slurm is")
    for name, what in (("partition", "partition"), ("time", "time limit, e.g. 2:00:00"), ("cpus", "cores"),
                       ("mem", "memory, e.g. 16G"), ("gres", "e.g. gpu:1"), ("account", "account"),
                       ("sbatch-args", "other sbatch options, quoted as one")):
        open_.add_argument(f"--{name}", metavar="VALUE", help=f"the job's {what} (over [hosts.NAME.slurm])")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("status", "open") and args.host is None:
        if not args.demo:
            parser.error(f"{args.command} needs a HOST (see `jtui hosts`), or --demo for this machine")
        args.host = "demo"
    if args.command == "hosts":
        return cmd_hosts(args)
    if args.command in ("status", "open"):
        from jtui.core.logs import setup_logging

        setup_logging()
    if args.command == "status":
        return _run_async(cmd_status(args))
    if args.command == "open":
        return _run_async(cmd_open(args))
    return run_tui(args)


def _run_async(coro) -> int:
    import asyncio

    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return 130


def _fail(text: str) -> int:
    print(f"jtui: {text}", file=sys.stderr)
    return 1


def _load(args):
    from jtui.core.inventory import load_inventory

    inventory = load_inventory(args.config)
    for problem in inventory.problems:
        print(f"jtui: {problem}", file=sys.stderr)
    return inventory


async def cmd_status(args) -> int:
    from jtui.core.link import ConnectFailed
    from jtui.core.oneshot import OneShotError, status, with_demo

    from jtui.core.status_report import status_json, status_text

    try:
        async with with_demo(_load(args), args.demo) as inventory:
            report = await status(inventory, args.host)
    except (OneShotError, ConnectFailed) as exc:
        return _fail(f"{args.host}: {exc}")
    if args.json:
        import json

        print(json.dumps(status_json(args.host, report), indent=2))
    else:
        print(status_text(args.host, report))
    return 0


async def cmd_open(args) -> int:
    from jtui.core.oneshot import with_demo

    async with with_demo(_load(args), args.demo) as inventory:
        return await _open(args, inventory)


async def _open(args, inventory) -> int:
    import asyncio
    import os
    import signal
    import socket

    from jtui.core.handoff import no_browser_reason, open_in_browser
    from jtui.core.jupyter import StartError
    from jtui.core.link import ConnectFailed
    from jtui.core.oneshot import OneShotError, open_server, open_service, watch_far_end
    from jtui.core.services import describe
    from jtui.core.urls import laptop_hint, url_note

    def say(text: str) -> None:
        print(f"jtui: {args.host}: {text}", file=sys.stderr, flush=True)

    from jtui.core.schedulers.slurm import JobRequest

    request = JobRequest(**{name: str(getattr(args, name) or "") for name in
                            ("partition", "time", "cpus", "mem", "gres", "account", "sbatch_args")})
    if any(vars(request).values()) and not args.launcher:
        args.launcher = "slurm"  # a job's option says what is wanted
    submitted: list[str] = []
    try:
        if args.service:
            opened = await open_service(inventory, args.host, args.service, args.port, say)
        else:
            opened = await open_server(inventory, args.host, args.port, say, args.launcher, request, submitted.append)
    except (OneShotError, ConnectFailed, StartError) as exc:
        return _fail(f"{args.host}: {exc}")
    except asyncio.CancelledError:
        if submitted:
            say(f"job {submitted[0]} stays in the queue: jtui open {args.host} --slurm picks it up when it runs; "
                f"x in jtui or `scancel {submitted[0]}` cancels it")
        raise
    # Ctrl-C from here on ends the forward cleanly (exit 0), however soon after the URL it comes.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = None
    try:
        if args.service:
            say(f"forwarding {describe(opened.server)}" + (f" (pid {opened.server.pid})" if opened.server.pid else ""))
        else:
            how = "started" if opened.started else "reusing"
            say(f"{how} Jupyter on remote port {opened.server.port} (pid {opened.server.pid})")
        if opened.forward.moved:
            from jtui.core.demo import DEMO_ALIAS

            if args.demo and args.host == DEMO_ALIAS:  # the server holds its own port on this very machine
                say(f"port {opened.server.port} here is the server itself (demo is this machine), "
                    f"so the forward uses {opened.local_port}")
            else:
                say(opened.forward.reason)
        print(opened.url, flush=True)
        note = url_note(opened.server)
        if note:
            say(note)
        hint = laptop_hint(os.environ, opened.local_port, socket.gethostname())
        if hint:
            say(hint.message)
        if not args.no_browser and opened.url.startswith("http"):
            reason = no_browser_reason()
            if reason is not None or not await asyncio.to_thread(open_in_browser, opened.url):
                say(f"not opening a browser: {reason or 'none found'}")
        what = "the service" if args.service else "the server"
        job = getattr(opened.server, "job_id", "")
        if job:
            what = f"job {job} keeps running afterwards (x in jtui or `scancel {job}` ends it)"
        else:
            what += " keeps running afterwards"
        say(f"forwarding until Ctrl-C (reconnecting if the link drops); {what}")
        name = (opened.server.kind or "the service") if args.service else "Jupyter"
        every = inventory.settings.refresh
        watch = asyncio.create_task(watch_far_end(opened.session, opened.forward, name, say, every))
        await stop.wait()
        return 0
    finally:
        if watch is not None:
            watch.cancel()
        await opened.session.close()


def cmd_hosts(args) -> int:
    from jtui.core.inventory import load_inventory, where_hosts_come_from
    from jtui.core.resolve import resolve_host

    inventory = load_inventory(args.config)
    for problem in inventory.problems:
        print(f"jtui: {problem}", file=sys.stderr)
    rows = []
    for entry in inventory.scan.hosts:
        resolved = resolve_host(entry.alias, inventory.config_files, inventory.blocker(entry.alias))
        row = resolved.to_json()
        row["file"], row["line"] = entry.file, entry.line
        rows.append(row)
    try:
        if args.json:
            import json

            json.dump(rows, sys.stdout, indent=2)
            print()
        elif not rows:
            print(where_hosts_come_from(inventory), file=sys.stderr)
        else:
            print(_hosts_table(rows, inventory.problems))
        sys.stdout.flush()
    except BrokenPipeError:  # `jtui hosts | head`: the reader has seen enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 1 if inventory.problems else 0


def _hosts_table(rows: list[dict], problems: list[str]) -> str:
    """One line a host; a config problem every host shares (printed above, on stderr) is named, not repeated."""
    header = ["ALIAS", "USER@HOSTNAME:PORT", "JUMP", "IDENTITY", "DEFINED AT"]

    def where(r: dict) -> str:
        if not r["error"]:
            return f'{r["user"]}@{r["hostname"]}:{r["port"]}'
        return "! broken: the config problem above" if r["error"] in problems else f'! broken: {r["error"]}'

    table = [header] + [
        [
            r["alias"],
            where(r),
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
    import gc

    gc.disable()  # until the first frame: the app's IdleCollector.start turns it on (jtui/ui/idle_gc.py says why)
    from jtui.app import build_app
    from jtui.core.logs import setup_logging

    setup_logging()
    app = build_app(config_files=args.config, demo=args.demo)
    app.run()
    return app.return_code or 0
