# shellcheck shell=sh
# shellcheck disable=SC2154 # jtui_* are set by lib.sh's functions
# jtui launch: what runs after the user's login profile and setup (see
# start.sh): PATH, the runtime dir for jtui to find, the root dir, then exec
# Jupyter with jtui's flags, so the pid start.sh printed is Jupyter's.
#
# In (environment): JTUI_ARGS, JTUI_ROOT, JTUI_ALLOW_ROOT, JTUI_OUTER_PATH, JUPYTER_TOKEN;
#   from a job (job.sh): JTUI_IP, JTUI_PORT (0: the OS picks), JTUI_RUNTIME

unset CDPATH
# The PATH the profile built, then the plain session's: a command found either way is found.
jtui_append_path "$JTUI_OUTER_PATH"

# A scheduler job (job.sh) gives Jupyter a runtime dir of the job's own, whatever the profile says.
if [ -n "${JTUI_RUNTIME:-}" ]; then
  JUPYTER_RUNTIME_DIR=$JTUI_RUNTIME
  export JUPYTER_RUNTIME_DIR
fi
jtui_os=$(uname -s 2>/dev/null)
jtui_runtime_dir "${JUPYTER_RUNTIME_DIR:-}" "${JUPYTER_DATA_DIR:-}" "${XDG_DATA_HOME:-}" "$HOME" "$jtui_os"
printf 'jtui: runtime dir: %s\n' "$jtui_rt"

cd "$HOME" 2>/dev/null || :
jtui_expand_tilde "$JTUI_ROOT"
root=$jtui_word
case $root in -*) root=./$root ;; esac
cd -- "$root" || {
  printf 'jtui: cannot enter the root directory %s\n' "$root"
  exit 1
}

args=$JTUI_ARGS
allow_root=$JTUI_ALLOW_ROOT
ip=${JTUI_IP:-127.0.0.1}
port=${JTUI_PORT:-8888}
unset JTUI_RUN JTUI_SETUP JTUI_ARGS JTUI_ROOT JTUI_ALLOW_ROOT JTUI_OUTER_PATH JTUI_IP JTUI_PORT JTUI_RUNTIME
# $args holds the command's words, each quoted by jtui (shlex.quote): eval only unquotes them.
eval "set -- $args"
for a do
  shift
  jtui_expand_tilde "$a"
  set -- "$@" "$jtui_word"
done
command -v "$1" >/dev/null 2>&1 || {
  printf 'jtui: command not found: %s\n' "$1"
  exit 127
}
set -- "$@" --no-browser --ip="$ip" --port="$port" --port-retries=50
if [ "$allow_root" = yes ] || { [ "$allow_root" = auto ] && [ "$(id -u)" = 0 ]; }; then
  set -- "$@" --allow-root
fi
exec "$@"
