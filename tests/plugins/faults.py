"""Fault injection for the reliability tests, as a plugin (``WORKBENCH_PLUGINS=tests.plugins.faults``):
the production code has no test hooks; a worker started with this plugin runs each job through
:func:`faulty_execute`, which misbehaves for the titles ``WORKBENCH_FAULT_INJECTION`` names.

Rules, comma-separated: ``kill:<title>`` kills the worker process (SIGKILL, as a crashed machine),
``raise:<title>`` raises an unexpected error, ``sleep:<title>:<seconds>`` slows the job down.
"""

from __future__ import annotations

import os
import time

from workbench import jobs

_original = jobs._execute


def faulty_execute(job, progress, on_step, settings):
    for rule in filter(None, os.environ.get("WORKBENCH_FAULT_INJECTION", "").split(",")):
        action, _, rest = rule.partition(":")
        title, _, arg = rest.partition(":")
        if title != job.title_name:
            continue
        if action == "kill":
            os.kill(os.getpid(), 9)
        elif action == "raise":
            raise RuntimeError(f"injected failure for {title}")
        elif action == "sleep":
            time.sleep(float(arg or 5))
    return _original(job, progress, on_step, settings)


jobs._execute = faulty_execute
