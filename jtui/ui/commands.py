"""ctrl+p: every action on the selected host and server, and "jump to host" by fuzzy name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from jtui.core.format import short_path
from jtui.ui.kernel_actions import the_kernel

# Binding id -> what the palette calls it; {host} and {server} are filled in when it opens.
HOST_ACTIONS = (
    ("start", "Start Jupyter on {host}"),
    ("connect", "Connect to {host} now (log in)"),
    ("refresh", "Refresh / reconnect {host}"),
)
SERVER_ACTIONS = (
    ("copy", "Copy the URL of {server}"),
    ("open", "Open {server} in the browser"),
    ("forward", "Forward {server} to localhost"),
    ("stop", "Stop {server}"),
)
KERNEL_ACTIONS = (
    ("interrupt", "Interrupt {kernel}"),
    ("restart", "Restart {kernel}"),
    ("shutdown", "Shut down {kernel}"),
)
APP_ACTIONS = (
    ("filter", "Filter hosts by name"),
    ("help", "Help: keys and where the configuration lives"),
)


def highlighted(matcher: Matcher, text: str) -> Content:
    """The matcher's highlight, except for text it would read as markup (a `[` in a path)."""
    return Content(text) if "[" in text else matcher.highlight(text)


class JtuiCommands(Provider):
    """The app's one provider, so jtui's actions come first and Textual's own (theme, keys, quit) after."""

    def _commands(self) -> list[tuple[str, str, object]]:
        """(title, help, callback) for what makes sense right now."""
        app = self.app
        screen = app.host_screen
        host = screen.selected
        record = screen.record(host) if host else None
        server = record.selected_server if record else None
        found = []

        def add(binding_id: str, title: str, **names: str) -> None:
            action = app.bound[binding_id]
            # A screen's action runs on the screen, the app's (help, quit) on the app.
            target = screen if hasattr(screen, f"action_{action.binding.action}") else app
            found.append((title.format(**names), app.key_help(binding_id), partial(app.run_action, action.binding.action, target)))

        if host:
            for binding_id, title in HOST_ACTIONS:
                if binding_id == "connect" and record.connected:
                    continue  # already connected: nothing to log in to
                add(binding_id, title, host=host)
        if server:
            home = record.sample.remote_home if record.sample else ""
            where = f"{record.place_of(server)}:{server.port}" + (
                f" ({short_path(server.root_dir, home)})" if server.root_dir and not server.job_id else "")
            local = record.forward_ports.get(server.port)
            for binding_id, title in SERVER_ACTIONS:
                if binding_id == "forward" and local is not None:
                    title = f"Unbind the forward of {{server}} (localhost:{local})"
                if binding_id == "stop" and server.job_id:
                    title = f"Cancel job {server.job_id}, Jupyter on {{server}} (scancel)"
                add(binding_id, title, server=where)
        elif record is not None and record.selected_job is not None:
            job = record.selected_job
            add("stop", f"Cancel job {job.job_id}, {job.state.lower()} (scancel)")
        kernel = record.selected_kernel_of_server if record else None
        if kernel:
            for binding_id, title in KERNEL_ACTIONS:
                add(binding_id, title, kernel=the_kernel(kernel))
        if screen.last_hint is not None:
            add("laptop", "Copy the laptop-side ssh -N -L command")
        for binding_id, title in APP_ACTIONS:
            add(binding_id, title)
        found += [(c.title, c.help, c.callback) for c in app.get_system_commands(self.screen) if c.discover]
        return found

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, highlighted(matcher, title), callback, text=title, help=help_text)
        screen = self.app.host_screen
        for alias in screen.host_list.aliases:
            title = f"Jump to {alias}"
            # The name alone decides: "gpu" should find gpu-box first, whatever "Jump to" scores.
            if (score := matcher.match(alias)) > 0:
                display = Content("Jump to ") + highlighted(matcher, alias)
                yield Hit(score, display, partial(screen.host_list.select, alias), text=title, help="select this host")
