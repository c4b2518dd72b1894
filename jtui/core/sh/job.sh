# shellcheck shell=sh
# shellcheck disable=SC2154 # the variables below are set by jtui/core/remote.py
# jtui job: the batch script of a Jupyter job; the scheduler runs it on the compute node.
#
# In:  args, root, setup, allow_root, launch (as for start.sh), jobs (jtui's jobs dir)
# Out: Jupyter's log, in the job's output file (its URL with the token, for
#      sites where the login node cannot read the node's runtime files).
#
# Jupyter listens on the node's address as the controller knows it (NodeAddr:
# what the login node connects to), never 0.0.0.0, on a port the OS picks
# (--port=0, nothing derived from the job id), with a token of its own
# making (none travels in this script, which the scheduler keeps). Its
# runtime file goes to jobs/ID/, where jtui's probe on the login node reads it.

id=${SLURM_JOB_ID:-$$}
node=${SLURMD_NODENAME:-$(hostname)}
addr=$(scontrol show node -o "$node" 2>/dev/null | sed -n 's/.* NodeAddr=\([^ ]*\) .*/\1/p')
[ -n "$addr" ] || addr=$(hostname)
jtui_expand_tilde "$jobs"
dir=$jtui_word/$id
(umask 077 && mkdir -p "$dir") || {
  printf 'jtui: cannot create %s on %s\n' "$dir" "$node"
  exit 1
}
printf 'jtui: job %s on %s, listening on %s\n' "$id" "$node" "$addr"

unset JUPYTER_TOKEN
jtui_launch_env
JTUI_IP=$addr
JTUI_PORT=0
JTUI_RUNTIME=$dir
export JTUI_IP JTUI_PORT JTUI_RUNTIME

jtui_login_shell
# Not detached: the job lasts as long as Jupyter does, and ends it when cancelled.
jtui_login_input | "$jtui_sh" -l 2>&1
