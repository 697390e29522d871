"""A Dask worker preload for ``tests/test_cluster.py``: the worker dies (SIGKILL to its own pid) as it
starts the grading task of the submission numbered ``AUTOGRADER_TEST_POISON``, each time, on every worker.
"""

import os
import signal

from distributed.diagnostics.plugin import WorkerPlugin


class Poison(WorkerPlugin):
    name = "autograder-test-poison"

    def transition(self, key, start, finish, **kwargs):
        poison = f"-{os.environ['AUTOGRADER_TEST_POISON']}"
        if finish == "executing" and str(key).startswith("autograder-") and str(key).endswith(poison):
            os.kill(os.getpid(), signal.SIGKILL)


async def dask_setup(worker):
    await worker.plugin_add(Poison())
