# shellcheck shell=sh
# shellcheck disable=SC2154 # the variables below are set by jtui/core/remote.py
# jtui slurm: submit, follow and cancel jtui's Jupyter jobs on the login node.
#
# In:  op     submit, job or cancel
#      path   the login shell's PATH (from the probe): where sbatch & co are
#      jobs   jtui's jobs dir (~ allowed): ID.out is a job's output, ID/ its runtime dir
#      submit: opts (sbatch options, sh words quoted by jtui), name, script (the batch script)
#      job:    id, fmt (squeue's format), output (head: the output's first lines too)
#      cancel: id
# Out: submit: jtui-id=, or jtui-rc= and sbatch's own message after jtui-said;
#      job: jtui-rc= and squeue's line after jtui-squeue; the runtime file as
#      jtui-file=PATH, its text, jtui-end; once the job is neither pending nor
#      running, scontrol's record after jtui-scontrol and the output's tail after jtui-tail;
#      cancel: jtui-rc= and scancel's message after jtui-said.

jtui_append_path "$path"
jtui_expand_tilde "$jobs"
jobs=$jtui_word

case $op in
  submit)
    (umask 077 && mkdir -p "$jobs") || {
      jtui_say rc 1
      echo jtui-said
      echo "cannot create $jobs on the login node"
      exit 0
    }
    eval "set -- $opts"
    # The output file is the user's alone: it holds Jupyter's URL with its token.
    umask 077
    err=$(mktemp) || exit 1
    out=$(printf '%s\n' "$script" | sbatch --parsable --job-name="$name" --output="$jobs/%j.out" "$@" 2>"$err")
    rc=$?
    if [ "$rc" = 0 ] && [ -n "$out" ]; then
      jtui_say id "${out%%;*}"
    else
      jtui_say rc "$rc"
      echo jtui-said
      cat -- "$err"
    fi
    rm -f -- "$err"
    ;;
  job)
    case $id in '' | *[!0-9_]*) jtui_say rc 2; exit 0 ;; esac
    q=$(squeue -h -j "$id" -o "$fmt" 2>&1)
    jtui_say rc "$?"
    echo jtui-squeue
    printf '%s\n' "$q"
    for f in "$jobs/$id"/jpserver-*.json; do
      [ -f "$f" ] || continue
      jtui_say file "$f"
      cat -- "$f"
      printf '\njtui-end\n'
      break
    done
    if [ "$output" = head ]; then
      echo jtui-head
      head -n 100 -- "$jobs/$id.out" 2>/dev/null
      echo jtui-head-end
    fi
    case $q in
      "$id|PENDING|"* | "$id|RUNNING|"* | "$id|CONFIGURING|"*) ;;
      *)
        echo jtui-scontrol
        scontrol show job -o "$id" 2>&1
        echo jtui-tail
        tail -n 20 -- "$jobs/$id.out" 2>/dev/null
        ;;
    esac
    ;;
  cancel)
    case $id in '' | *[!0-9_]*) jtui_say rc 2; exit 0 ;; esac
    said=$(scancel "$id" 2>&1)
    jtui_say rc "$?"
    echo jtui-said
    printf '%s\n' "$said"
    ;;
  *)
    jtui_say rc 2
    ;;
esac
exit 0
