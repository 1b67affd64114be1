"""The fault kinds, one module per family; importing this package registers all of them.

A new family is one module here, imported below, whose kinds are decorated with
:func:`xmtpd_e2e.faults.registry.register` (see /work/team/H3-registry.md and
``tests/integration/faults/test_fault_contract.py``).
"""

import xmtpd_e2e.faults.kinds.database as database
import xmtpd_e2e.faults.kinds.network as network
import xmtpd_e2e.faults.kinds.process as process
import xmtpd_e2e.faults.kinds.proxy as proxy

__all__ = ["database", "network", "process", "proxy"]
