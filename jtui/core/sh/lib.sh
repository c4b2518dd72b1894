# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # jtui_* are set here for the scripts, and $jtui_os by them
# jtui's shell library: the rules that several of jtui's remote scripts share.
#
# jtui/core/remote.py sends this file ahead of every script, then the
# script's variables, then the script itself, all on stdin to /bin/sh: POSIX
# sh only, no bash, whatever the user's login shell is.  Functions here set
# variables (jtui_*) instead of printing, so callers need no $(...) fork.

jtui_nl='
'
jtui_setup_failed='jtui: the setup commands failed'

# jtui_say KEY VALUE: a `jtui-KEY=VALUE` line, the way scripts answer jtui.
jtui_say() {
  printf 'jtui-%s=%s\n' "$1" "$2"
}

# jtui_alive PID: true when the process runs (it exists and is no zombie),
# whoever owns it.  JT_PROC (default /proc) lets tests mimic a host
# without /proc, where kill -0 and ps decide instead.
jtui_alive() {
  case $1 in '' | 0* | *[!0-9]*) return 1 ;; esac
  _jp=${JT_PROC:-/proc}
  if [ -d "$_jp/1" ]; then
    [ -r "$_jp/$1/stat" ] || return 1
    IFS= read -r _js <"$_jp/$1/stat" || return 1
    _js=${_js##*) }
    [ "${_js%% *}" != Z ]
  else
    kill -0 "$1" 2>/dev/null || ps -p "$1" >/dev/null 2>&1
  fi
}

# jtui_runtime_dir JUPYTER_RUNTIME_DIR JUPYTER_DATA_DIR XDG_DATA_HOME HOME OS:
# the Jupyter runtime dir by jupyter_core's rule, in $jtui_rt.
jtui_runtime_dir() {
  if [ -n "$1" ]; then
    jtui_rt=$1
  elif [ -n "$2" ]; then
    jtui_rt=$2/runtime
  elif [ "$5" = Darwin ]; then
    jtui_rt=$4/Library/Jupyter/runtime
  else
    jtui_rt=${3:-$4/.local/share}/jupyter/runtime
  fi
}

# jtui_add_dir DIR: append DIR to $jtui_dirs (one a line, each once, absolute only).
jtui_add_dir() {
  case $1 in /*) ;; *) return 0 ;; esac
  case $1 in *"$jtui_nl"*) return 0 ;; esac
  case $jtui_nl$jtui_dirs in *"$jtui_nl$1$jtui_nl"*) return 0 ;; esac
  jtui_dirs=$jtui_dirs$1$jtui_nl
}

# jtui_add_default_dirs: the runtime dir this environment gives, then the
# other places Jupyter uses (jupyter_core's platform dirs, macOS).  Needs $jtui_os.
jtui_add_default_dirs() {
  jtui_runtime_dir "${JUPYTER_RUNTIME_DIR:-}" "${JUPYTER_DATA_DIR:-}" "${XDG_DATA_HOME:-}" "$HOME" "$jtui_os"
  jtui_add_dir "$jtui_rt"
  jtui_add_dir "${XDG_DATA_HOME:-$HOME/.local/share}/jupyter/runtime"
  [ ! -d "$HOME/Library/Jupyter/runtime" ] || jtui_add_dir "$HOME/Library/Jupyter/runtime"
  if [ -d /run/user ]; then
    _ju=$(id -u 2>/dev/null)
    [ ! -d "/run/user/$_ju/jupyter" ] || jtui_add_dir "/run/user/$_ju/jupyter"
  fi
}

# jtui_find_servers DIR...: the runtime files in DIRs whose server runs, one a
# line, in $jtui_files.  The pid comes from the file name (jpserver-PID.json).
jtui_find_servers() {
  jtui_files=
  for _jd do
    for _jf in "$_jd"/jpserver-*.json "$_jd"/nbserver-*.json; do
      [ -f "$_jf" ] || continue
      case $_jf in *"$jtui_nl"*) continue ;; esac
      _jpid=${_jf##*/}
      _jpid=${_jpid#*-}
      jtui_alive "${_jpid%.json}" || continue
      jtui_files=$jtui_files$_jf$jtui_nl
    done
  done
}

# jtui_expand_tilde WORD: WORD with a leading ~ or ~user expanded, in $jtui_word.
jtui_expand_tilde() {
  # shellcheck disable=SC2088 # a literal ~ is what is matched
  case $1 in
    '~') jtui_word=$HOME ;;
    '~/'*) jtui_word=$HOME/${1#??} ;;
    '~'*)
      _jn=${1#?}
      _jr=
      case $_jn in */*) _jr=/${_jn#*/} _jn=${_jn%%/*} ;; esac
      case $_jn in
        [A-Za-z_]*) ;;
        *) jtui_word=$1; return 0 ;;
      esac
      case $_jn in *[!A-Za-z0-9._-]*) jtui_word=$1; return 0 ;; esac
      # The name is a plain user name (checked above): eval only expands it.
      _jh=
      eval "_jh=~$_jn"
      if [ "$_jh" = "~$_jn" ]; then jtui_word=$1; else jtui_word=$_jh$_jr; fi
      ;;
    *) jtui_word=$1 ;;
  esac
}

# jtui_append_path DIRS: each directory of the colon-separated DIRS that $PATH
# lacks, appended to it (and PATH exported): a command found either way is found.
jtui_append_path() {
  set -f
  IFS=:
  for _jd in $1; do
    case ":$PATH:" in *:"$_jd":*) ;; *) [ -n "$_jd" ] && PATH=$PATH:$_jd ;; esac
  done
  unset IFS
  set +f
  export PATH
}

# jtui_launch_env: what launch.sh reads, exported from start.sh's and job.sh's
# variables (launch, setup, args, root, allow_root) and this PATH.
jtui_launch_env() {
  JTUI_RUN=$launch
  JTUI_SETUP=$setup
  JTUI_ARGS=$args
  JTUI_ROOT=$root
  JTUI_ALLOW_ROOT=$allow_root
  JTUI_OUTER_PATH=$PATH
  export JTUI_RUN JTUI_SETUP JTUI_ARGS JTUI_ROOT JTUI_ALLOW_ROOT JTUI_OUTER_PATH
  unset launch
}

# jtui_login_shell: the user's login shell in $jtui_sh, and the language it
# reads in $jtui_dialect (sh, fish or csh).  A shell jtui cannot speak is
# replaced by /bin/sh, which still reads ~/.profile.
jtui_login_shell() {
  jtui_sh=${SHELL:-/bin/sh}
  case ${jtui_sh##*/} in
    csh | tcsh) jtui_dialect=csh ;;
    fish) jtui_dialect=fish ;;
    sh | ash | dash | bash | ksh | ksh93 | mksh | pdksh | zsh | yash | posh | busybox) jtui_dialect='sh' ;;
    *) jtui_sh=/bin/sh jtui_dialect=sh ;;
  esac
  [ -x "$jtui_sh" ] || jtui_sh=/bin/sh jtui_dialect=sh
}

# jtui_login_input: the lines the login shell ($jtui_sh -l) reads on stdin:
# $JTUI_SETUP (the user's own code, in their shell's language), a check that
# it worked, then sh running $JTUI_RUN with the environment the profile built.
# Nothing goes on a command line: tcsh accepts no -c next to -l, and neither
# tcsh nor fish read a multi-line quoted value the way sh does.  Each line
# below means the same in sh, bash, zsh, fish and tcsh.
jtui_login_input() {
  if [ -n "${JTUI_SETUP:-}" ]; then
    printf '%s\n' "$JTUI_SETUP"
    _jfail="exec /bin/sh -c 'echo \"$jtui_setup_failed\"; exit 1'"
    # shellcheck disable=SC2016 # $status and $? are the login shell's, not ours
    case $jtui_dialect in
      csh) printf 'if ($status != 0) %s\n' "$_jfail" ;;
      fish) printf 'if test $status -ne 0; %s; end\n' "$_jfail" ;;
      *) printf '[ "$?" = 0 ] || %s\n' "$_jfail" ;;
    esac
  fi
  # shellcheck disable=SC2016 # $JTUI_RUN is expanded by that sh, from its environment
  printf '%s\n' 'exec /bin/sh -c '\''eval "$JTUI_RUN"'\'' </dev/null'
}
