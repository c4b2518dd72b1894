# shellcheck shell=sh
# shellcheck disable=SC2154 # the variables below are set by jtui/core/remote.py
# jtui poll: has the server jtui launched written its runtime file yet?
#
# In:  pid (what start.sh printed), log, rtdir (empty until known)
# Out: jtui-alive=1|0; jtui-rtdir= (read from the log) while rtdir is empty;
#      the runtime file as jtui-file=PATH, its text, a jtui-end line;
#      when the process is gone, jtui-tail and the log's last lines.
#
# The file is jpserver-PID.json / nbserver-PID.json for our pid, or one whose
# process is in our session (a wrapper script that forked instead of exec'ing).

if jtui_alive "$pid"; then alive=1; else alive=0; fi
jtui_say alive "$alive"
if [ -z "$rtdir" ]; then
  rtdir=$(sed -n 's/^jtui: runtime dir: //p' "$log" 2>/dev/null | head -n 1)
  jtui_say rtdir "$rtdir"
fi
# shellcheck disable=SC2034 # read by jtui_add_default_dirs
jtui_os=$(uname -s 2>/dev/null)
jtui_dirs=
jtui_add_dir "$rtdir"
jtui_add_default_dirs
set -f
IFS=$jtui_nl
# shellcheck disable=SC2086 # one dir a line
set -- $jtui_dirs
unset IFS
set +f
jtui_find_servers "$@"
set -f
IFS=$jtui_nl
for f in $jtui_files; do
  p=${f##*-}
  p=${p%.json}
  if [ "$p" != "$pid" ]; then
    [ "$(ps -o sid= -p "$p" 2>/dev/null | tr -d ' ')" = "$pid" ] || continue
  fi
  jtui_say file "$f"
  cat -- "$f"
  printf '\njtui-end\n'
  break
done
unset IFS
set +f
if [ "$alive" = 0 ]; then
  echo jtui-tail
  tail -n 20 -- "$log" 2>/dev/null
fi
exit 0
