# shellcheck shell=sh
# shellcheck disable=SC2154 # interval, count, login, dirs, setup, sockets, sched, fmt, sinfo_fields, jobs and awk_prog are set by jtui/core/remote.py
# jtui probe: ONE long-lived remote process that prints a JSON line per interval.
#
# In:  interval  seconds between samples (fractional is fine; 0 = no pause)
#      count     lines to print, then exit; 0 = until the channel closes
#      login     1 = ask the login shell, once, for JUPYTER_RUNTIME_DIR & co
#                (.profile may set them, and jtui starts servers through it)
#      dirs      extra Jupyter runtime dirs to look in, one a line, first = primary
#      setup     the host's setup code, run in the login shell before asking it
#      sockets   seconds between two reads of the socket tables (0: every sample)
#      sched     samples between two questions to the scheduler (Slurm); 0: never ask
#      fmt, sinfo_fields  squeue's and sinfo's formats (jtui/core/schedulers/slurm_text.py)
#      jobs      jtui's jobs dir (~ allowed): a running job's runtime files are in jobs/ID/
#      awk_prog  probe.awk, which does each sample's work
#
# Per sample it forks one awk, one sleep, nvidia-smi (twice, at once) when it
# exists, and stat only when the set of live runtime files changes; everything
# else is shell builtins.  The first line has no CPU figures (they are deltas of /proc/stat).
#
# It ends by itself when the channel closes: stdin EOF is watched (count 0),
# and a failing write to stdout ends the loop.  Its lines are parsed by
# jtui/core/probe.py parse_line; keep the two in step.  JT_PROC (default
# /proc) exists for tests: pointing it elsewhere mimics a host without /proc.

export LC_ALL=C
iv=${interval:-2}
case $iv in '' | *[!0-9.]* | .* | *. | *.*.*) echo "jtui-probe: bad interval: $iv" >&2; exit 2 ;; esac
case $count in '' | *[!0-9]*) echo "jtui-probe: bad count: $count" >&2; exit 2 ;; esac
case $iv in
  *.*) sleep 0.01 2>/dev/null || { iv=${iv%.*}; [ "${iv:-0}" -gt 0 ] || iv=1; } ;;
esac

jtui_os=$(uname -s 2>/dev/null) || jtui_os=unknown
user=${USER:-${LOGNAME:-}}
[ -n "$user" ] || user=$(id -un 2>/dev/null)
page=$(getconf PAGESIZE 2>/dev/null) || page=4096
hz=$(getconf CLK_TCK 2>/dev/null) || hz=100
uid=$(id -u 2>/dev/null)
if stat -c %Y / >/dev/null 2>&1; then stat_fmt='-c'; stat_arg='%Y %n'
elif stat -f %m / >/dev/null 2>&1; then stat_fmt='-f'; stat_arg='%m %N'
else stat_fmt=; stat_arg=
fi

# The login shell, asked once (after the host's setup): jtui starts servers
# through it, and the profile may set JUPYTER_RUNTIME_DIR.  Its output goes
# to a file, not a pipe, so a process the profile leaves behind cannot hold
# us up; a profile that hangs is killed after 5 s.
login_dirs() {
  tmp=$(mktemp 2>/dev/null) || return 0
  jtui_login_shell
  JTUI_SETUP=$setup
  # shellcheck disable=SC2089,SC2090 # sh code for the login shell's sh to eval
  JTUI_RUN='env | grep -E "^(JUPYTER_RUNTIME_DIR|JUPYTER_DATA_DIR|XDG_DATA_HOME|HOME|PATH|SLURM_CONF)="; echo jtui-login-end'
  # shellcheck disable=SC2090
  export JTUI_SETUP JTUI_RUN
  jtui_login_input | "$jtui_sh" -l >"$tmp" 2>/dev/null &
  lp=$!
  (
    ws=
    trap 'kill $ws 2>/dev/null; exit 0' TERM
    # shellcheck disable=SC2217 # a background sleep must hold none of our pipes
    sleep 5 </dev/null >/dev/null 2>&1 &
    ws=$!
    wait $ws && kill -KILL $lp 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  lw=$!
  wait $lp
  kill $lw 2>/dev/null
  wait $lw
  unset JTUI_SETUP JTUI_RUN
  lr='' ld='' lx='' lh=$HOME ok=''
  while IFS= read -r l; do
    case $l in
      JUPYTER_RUNTIME_DIR=*) lr=${l#*=} ;;
      JUPYTER_DATA_DIR=*) ld=${l#*=} ;;
      XDG_DATA_HOME=*) lx=${l#*=} ;;
      HOME=*) lh=${l#*=} ;;
      PATH=*) lpath=${l#*=} ;;
      SLURM_CONF=*) [ -n "${SLURM_CONF:-}" ] || export SLURM_CONF="${l#*=}" ;;
      jtui-login-end) ok=1 ;;
    esac
  done <"$tmp"
  rm -f "$tmp"
  [ -z "$ok" ] || { jtui_runtime_dir "$lr" "$ld" "$lx" "$lh" "$jtui_os"; jtui_add_dir "$jtui_rt"; }
}

# The scheduler's answer in the scheduler section's lines (see slurm_text.parse_probe_text):
# P the PATH it was found on, Q/q squeue's status and lines, I/i sinfo's.  Run in the
# background: a controller that does not answer must not hold a sample up.
slurm_ask() {
  printf 'P%s\n' "$PATH"
  q=$(squeue --me -h -o "$fmt" 2>&1)
  printf 'Q%s\n' "$?"
  [ -z "$q" ] || printf '%s\n' "$q" | sed 's/^/q/'
  i=$(sinfo -h -O "$sinfo_fields" 2>&1)
  printf 'I%s\n' "$?"
  [ -z "$i" ] || printf '%s\n' "$i" | sed 's/^/i/'
}

# Collect slurm_ask's answer (the background run $qp): $sched_text, and jtui's running jobs in $running.
# When squeue failed (a slow or restarting controller), the jobs that ran still do, as far as
# anyone knows: their servers stay listed, and answer, until squeue says otherwise.
sched_read() {
  wait "$qp"
  qp=
  sched_text=$(cat "$sq_out" 2>/dev/null)
  mv -f "$sq_out" "$sq_asked" 2>/dev/null || : >"$sq_asked"  # kept for its time: the last answer's
  case $jtui_nl$sched_text$jtui_nl in
    *"${jtui_nl}Q0$jtui_nl"*)
      running=$(printf '%s\n' "$sched_text" | sed -n 's/^q\([0-9_]*\)|RUNNING|.*|jtui-jupyter$/\1/p') ;;
  esac
}

# The runtime files of jtui's running jobs (in $jobs_dir/ID/, written on the node): $job_files.
job_files() {
  job_files=
  for id in $running; do
    for f in "$jobs_dir/$id"/jpserver-*.json; do
      [ -f "$f" ] && job_files=$job_files$f$jtui_nl
    done
  done
}

# Runtime dirs: one a line, each once, in order of preference.
jtui_dirs=
set -f
IFS=$jtui_nl
for d in $dirs; do jtui_add_dir "$d"; done
unset IFS
set +f
lpath=
[ "$login" != 1 ] || login_dirs
# The login shell's PATH after ours: `module load slurm` in a profile is how many sites set it up.
jtui_append_path "$lpath"
# Slurm: its commands, and a configuration they can read.  Without one, squeue would
# go looking for a controller in DNS (SRV records), every few seconds, on any box that
# merely has slurm-client installed.
slurm=
if [ "${sched:-0}" -gt 0 ] && command -v squeue >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1; then
  for c in "${SLURM_CONF:-}" /etc/slurm/slurm.conf /etc/slurm-llnl/slurm.conf /usr/local/etc/slurm.conf \
    /opt/slurm/etc/slurm.conf /run/slurm/conf/slurm.conf /var/spool/slurmd/conf-cache/slurm.conf; do
    if [ -n "$c" ] && [ -r "$c" ]; then
      slurm=1
      break
    fi
  done
fi
jtui_expand_tilde "${jobs:-}"
jobs_dir=$jtui_word
jtui_add_default_dirs
set -f
IFS=$jtui_nl
# shellcheck disable=SC2086 # one dir a line
set -- $jtui_dirs
unset IFS
set +f


# Stop the watcher and a pending sleep with us; never leave strays behind.
sp='' wp=''
scratch=$(mktemp 2>/dev/null) || scratch=/dev/null
sq_out=$scratch.sched
sq_asked=$scratch.asked
# awk keeps its counters for the next sample here (no file: no deltas, figures from the second sample on are null)
state_file=$scratch.state
[ "$scratch" != /dev/null ] || state_file=
trap 'kill $sp $wp $qp 2>/dev/null; rm -f "$scratch" "$sq_out" "$sq_out.tmp" "$sq_asked" "$state_file"' EXIT
trap 'exit 0' USR1
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE

if [ "$count" = 0 ]; then
  # stdin EOF means the channel is gone: tell the main loop at once.  No
  # busy loop: cat blocks in read().  (Background jobs get /dev/null as
  # stdin unless redirected, hence fd 3.)
  exec 3<&0
  (
    c=
    trap 'kill $c 2>/dev/null; exit 0' TERM
    cat <&3 >/dev/null 2>&1 &
    c=$!
    wait $c
    kill -USR1 $$ 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  wp=$!
  exec 3<&-
fi
exec </dev/null

fkey='' mtimes='' n=0 qp='' sched_text='' running='' job_files=''
[ -z "$slurm" ] || sched_text=W  # Slurm is there, its first answer not yet
while :; do
  if [ -n "$slurm" ]; then
    # The scheduler's last answer once its background run is done (a status report, with
    # count > 0, waits for it); a new question every $sched samples, and at once when a job
    # of jtui's has started since the last answer (its output file and runtime dir appear in
    # the jobs dir): its row then has its node and time left as soon as its Jupyter answers.
    if [ -n "$qp" ] && { [ -f "$sq_out" ] || [ "$count" -gt 0 ]; }; then
      sched_read
    fi
    # shellcheck disable=SC3013 # -nt: in POSIX.1-2024, and in every sh jtui meets (dash, bash, ash, ksh, zsh)
    if [ -z "$qp" ] && { [ $((n % sched)) = 0 ] || [ "$jobs_dir" -nt "$sq_asked" ]; }; then
      { slurm_ask >"$sq_out.tmp" 2>&1; mv -f "$sq_out.tmp" "$sq_out"; } </dev/null &
      qp=$!
      [ "$count" = 0 ] || sched_read
    fi
    job_files
  fi
  # Runtime files whose pid (from the file name) runs: builtins only.
  jtui_find_servers "$@"
  # A job's server runs on its node: its file is listed, its pid (not ours) is not walked for kernels.
  files=$jtui_files$job_files
  # mtimes only when the set of live files changes: one stat for them all.
  if [ "$files" != "$fkey" ]; then
    fkey=$files mtimes=
    if [ -n "$files" ] && [ -n "$stat_fmt" ]; then
      IFS=$jtui_nl
      set -f
      # shellcheck disable=SC2086 # one file a line
      mtimes=$(stat "$stat_fmt" "$stat_arg" -- $files 2>/dev/null)
      unset IFS
      set +f
    fi
  fi
  # The servers' pids, from the runtime file names: the probe looks for kernels below them.
  pids=''
  IFS=$jtui_nl
  set -f
  for f in $jtui_files; do
    f=${f##*/}
    f=${f#*-}
    pids="$pids ${f%.json}"
  done
  unset IFS
  set +f
  gpu='' gpu_rc='' apps=''
  if command -v nvidia-smi >/dev/null 2>&1; then
    # Both queries at once: nvidia-smi takes tens of ms on a real GPU box.
    nvidia-smi --query-compute-apps=pid,used_memory,gpu_uuid --format=csv,noheader,nounits \
      >"$scratch" 2>/dev/null &
    ap=$!
    gpu=$(nvidia-smi --query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu \
      --format=csv,noheader,nounits 2>&1)
    gpu_rc=$?
    wait $ap
    apps=$(cat "$scratch")
  fi
  JT_STATE=$state_file JT_SCHED=$sched_text JT_SOCKETS_EVERY=${sockets:-5} JT_FILES=$files JT_MTIMES=$mtimes JT_GPU=$gpu JT_GPU_RC=$gpu_rc JT_GPU_APPS=$apps \
    JT_SERVER_PIDS=$pids JT_PAGE=$page JT_HZ=$hz JT_N=$n JT_UID=$uid \
    JT_OS=$jtui_os JT_USER=$user JT_DIRS=$jtui_dirs awk "$awk_prog" || exit 1
  n=$((n + 1))
  if [ "$count" -gt 0 ] && [ "$n" -ge "$count" ]; then exit 0; fi
  # shellcheck disable=SC2217 # a background sleep must hold none of our pipes
  sleep "$iv" </dev/null >/dev/null 2>&1 &
  sp=$!
  wait $sp
  sp=
done
