# jtui probe, the awk that does a sample's work (sent by jtui as probe.sh's awk_prog).
#
# Reads /proc/stat, /proc/loadavg, /proc/meminfo, the runtime files named in
# JT_FILES, nvidia-smi's output (JT_GPU, JT_GPU_APPS), and the process trees
# below the Jupyter servers (JT_SERVER_PIDS) to find their kernels, and
# /proc/net/tcp{,6} for the sockets this user (JT_UID) listens on.  Prints
# the JSON line; keeps in the file JT_STATE the counters for the next
# sample's deltas (one line) and the listening sockets for the next sample to
# reuse ("L" and a JSON array's items).  The state goes through a file, not
# the shell: dash splits a 20 KB string in milliseconds, awk reads it in microseconds.
#
# Counters line, space-separated: cpuN:total:idle (per CPU), kPID:ticks (the
# CPU time of each kernel process), rPID:ratio (its PSS/RSS, read from
# smaps_rollup now and then: reading it walks page tables, milliseconds per
# process and more per GB, so each sample reads it for one process at most,
# in turn, and only below PSS_MAX of RSS; the ratios fill in over samples),
# sINODE:PID / hINODE (the owner of each listening socket, 0 when none
# could be seen, or a kernel's ZMQ socket to leave out: see "listening"),
# lTIME (when the socket tables were last read).

function jstr(s) {
    gsub(/[[:cntrl:]]/, " ", s)            # JSON strings may hold no raw control chars
    s = repl(s, "\\\\", "\\\\")
    s = repl(s, "\"", "\\\"")
    return "\"" s "\""
}
function jlines(s,    n, a, i, x, out) {  # a JSON string keeping the line breaks (as \n)
    n = split(s, a, "\n"); out = ""
    for (i = 1; i <= n; i++) { x = jstr(a[i]); out = out (i > 1 ? "\\n" : "") substr(x, 2, length(x) - 2) }
    return "\"" out "\""
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
function trim(s) { gsub(/^ +| +$/, "", s); return s }
function slurp(f,    l, t) {              # a whole small file, NULs and all (mawk and gawk keep them)
    t = ""
    while ((getline l < f) > 0) t = t l "\n"
    close(f)
    return t
}
function proc_stat(pid,    f, l, x) {     # utime+stime ticks, RSS bytes, start (ticks after boot): T, R, START
    f = P "/" pid "/stat"
    if ((getline l < f) <= 0) { close(f); return 0 }
    close(f)
    sub(/.*\) /, "", l)                   # past the comm, which may hold spaces and parentheses
    split(l, x, " ")
    T[pid] = x[12] + x[13]
    R[pid] = x[22] * PAGE
    START[pid] = x[20]
    return 1
}
function start_time(pid,    l, x) {        # when pid started, in epoch seconds; "" when unknown
    if (!(pid in START) && !proc_stat(pid)) return ""
    if (UPTIME == "") {
        UPTIME = -1
        if ((getline l < (P "/uptime")) > 0) { split(l, x, " "); UPTIME = x[1] + 0 }
        close(P "/uptime")
    }
    if (UPTIME < 0 || HZ <= 0) return ""
    return sprintf("%.0f", now - (UPTIME - START[pid] / HZ))
}
function walk(pid, server, kid, depth,    c, n, i, kids, id) {
    if (depth > 32 || (pid in SEEN)) return
    SEEN[pid] = 1
    if (depth > 0) {
        c = slurp(P "/" pid "/cmdline")
        if (kid == "" && match(c, /kernel-[A-Za-z0-9_.-]+\.json/)) {
            kid = substr(c, RSTART + 7, RLENGTH - 12)
            if (!(kid in KROOT)) { KROOT[kid] = pid; KSERVER[kid] = server; NK++; KORDER[NK] = kid }
        }
        if (kid != "" && proc_stat(pid)) { KPROCS[kid] = KPROCS[kid] " " pid; OWNER[pid] = kid }
    }
    n = split(slurp(P "/" pid "/task/" pid "/children"), kids, " ")
    for (i = 1; i <= n; i++) if (kids[i] ~ /^[0-9]+$/) walk(kids[i], server, kid, depth + 1)
}
function pss_ratio(pid,    f, l, x, pss) {  # PSS/RSS of pid from smaps_rollup; -1 when unreadable
    f = P "/" pid "/smaps_rollup"; pss = -1
    while ((getline l < f) > 0) if (l ~ /^Pss:/) { split(l, x, " "); pss = x[2] * 1024; break }
    close(f)
    if (pss < 0 || R[pid] <= 0) return -1
    return pss / R[pid]
}
function hexval(h,    i, v) {           # hex digits to a number
    v = 0
    for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789ABCDEF", toupper(substr(h, i, 1))) - 1
    return v
}
function ipv4(h,    i, out) {             # /proc/net/tcp's little-endian 8 hex digits
    out = ""
    for (i = 7; i >= 1; i -= 2) out = out (out == "" ? "" : ".") hexval(substr(h, i, 2))
    return out
}
function ipv6(h,    w, i, word, groups, g, parts) {  # 32 hex digits: four little-endian 32-bit words
    groups = ""
    for (w = 0; w < 4; w++) {
        word = substr(h, w * 8 + 1, 8)
        word = substr(word, 7, 2) substr(word, 5, 2) substr(word, 3, 2) substr(word, 1, 2)
        for (i = 1; i <= 8; i += 4) {
            g = sprintf("%x", hexval(substr(word, i, 4)))
            groups = groups (groups == "" ? "" : ":") g
        }
    }
    if (groups == "0:0:0:0:0:0:0:0") return "::"
    if (groups == "0:0:0:0:0:0:0:1") return "::1"
    if (groups ~ /^0:0:0:0:0:ffff:/) return "::ffff:" ipv4(substr(h, 25, 8))
    return groups
}
function sockets_of_pids(    cmd, l, pid, x, inode) {  # socket inode -> pid, for this user's processes
    cmd = "ls -l " P "/[0-9]*/fd/ 2>/dev/null"
    while ((cmd | getline l) > 0) {
        if (l ~ /^\/.*\/fd\/?:$/) { pid = l; sub(/\/fd\/?:$/, "", pid); sub(/.*\//, "", pid); continue }
        if (match(l, /socket:\[[0-9]+\]/)) {  # shared by forked workers: the lowest pid, their parent
            inode = substr(l, RSTART + 8, RLENGTH - 9)
            if (!(inode in SOCKPID) || pid + 0 < SOCKPID[inode] + 0) SOCKPID[inode] = pid
        }
    }
    close(cmd)
}
function kernel_port(pid, port,    c, path, l, n) {  # is port one of the ZMQ ports in pid's kernel-ID.json?
    if (!(pid in KPORTS_READ)) {                 # (any kernel's: one of a server jtui does not know too)
        KPORTS_READ[pid] = 1
        c = slurp(P "/" pid "/cmdline"); gsub(/\000/, "\n", c)
        if (match(c, /[^\n]*kernel-[A-Za-z0-9_.-]+\.json/)) {
            path = substr(c, RSTART, RLENGTH)
            if (match(path, /kernel-[A-Za-z0-9_.-]+\.json$/)) KFILE[pid] = substr(path, RSTART + 7, RLENGTH - 12)
            while ((getline l < path) > 0)
                while (match(l, /_port"[ \t]*:[ \t]*[0-9]+/)) {  # one a line, or all on one
                    n = substr(l, RSTART, RLENGTH); sub(/.*[^0-9]/, "", n); KPORT[pid, n + 0] = 1
                    l = substr(l, RSTART + RLENGTH)
                }
            close(path)
        }
    }
    return ((pid, port) in KPORT)
}
function user_of(pid,    f, l, x, uid) {
    f = P "/" pid "/status"; uid = ""
    while ((getline l < f) > 0) if (l ~ /^Uid:/) { split(l, x, " "); uid = x[2]; break }
    close(f)
    if (uid == "") return ""
    if (!PASSWD_READ) {
        PASSWD_READ = 1
        while ((getline l < "/etc/passwd") > 0) { split(l, x, ":"); NAME[x[3]] = x[1] }
        close("/etc/passwd")
    }
    return (uid in NAME) ? NAME[uid] : uid
}
BEGIN {
    P = ENVIRON["JT_PROC"]; if (P == "") P = "/proc"
    PAGE = ENVIRON["JT_PAGE"] + 0; if (PAGE <= 0) PAGE = 4096
    HZ = ENVIRON["JT_HZ"] + 0; UPTIME = ""
    PSS_MAX = 256 * 1048576               # above this RSS, PSS costs too much to read: RSS stands
    srand(); now = srand()                # srand() returns the previous seed: the time
    out = "{\"v\":1,\"time\":" now ",\"os\":" jstr(ENVIRON["JT_OS"]) ",\"user\":" jstr(ENVIRON["JT_USER"]) ",\"home\":" jstr(ENVIRON["HOME"])

    nd = split(ENVIRON["JT_DIRS"], dl, "\n"); sep = ""; s = ""
    for (i = 1; i <= nd; i++) if (dl[i] != "") { s = s sep jstr(dl[i]); sep = "," }
    out = out ",\"runtime_dirs\":[" s "]"

    # The previous sample's counters: CPUs, kernel processes, PSS ratios.
    SF = ENVIRON["JT_STATE"]; PREV = ""; LISTEN = ""
    if (SF != "") {
        if ((getline PREV < SF) <= 0) PREV = ""
        if ((getline LISTEN < SF) <= 0) LISTEN = ""
        close(SF)
    }
    np = split(PREV, pl, " "); ncpu_prev = 0
    for (i = 1; i <= np; i++) {
        split(pl[i], pf, ":")
        if (pf[1] ~ /^cpu/) { ptot[pf[1]] = pf[2]; pidle[pf[1]] = pf[3]; ncpu_prev++ }
        else if (pf[1] ~ /^k/) pticks[substr(pf[1], 2)] = pf[2]
        else if (pf[1] ~ /^r/) ratio[substr(pf[1], 2)] = pf[2]
    }

    # CPU: deltas of /proc/stat against the previous counters.
    linux = 0; ncpu = 0; state = ""; ok = (ncpu_prev > 0); dtall = 0
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
        if (name == "cpu") { if (dt <= 0) ok = 0; total = pc; dtall = dt }
        else cores[ncpu] = pc
    }
    close(P "/stat")
    if (ncpu + 1 != ncpu_prev) ok = 0
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

    # GPUs: nvidia-smi --query-gpu=index,uuid,name,... --format=csv,noheader,nounits lines.
    if (ENVIRON["JT_GPU_RC"] != "") {
        ng = split(ENVIRON["JT_GPU"], gl, "\n"); s = ""; sep = ""; err = ""
        for (i = 1; i <= ng; i++) {
            m = split(gl[i], gf, ",")
            if (m < 7 || gf[1] !~ /^ *[0-9]+ *$/) { if (err == "" && gl[i] != "") err = gl[i]; continue }
            name = gf[3]; for (k = 4; k <= m - 4; k++) name = name "," gf[k]
            GPU_INDEX[trim(gf[2])] = gf[1] + 0
            s = s sep "{\"index\":" (gf[1] + 0) ",\"name\":" jstr(trim(name)) ",\"util\":" num(gf[m-3]) \
                ",\"mem_used\":" num(gf[m-2]) ",\"mem_total\":" num(gf[m-1]) ",\"temp\":" num(gf[m]) "}"
            sep = ","
        }
        out = out ",\"gpus\":[" s "]"
        if (ENVIRON["JT_GPU_RC"] != "0" || (s == "" && err != ""))
            out = out ",\"gpu_error\":" jstr(substr(err == "" ? "nvidia-smi exited with " ENVIRON["JT_GPU_RC"] : err, 1, 200))
    }

    # Kernels: processes below each server whose command line names kernel-ID.json, with their subtrees.
    NK = 0
    if (linux) {
        ns = split(ENVIRON["JT_SERVER_PIDS"], spl, " ")
        for (i = 1; i <= ns; i++) walk(spl[i], spl[i], "", 0)
    }
    # GPU memory by process: --query-compute-apps=pid,used_memory,gpu_uuid lines.
    na = split(ENVIRON["JT_GPU_APPS"], al, "\n"); s = ""; sep = ""
    for (i = 1; i <= na; i++) {
        if (split(al[i], af, ",") < 3 || af[1] !~ /^ *[0-9]+ *$/) continue
        gpid = af[1] + 0; mib = num(af[2]); uuid = trim(af[3])
        gidx = (uuid in GPU_INDEX) ? GPU_INDEX[uuid] : "null"
        if (gpid in OWNER) {
            kid = OWNER[gpid]; KGPU[kid] += (mib == "null" ? 0 : mib)
            if (gidx != "null" && !((kid, gidx) in KG)) {
                KG[kid, gidx] = 1
                KGPUS[kid] = KGPUS[kid] (KGPUS[kid] == "" ? "" : ",") gidx
            }
            continue
        }
        cmd = slurp(P "/" gpid "/cmdline"); gsub(/[\000\n]+/, " ", cmd); sub(/ +$/, "", cmd)
        s = s sep "{\"pid\":" gpid ",\"gpu\":" gidx ",\"mib\":" mib ",\"user\":" jstr(user_of(gpid)) \
            ",\"command\":" jstr(substr(cmd, 1, 300)) "}"
        sep = ","
    }
    out = out ",\"gpu_processes\":[" s "]"

    # One process's PSS this sample: the first without a ratio, else the next in turn.
    nall = 0; pick = ""
    for (i = 1; i <= NK; i++) {
        n = split(KPROCS[KORDER[i]], kp, " ")
        for (j = 1; j <= n; j++) if (R[kp[j]] <= PSS_MAX) { ALL[++nall] = kp[j]; if (pick == "" && !(kp[j] in ratio)) pick = kp[j] }
    }
    if (pick == "" && nall > 0) pick = ALL[(ENVIRON["JT_N"] + 0) % nall + 1]
    if (pick != "") { r = pss_ratio(pick); if (r >= 0) ratio[pick] = r }

    # Each kernel's figures: CPU from tick deltas (as ps does), memory as PSS where known.
    s = ""; sep = ""
    for (i = 1; i <= NK; i++) {
        kid = KORDER[i]; n = split(KPROCS[kid], kp, " ")
        ticks = 0; known = 1; rss = 0; mem = 0; estimated = 0
        for (j = 1; j <= n; j++) {
            pid = kp[j]
            state = state " k" pid ":" T[pid]
            if (pid in pticks) ticks += T[pid] - pticks[pid]; else known = 0
            rss += R[pid]
            if (pid in ratio) { mem += R[pid] * ratio[pid]; state = state " r" pid ":" sprintf("%.4f", ratio[pid]) }
            else { mem += R[pid]; estimated = 1 }
        }
        cpu = (known && dtall > 0 && ncpu > 0) ? sprintf("%.1f", 100 * ticks / (dtall / ncpu)) : "null"
        s = s sep "{\"id\":" jstr(kid) ",\"pid\":" KROOT[kid] ",\"server\":" KSERVER[kid] ",\"procs\":" n \
            ",\"cpu\":" cpu ",\"rss\":" sprintf("%.0f", rss) ",\"mem\":" sprintf("%.0f", mem) \
            ",\"mem_kind\":\"" (estimated ? "rss" : "pss") "\",\"gpu_mib\":" (KGPU[kid] + 0) \
            ",\"gpus\":[" KGPUS[kid] "]}"
        sep = ","
    }
    out = out ",\"kernels\":[" s "]"

    # This user's listening TCP sockets, with the process holding each. Reading /proc/net/tcp
    # walks the kernel's whole connection hash table (milliseconds on a big host, even with
    # few sockets), so the tables are read every JT_SOCKETS_EVERY seconds; in between, the
    # last list (from JT_STATE) stands. The owners found before come back in the
    # counters line (sINODE:PID, 0 when none could be seen; hINODE for a kernel's own ZMQ
    # port, never listed): the fds are listed again only when a socket jtui has not seen appears.
    np2 = split(PREV, pl, " "); last = -1
    for (i = 1; i <= np2; i++) {
        if (pl[i] ~ /^s/) { split(substr(pl[i], 2), pf, ":"); OWNED[pf[1]] = pf[2] }
        else if (pl[i] ~ /^h/) HIDDEN[substr(pl[i], 2)] = 1
        else if (pl[i] ~ /^l/) last = substr(pl[i], 2) + 0
    }
    if (last >= 0 && now - last < ENVIRON["JT_SOCKETS_EVERY"] + 0 && LISTEN ~ /^L/) {
        s = substr(LISTEN, 2)
        for (i = 1; i <= np2; i++) if (pl[i] ~ /^[sh]/) state = state " " pl[i]
        state = state " l" last
    } else {
        s = ""; sep = ""; scanned = 0; nl = 0
        uid = ENVIRON["JT_UID"]
        for (t = 4; t <= 6; t += 2) {
            table = P "/net/tcp" (t == 6 ? "6" : "")
            first = 1
            while ((getline line < table) > 0) {
                if (first) { first = 0; continue }
                split(line, f, " ")
                if (f[4] != "0A" || f[8] != uid) continue         # 0A: LISTEN
                inode = f[10]
                if (inode in SEENSOCK) continue
                SEENSOCK[inode] = 1
                if (inode in HIDDEN) { state = state " h" inode; continue }
                split(f[2], la, ":")
                nl++; LADDR[nl] = (t == 4 ? ipv4(la[1]) : ipv6(la[1])); LPORT[nl] = hexval(la[2]); LINODE[nl] = inode
            }
            close(table)
        }
        for (i = 1; i <= nl; i++) {
            inode = LINODE[i]; pid = ""
            if ((inode in OWNED) && OWNED[inode] == 0) pid = ""    # looked for before, in vain: not again
            else if ((inode in OWNED) && proc_stat(OWNED[inode])) pid = OWNED[inode]
            else {
                if (!scanned) { sockets_of_pids(); scanned = 1 }
                if (inode in SOCKPID) pid = SOCKPID[inode]
            }
            if (pid != "" && kernel_port(pid, LPORT[i])) { state = state " h" inode; continue }
            kid = (pid in OWNER) ? OWNER[pid] : (pid in KFILE) ? KFILE[pid] : ""
            cmd = ""; since = ""
            state = state " s" inode ":" (pid == "" ? 0 : pid)
            if (pid != "") {
                cmd = slurp(P "/" pid "/cmdline"); gsub(/[\000\n]+/, " ", cmd); sub(/ +$/, "", cmd)
                since = start_time(pid)
            }
            s = s sep "{\"port\":" LPORT[i] ",\"address\":" jstr(LADDR[i]) ",\"pid\":" (pid == "" ? "null" : pid) \
                (kid != "" ? ",\"kernel\":" jstr(kid) : "") (since != "" ? ",\"started\":" since : "") \
                ",\"command\":" jstr(substr(cmd, 1, 500)) "}"
            sep = ","
        }
        state = state " l" now
    }
    listen = s
    out = out ",\"listening\":[" s "]"

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
    out = out ",\"servers\":[" s "]"
    # The scheduler's answer as the shell collected it (slurm_text.parse_probe_text reads it).
    if (ENVIRON["JT_SCHED"] != "") out = out ",\"scheduler\":" jlines(ENVIRON["JT_SCHED"])
    out = out "}"
    if (SF != "") { print state > SF; print "L" listen > SF; close(SF) }
    print out
}
