"""config.toml: refresh interval and per-host Jupyter settings, checked with care.

A bad value is reported with its file and key and replaced by the default:
a typo must never stop jtui from starting.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

DEFAULT_REFRESH = 2.0
DEFAULT_JUPYTER = "jupyter lab"
DEFAULT_ROOT_DIR = "~"


@dataclass(frozen=True)
class HubSettings:
    """[hosts.NAME.jupyterhub]: how jtui talks to the JupyterHub on that host.

    The API token is read when needed from a file or an environment variable
    on this machine, never stored by jtui and never written to its logs.
    """

    token_file: str | None = None  # a file holding the token (~ expanded)
    token_env: str | None = None  # an environment variable holding it
    user: str | None = None  # whose servers (default: the token's own user, else the SSH user)


_HUB_KEYS = {"token_file": str, "token_env": str, "user": str}


@dataclass(frozen=True)
class SlurmSettings:
    """[hosts.NAME.slurm]: what `s` asks Slurm for; each set key is one sbatch option, None leaves it to the site."""

    partition: str | None = None
    time: str | None = None  # Slurm's own format: "2:00:00", "1-00:00:00", "90"
    cpus: int | None = None  # --cpus-per-task
    mem: str | None = None  # "16G"
    gres: str | None = None  # "gpu:1", "gpu:a100:2"
    account: str | None = None
    sbatch_args: str | None = None  # any other options, as you would type them after sbatch


_SLURM_KEYS = {"partition": str, "time": str, "cpus": int, "mem": str, "gres": str, "account": str,
               "sbatch_args": str}
LAUNCHERS = ("login", "slurm")


@dataclass(frozen=True)
class HostSettings:
    """Per-host settings; None means 'not set here, inherit'."""

    jupyter: str | None = None
    root_dir: str | None = None
    autoconnect: bool | None = None
    # Shell code the login shell runs before Jupyter (`module load ...`, `conda activate ...`):
    # the user's own, run as written, like the commands of their profile.
    setup: str | None = None
    # A kernel idle this long that still holds GPU memory is flagged (None: DEFAULT_GPU_IDLE_MINUTES).
    gpu_idle_minutes: float | None = None
    jupyterhub: HubSettings | None = None
    # Where `s` runs Jupyter: "login" (this host itself) or "slurm" (a batch job on a compute node).
    # None on a host with Slurm: `s` asks once.
    launcher: str | None = None
    slurm: SlurmSettings | None = None

    def over(self, base: "HostSettings") -> "HostSettings":
        """These settings, each one not set here taken from `base`."""
        return HostSettings(**{
            f.name: getattr(self, f.name) if getattr(self, f.name) is not None else getattr(base, f.name)
            for f in fields(self)
        })


BUILTIN_HOST = HostSettings(jupyter=DEFAULT_JUPYTER, root_dir=DEFAULT_ROOT_DIR, autoconnect=True)
DEFAULT_GPU_IDLE_MINUTES = 30.0


@dataclass(frozen=True)
class Settings:
    """config.toml as read: every value checked, defaults filled in, what was wrong listed in `problems`."""

    refresh: float = DEFAULT_REFRESH
    defaults: HostSettings = field(default_factory=HostSettings)
    hosts: dict[str, HostSettings] = field(default_factory=dict)
    # [keys]: binding id -> "key" or "key1,key2" (Textual's keymap); the UI knows the ids.
    keys: dict[str, str] = field(default_factory=dict)
    theme: str | None = None  # a Textual theme name; the UI knows which exist
    problems: tuple[str, ...] = ()
    path: str | None = None

    def for_host(self, alias: str) -> HostSettings:
        """Host table over [defaults] over the built-in defaults: every field set."""
        return self.hosts.get(alias, HostSettings()).over(self.defaults.over(BUILTIN_HOST))


_HOST_KEYS = {"jupyter": str, "root_dir": str, "setup": str, "autoconnect": bool, "gpu_idle_minutes": float,
              "launcher": str}
_RANGES = {"gpu_idle_minutes": (0.0, 10080.0), "cpus": (1, 100000)}  # a week; cores
_CHOICES = {"launcher": LAUNCHERS}
TOP_LEVEL_KEYS = ("refresh", "theme", "defaults", "hosts", "keys")
_TYPE_NAMES = {str: "a string", bool: "true or false", float: "a number", int: "a whole number"}


def _fits(value: object, expected: type) -> bool:
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _host_settings(table: object, where: str, file: str, problems: list[str]) -> HostSettings:
    if not isinstance(table, dict):
        problems.append(f"{file}: [{where}] must be a table; ignored")
        return HostSettings()
    values = _values(table, _HOST_KEYS, _SUBTABLES, where, file, problems)
    if isinstance(values.get("jupyterhub"), dict):
        hub = values["jupyterhub"]
        if not hub.get("token_file") and not hub.get("token_env"):
            problems.append(f"{file}: [{where}.jupyterhub] needs token_file or token_env (jtui never stores "
                            "the token itself); jtui lists the hub but cannot manage its servers")
        values["jupyterhub"] = HubSettings(**hub)
    if isinstance(values.get("slurm"), dict):
        values["slurm"] = SlurmSettings(**values["slurm"])
    return HostSettings(**values)


_SUBTABLES = {"jupyterhub": _HUB_KEYS, "slurm": _SLURM_KEYS}


def _values(
    table: dict, keys: dict[str, type], subtables: dict[str, dict], where: str, file: str, problems: list[str]
) -> dict[str, object]:
    """The keys of a table that are known and well typed; each other one is a problem, said with its place."""
    values: dict[str, object] = {}
    for key, value in table.items():
        if key in subtables:
            if isinstance(value, dict):
                values[key] = _values(value, subtables[key], {}, f"{where}.{key}", file, problems)
            else:
                problems.append(f"{file}: {where}.{key} must be a table like [{where}.{key}]; ignored")
            continue
        expected = keys.get(key)
        if expected is None:
            known = ", ".join([*keys, *subtables])
            problems.append(f"{file}: unknown key {where}.{key} (known: {known}); ignored")
        elif not _fits(value, expected):
            problems.append(
                f"{file}: {where}.{key} must be {_TYPE_NAMES[expected]}, "
                f"not {value!r}; using the default"
            )
        elif expected is str and not value.strip():
            problems.append(f"{file}: {where}.{key} is empty; using the default")
        elif key in _CHOICES and value not in _CHOICES[key]:
            choices = " or ".join(f'"{c}"' for c in _CHOICES[key])
            problems.append(f"{file}: {where}.{key} must be {choices}, not {value!r}; ignored")
        elif key in _RANGES and not _RANGES[key][0] <= value <= _RANGES[key][1]:
            low, high = _RANGES[key]
            problems.append(f"{file}: {where}.{key} = {value} is outside {low:g}..{high:g}; using the default")
        else:
            values[key] = float(value) if expected is float else value
    return values


def _keys(table: object, file: str, problems: list[str]) -> dict[str, str]:
    """[keys] as strings of comma-separated key names; which ids exist is the UI's to check."""
    if not isinstance(table, dict):
        problems.append(f'{file}: keys must be a table like [keys] with start = "S"; ignored')
        return {}
    keys: dict[str, str] = {}
    for binding_id, value in table.items():
        names = [n.strip() for n in value.split(",")] if isinstance(value, str) else []
        if not names or not all(names):
            problems.append(f'{file}: keys.{binding_id} must be key names like "S" or "ctrl+s,f5", not {value!r}; ignored')
        else:
            keys[binding_id] = ",".join(names)
    return keys


def parse_settings(text: str, file: str = "config.toml") -> Settings:
    """Settings from TOML text; every problem is kept, none is raised."""
    problems: list[str] = []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "(at end of document)" instead of a line: name the line.
        last = len(text.rstrip("\n").split("\n"))
        message = str(exc).replace("at end of document", f"at line {last}, the end of the file")
        return Settings(problems=(f"{file}: TOML syntax error: {message}; using defaults",), path=file)
    except RecursionError:  # tomllib recurses once per nested [ or {
        return Settings(problems=(f"{file}: arrays or tables nested too deeply; using defaults",), path=file)
    settings = Settings(path=file)
    for key, value in data.items():
        if key == "refresh":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{file}: refresh must be a number of seconds, not {value!r}")
            elif not 0.2 <= value <= 3600:
                problems.append(f"{file}: refresh = {value} is outside 0.2..3600 seconds")
            else:
                settings = replace(settings, refresh=float(value))
        elif key == "defaults":
            settings = replace(settings, defaults=_host_settings(value, "defaults", file, problems))
        elif key == "hosts":
            if not isinstance(value, dict):
                problems.append(f"{file}: hosts must be tables like [hosts.NAME]; ignored")
                continue
            hosts = {
                alias: _host_settings(table, f"hosts.{alias}", file, problems)
                for alias, table in value.items()
            }
            settings = replace(settings, hosts=hosts)
        elif key == "keys":
            settings = replace(settings, keys=_keys(value, file, problems))
        elif key == "theme":
            if isinstance(value, str) and value.strip():
                settings = replace(settings, theme=value.strip())
            else:
                problems.append(f"{file}: theme must be a theme name like \"nord\", not {value!r}")
        else:
            problems.append(f"{file}: unknown key {key!r} (known: {', '.join(TOP_LEVEL_KEYS)}); ignored")
    return replace(settings, problems=tuple(problems))


def load_settings(path: Path) -> Settings:
    """Read `path` if it exists; a missing file is simply the defaults."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings(path=str(path))
    except OSError as exc:
        return Settings(problems=(f"{path}: cannot read: {exc.strerror or exc}",), path=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Settings(problems=(f"{path}: not UTF-8 text; using defaults",), path=str(path))
    return parse_settings(text, str(path))


def host_table(alias: str, sub: str = "") -> str:
    """The config.toml table for `alias` as the user writes it: [hosts.gpu-box], [hosts."a.b.org".jupyterhub]."""
    import json  # only for messages: not on jtui's start

    key = alias if re.fullmatch(r"[A-Za-z0-9_-]+", alias) else json.dumps(alias)
    return f"[hosts.{key}{'.' + sub if sub else ''}]"
