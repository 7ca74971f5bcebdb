"""Real-time scheduling for the control processes (Linux).

``SCHED_FIFO`` lets the node's control loop and its DDS threads preempt everything else
on the computer, which is what keeps the 2 ms period steady while other programs run.
It needs root or CAP_SYS_NICE; without it the process keeps normal scheduling and says
so. Call it before creating DDS entities: threads started later inherit the policy.
"""

from __future__ import annotations

import os
import sys


def use_realtime(priority: int) -> bool:
    """SCHED_FIFO at ``priority`` (1-99) for this process; 0 leaves scheduling alone.
    Returns whether real-time scheduling is on."""
    if priority == 0:
        return False
    if not 1 <= priority <= 99:
        raise ValueError(f"real-time priority must be 1-99 (or 0 for none), got {priority}")
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, AttributeError, OSError) as e:
        print(f"warning: no real-time scheduling ({e}); running with normal priority",
              file=sys.stderr)  # fmt: skip
        return False
    return True
