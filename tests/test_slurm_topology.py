"""The cluster as it is on a real site: the compute node reachable from the login node only.

The login node (sshd, slurmctld) and the compute node (slurmd, the job)
each have a network namespace; this machine reaches the login node by a
veth, and the compute node not at all (an `unreachable` guard route makes
the kernel refuse it here, see tests/harness/cluster_net.py). jtui submits
through the login node, and the URL it copies answers: the forward is a
direct TCP channel that the login node's sshd opens to the node.
Needs root and `ip netns` (as CI has).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from jtui.core.schedulers.slurm import JobRequest
from jtui.core.session import HostSession
from jtui.core.settings import Settings
from jtui.core.urls import localhost_url
from tests.harness import slurm as slurm_harness
from tests.harness.cluster_net import ComputeNode, nsenter_launch
from tests.harness.http import get
from tests.harness.netns import Netns, NetnsSshServer, NetnsUnavailable
from tests.harness.require import unavailable
from tests.test_sessions import Recorder

pytestmark = pytest.mark.integration


@pytest.fixture
def site(tmp_path):
    why = slurm_harness.missing()
    if why:
        unavailable(why)
    try:
        login = Netns.create()
    except NetnsUnavailable as exc:
        unavailable(str(exc))
    node = sshd = cluster = None
    pids: list[int] = []
    try:
        node = ComputeNode.behind(login)
        cluster = slurm_harness.Cluster(tmp_path / "cluster", ctld_addr=node.login_addr, node_addr=node.addr,
                                        client_netns=login.name)
        cluster.start(nsenter_launch({"slurmctld": login.name, "slurmd": node.name}, pids))
        sshd = NetnsSshServer(tmp_path / "sshd", netns=login, env=cluster.env)
        sshd.start()
        yield login, node, cluster, sshd
    finally:
        try:
            if sshd is not None:
                sshd.stop()
            if cluster is not None:
                cluster.stop()
        finally:
            if node is not None:
                node.cleanup()
            login.cleanup()
    assert not login.guard_exists() and not node.network.overlaps(login.network)


async def test_the_url_answers_through_the_login_node_only(site):
    login, node, cluster, sshd = site
    assert node.unreachable_from_here(), "the compute node must not be reachable from this machine"
    rec = Recorder()
    session = HostSession("testhost", [str(sshd.config_file)], Settings().for_host("testhost"), 0.5, rec)
    session.start()
    try:
        await rec.wait(lambda: rec.samples and rec.samples[-1].scheduler is not None
                       and rec.samples[-1].scheduler.partitions, 60)
        job = await session.submit_job(JobRequest(time="10"))
        started = await asyncio.wait_for(session.wait_job(job), 120)
        server = started.server
        assert server.hostname == node.addr, "Jupyter listens on the node's own address"
        assert node.unreachable_from_here(server.port), "its port is refused here: only the login node reaches it"
        forward = await session.forward(server)
        url = localhost_url(server, forward.local_port)
        assert await asyncio.to_thread(get, url.replace("localhost", "127.0.0.1")) == 200
        # the job really runs in the compute node's namespace
        inside = {int(p) for p in os.popen(f"ip netns pids {node.name}").read().split()}
        assert server.pid in inside
    finally:
        await session.close()
