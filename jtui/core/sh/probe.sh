# shellcheck shell=sh
# shellcheck disable=SC2154 # interval, count, login, dirs and setup are set by jtui/core/remote.py
# jtui probe: ONE long-lived remote process that prints a JSON line per interval.
#
# In:  interval  seconds between samples (fractional is fine; 0 = no pause)
#      count     lines to print, then exit; 0 = until the channel closes
#      login     1 = ask the login shell, once, for JUPYTER_RUNTIME_DIR & co
#                (.profile may set them, and jtui starts servers through it)
#      dirs      extra Jupyter runtime dirs to look in, one a line, first = primary
#      setup     the host's setup code, run in the login shell before asking it
#
# Per sample it forks one awk, one sleep, nvidia-smi when it exists, and stat
# only when the set of live runtime files changes; everything else is shell
# builtins.  The first line has no CPU figures (they are deltas of /proc/stat).
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
  JTUI_RUN='env | grep -E "^(JUPYTER_RUNTIME_DIR|JUPYTER_DATA_DIR|XDG_DATA_HOME|HOME)="; echo jtui-login-end'
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
      jtui-login-end) ok=1 ;;
    esac
  done <"$tmp"
  rm -f "$tmp"
  [ -z "$ok" ] || { jtui_runtime_dir "$lr" "$ld" "$lx" "$lh" "$jtui_os"; jtui_add_dir "$jtui_rt"; }
}

# Runtime dirs: one a line, each once, in order of preference.
jtui_dirs=
set -f
IFS=$jtui_nl
for d in $dirs; do jtui_add_dir "$d"; done
unset IFS
set +f
[ "$login" != 1 ] || login_dirs
jtui_add_default_dirs
set -f
IFS=$jtui_nl
# shellcheck disable=SC2086 # one dir a line
set -- $jtui_dirs
unset IFS
set +f

# The awk that does a sample's work: /proc/stat, /proc/loadavg, /proc/meminfo,
# the runtime files named in JT_FILES, nvidia-smi's output in JT_GPU.  It
# prints the CPU counters for the next delta, a newline, then the JSON line.
awk_prog='
function jstr(s) {
    gsub(/[[:cntrl:]]/, " ", s)            # JSON strings may hold no raw control chars
    s = repl(s, "\\\\", "\\\\")
    s = repl(s, "\"", "\\\"")
    return "\"" s "\""
}
function repl(s, re, by,    n, a, i, out) {  # split+join: no gsub replacement quirks
    n = split(s, a, re)
    out = a[1]
    for (i = 2; i <= n; i++) out = out by a[i]
    return out
}
function num(s) {                         # a plain number from nvidia-smi, else null
    gsub(/^ +| +$/, "", s)
    if (s ~ /^-?[0-9]+(\.[0-9]+)?$/) return s + 0
    return "null"
}
BEGIN {
    P = ENVIRON["JT_PROC"]; if (P == "") P = "/proc"
    srand(); now = srand()                # srand() returns the previous seed: the time
    out = "{\"v\":1,\"time\":" now ",\"os\":" jstr(ENVIRON["JT_OS"]) ",\"user\":" jstr(ENVIRON["JT_USER"]) ",\"home\":" jstr(ENVIRON["HOME"])

    nd = split(ENVIRON["JT_DIRS"], dl, "\n"); sep = ""; s = ""
    for (i = 1; i <= nd; i++) if (dl[i] != "") { s = s sep jstr(dl[i]); sep = "," }
    out = out ",\"runtime_dirs\":[" s "]"

    # CPU: deltas of /proc/stat against the previous counters (JT_PREV).
    np = split(ENVIRON["JT_PREV"], pl, " ")
    for (i = 1; i <= np; i++) { split(pl[i], pf, ":"); ptot[pf[1]] = pf[2]; pidle[pf[1]] = pf[3] }
    linux = 0; ncpu = 0; state = ""; ok = (np > 0)
    while ((getline line < (P "/stat")) > 0) {
        if (line !~ /^cpu/) break
        linux = 1
        nf = split(line, f, " ")
        tot = 0; for (i = 2; i <= 9 && i <= nf; i++) tot += f[i]   # guest is inside user
        idle = f[5] + f[6]
        name = f[1]
        if (name != "cpu") ncpu++
        state = state (state == "" ? "" : " ") name ":" sprintf("%.0f", tot) ":" sprintf("%.0f", idle)
        if (!(name in ptot)) { ok = 0; continue }
        dt = tot - ptot[name]; di = idle - pidle[name]
        pc = dt > 0 ? 100 * (dt - di) / dt : 0
        if (pc < 0) pc = 0; if (pc > 100) pc = 100
        if (name == "cpu") { if (dt <= 0) ok = 0; total = pc }
        else cores[ncpu] = pc
    }
    close(P "/stat")
    if (ncpu + 1 != np) ok = 0
    if (linux) {
        out = out ",\"cores\":" ncpu
        if (ok) {
            out = out ",\"cpu\":" sprintf("%.1f", total) ",\"cpus\":["
            for (i = 1; i <= ncpu; i++) out = out (i > 1 ? "," : "") sprintf("%.1f", cores[i])
            out = out "]"
        }
        if ((getline line < (P "/loadavg")) > 0) {
            split(line, f, " ")
            out = out ",\"load\":[" sprintf("%.2f,%.2f,%.2f", f[1], f[2], f[3]) "]"
        }
        close(P "/loadavg")
        mt = -1; ma = -1; mf = 0; mb = 0; mc = 0; st = -1; sf = 0
        while ((getline line < (P "/meminfo")) > 0) {
            split(line, f, " ")
            if (f[1] == "MemTotal:") mt = f[2] * 1024
            else if (f[1] == "MemAvailable:") ma = f[2] * 1024
            else if (f[1] == "MemFree:") mf = f[2] * 1024
            else if (f[1] == "Buffers:") mb = f[2] * 1024
            else if (f[1] == "Cached:") mc = f[2] * 1024
            else if (f[1] == "SwapTotal:") st = f[2] * 1024
            else if (f[1] == "SwapFree:") sf = f[2] * 1024
        }
        close(P "/meminfo")
        if (mt >= 0) {
            if (ma < 0) ma = mf + mb + mc           # kernels before 3.14
            if (ma > mt) ma = mt
            out = out sprintf(",\"mem_total\":%.0f,\"mem_used\":%.0f,\"mem_available\":%.0f", mt, mt - ma, ma)
        }
        if (st >= 0) out = out sprintf(",\"swap_total\":%.0f,\"swap_used\":%.0f", st, st > sf ? st - sf : 0)
    }

    # GPUs: nvidia-smi --format=csv,noheader,nounits lines.
    if (ENVIRON["JT_GPU_RC"] != "") {
        ng = split(ENVIRON["JT_GPU"], gl, "\n"); s = ""; sep = ""; err = ""
        for (i = 1; i <= ng; i++) {
            m = split(gl[i], gf, ",")
            if (m < 6 || gf[1] !~ /^ *[0-9]+ *$/) { if (err == "" && gl[i] != "") err = gl[i]; continue }
            name = gf[2]; for (k = 3; k <= m - 4; k++) name = name "," gf[k]
            gsub(/^ +| +$/, "", name)
            s = s sep "{\"index\":" (gf[1] + 0) ",\"name\":" jstr(name) ",\"util\":" num(gf[m-3]) \
                ",\"mem_used\":" num(gf[m-2]) ",\"mem_total\":" num(gf[m-1]) ",\"temp\":" num(gf[m]) "}"
            sep = ","
        }
        out = out ",\"gpus\":[" s "]"
        if (ENVIRON["JT_GPU_RC"] != "0" || (s == "" && err != ""))
            out = out ",\"gpu_error\":" jstr(substr(err == "" ? "nvidia-smi exited with " ENVIRON["JT_GPU_RC"] : err, 1, 200))
    }

    # Jupyter runtime files (their pid checked alive by the shell).
    nm = split(ENVIRON["JT_MTIMES"], ml, "\n")
    for (i = 1; i <= nm; i++) { k = index(ml[i], " "); if (k > 1) mtime[substr(ml[i], k + 1)] = substr(ml[i], 1, k - 1) }
    nfile = split(ENVIRON["JT_FILES"], fl, "\n"); s = ""; sep = ""
    for (i = 1; i <= nfile; i++) {
        file = fl[i]
        if (file == "") continue
        text = ""; big = 0
        while ((getline line < file) > 0) {
            text = text line " "
            if (length(text) > 65536) { big = 1; break }
        }
        close(file)
        s = s sep "{\"file\":" jstr(file) ",\"mtime\":" (file in mtime ? mtime[file] + 0 : "null")
        s = s (big ? ",\"big\":true,\"text\":\"\"}" : ",\"text\":" jstr(text) "}")
        sep = ","
    }
    out = out ",\"servers\":[" s "]}"
    print state
    print out
}'

# Stop the watcher and a pending sleep with us; never leave strays behind.
sp='' wp=''
trap 'kill $sp $wp 2>/dev/null' EXIT
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

prev='' fkey='' mtimes='' n=0
while :; do
  # Runtime files whose pid (from the file name) runs: builtins only.
  jtui_find_servers "$@"
  files=$jtui_files
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
  gpu='' gpu_rc=''
  if command -v nvidia-smi >/dev/null 2>&1; then
    gpu=$(nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu \
      --format=csv,noheader,nounits 2>&1)
    gpu_rc=$?
  fi
  out=$(JT_PREV=$prev JT_FILES=$files JT_MTIMES=$mtimes JT_GPU=$gpu JT_GPU_RC=$gpu_rc \
    JT_OS=$jtui_os JT_USER=$user JT_DIRS=$jtui_dirs awk "$awk_prog") || exit 1
  prev=${out%%"$jtui_nl"*}
  printf '%s\n' "${out#*"$jtui_nl"}" || exit 1
  n=$((n + 1))
  if [ "$count" -gt 0 ] && [ "$n" -ge "$count" ]; then exit 0; fi
  # shellcheck disable=SC2217 # a background sleep must hold none of our pipes
  sleep "$iv" </dev/null >/dev/null 2>&1 &
  sp=$!
  wait $sp
  sp=
done
