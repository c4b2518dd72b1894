# shellcheck shell=sh
# shellcheck disable=SC2154 # the variables below are set by jtui/core/remote.py
# jtui start: launch Jupyter detached, through the user's login shell.
#
# In:  token, args (the command's words, quoted for sh), root, setup,
#      allow_root (yes, no or auto), log, launch (launch.sh, run after the profile)
# Out: jtui-pid= (the process that becomes Jupyter), jtui-uid=, jtui-log=,
#      or jtui-error= when nothing could be launched.
#
# The login shell reads the user's profile (conda, venv, `module`), runs the
# setup in its own language, then sh runs launch.sh.  setsid + nohup and a
# private log file let the server outlive the connection.  The token travels
# in the environment (JUPYTER_TOKEN), never on a command line.

jtui_expand_tilde "$log"
log=$jtui_word
dir=${log%/*}
if ! (umask 077 && mkdir -p "$dir" && : >>"$log"); then
  jtui_say error "cannot create the log file $log"
  exit 1
fi
chmod 700 "$dir" 2>/dev/null
chmod 600 "$log" 2>/dev/null

JUPYTER_TOKEN=$token
export JUPYTER_TOKEN
unset token
jtui_launch_env

jtui_login_shell
detach=
command -v setsid >/dev/null 2>&1 && detach=setsid
# $! of a pipeline is its last process: the login shell, which execs sh, which execs Jupyter.
jtui_login_input | $detach nohup "$jtui_sh" -l >>"$log" 2>&1 &
jtui_say pid "$!"
jtui_say uid "$(id -u)"
jtui_say log "$log"
