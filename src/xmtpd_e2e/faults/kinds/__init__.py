"""The fault kinds, one module per family; importing this package registers all of them.

A new family is one module here, imported below, whose kinds are decorated with
:func:`xmtpd_e2e.faults.registry.register` (see /work/team/H3-registry.md and
``tests/integration/faults/test_fault_contract.py``).
"""

import xmtpd_e2e.faults.kinds.chain as chain
import xmtpd_e2e.faults.kinds.database as database
import xmtpd_e2e.faults.kinds.membership as membership
import xmtpd_e2e.faults.kinds.misbehaving as misbehaving
import xmtpd_e2e.faults.kinds.network as network
import xmtpd_e2e.faults.kinds.process as process
import xmtpd_e2e.faults.kinds.proxy as proxy
import xmtpd_e2e.faults.kinds.redis as redis

__all__ = ["chain", "database", "membership", "misbehaving", "network", "process", "proxy", "redis"]
