"""Batch schedulers: Jupyter as a job on a compute node, reached through the login node.

One module per scheduler. Each gives the same few things, so PBS Pro or LSF
would be one more module beside `slurm`:

- the text the probe collects on the login node (its queue and partitions)
  read into a `model.Scheduler` (pure functions, `*_text.py`);
- a launcher that submits the job script, follows the job until its
  Jupyter answers, and cancels it, through jtui's one transport (remote.py).

The node side is the scheduler's job script (sh/job.sh): the user's login
shell and setup, then Jupyter on the node's own address and a port the OS
picks, with its runtime file in a directory of the job's own.
"""
