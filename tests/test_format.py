"""Pure text formatting shared by the screen and `jtui status` (jtui/core/format.py)."""

from __future__ import annotations

from jtui.core.format import clip, short_command, short_path


def test_a_command_is_named_by_its_program_or_script_with_the_home_as_tilde():
    home = "/home/al"
    assert short_command("/opt/conda/bin/python -u /home/al/dash/app.py --port 8050", home, 80) == "app.py --port 8050"
    assert short_command("python3 -m tensorboard.main --logdir /home/al/runs", home, 80) == "tensorboard.main --logdir ~/runs"
    assert short_command("tensorboard --logdir=/home/al/runs", home, 80) == "tensorboard --logdir=~/runs"
    # Only where the home starts a path: another folder that merely contains it is left alone.
    assert short_command("rsync /data/home/al/x /home/al/y", home, 80) == "rsync /data/home/al/x ~/y"
    assert short_command("serve /srv/x", "/", 80) == "serve /srv/x"  # a home of / folds nothing
    assert short_command("python -m http.server " + "8000 " * 30, home, 20) == "http.server 8000 80…"
    assert short_command("", home, 20) == ""


def test_paths_and_clips():
    assert short_path("/home/al/proj", "/home/al") == "~/proj"
    assert short_path("/home/alice", "/home/al") == "/home/alice"
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"


def test_prose_wraps_at_spaces_and_a_url_stays_on_one_line():
    from jtui.core.format import wrap_prose

    url = "http://localhost:45381/?token=d89231cd58807cfc84a6d6580f3743b289042b761c9ce7f7"
    text = wrap_prose(f"copied instead, because no local display was found\n{url}\n\nok", 20)
    assert text.split("\n") == ["copied instead,", "because no local", "display was found", url, "", "ok"]
    assert wrap_prose("a-long-hyphenated-name-kept", 10) == "a-long-hyphenated-name-kept"
    command = "  ssh -N -L 40911:localhost:40911 al@2001:db8::1"  # indented: a command, kept whole
    assert wrap_prose(f"On your laptop, run:\n{command}", 16) == f"On your laptop,\nrun:\n{command}"
