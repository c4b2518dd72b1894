# shellcheck shell=sh
# shellcheck disable=SC2154 # the variables below are set by jtui/core/remote.py
# jtui stop: the process side of stopping a Jupyter server.
#
# In:  op, pid, and for op=end: wait and grace (seconds); for op=end and op=clean:
#      name (the runtime file's name) and dirs (where it may be, one a line;
#      empty: the usual places)
# op=state   jtui-state=gone|jupyter|other (other: the pid was reused by
#            another program, which must never be signalled)
# op=end     wait up to `wait` s for the server to leave after a shutdown
#            request, SIGTERM it if it is still there, wait up to `grace` s;
#            jtui-gone=1|0, and its runtime files removed once it is gone
# op=clean   remove the runtime files of a server that is gone
# op=kill    SIGTERM the process group jtui started (setsid made pid its leader)

wait_gone() {  # SECONDS: true once $pid is gone
  n=0
  while jtui_alive "$pid"; do
    [ "$n" -lt $(($1 * 10)) ] || return 1
    sleep 0.1 2>/dev/null || sleep 1
    n=$((n + 1))
  done
}

clean() {
  case $name in
    jpserver-"$pid".json | nbserver-"$pid".json) ;;
    *) jtui_say cleaned 0; return 0 ;;
  esac
  if [ -z "$dirs" ]; then
    # shellcheck disable=SC2034 # read by jtui_add_default_dirs
    jtui_os=$(uname -s 2>/dev/null)
    jtui_dirs=
    jtui_add_default_dirs
    dirs=$jtui_dirs
  fi
  set -f
  IFS=$jtui_nl
  for d in $dirs; do
    rm -f -- "$d/$name" "$d/${name%.json}-open.html"
  done
  unset IFS
  set +f
  jtui_say cleaned 1
}

case $op in
  state)
    if ! jtui_alive "$pid"; then
      jtui_say state gone
    else
      case $(ps -o args= -p "$pid" 2>/dev/null) in
        *[Jj]upyter* | *notebook* | *nbclassic*) jtui_say state jupyter ;;
        *) jtui_say state other ;;
      esac
    fi
    ;;
  end)
    if ! wait_gone "$wait"; then
      kill -TERM "$pid" 2>/dev/null
      if ! wait_gone "$grace"; then
        jtui_say gone 0
        exit 0
      fi
    fi
    jtui_say gone 1
    clean
    ;;
  clean) clean ;;
  kill) kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null ;;
  *)
    jtui_say error "unknown op $op"
    exit 2
    ;;
esac
