"""The scenario catalogue: one module per scenario, each registered with ``@scenario``.

Modules whose name starts with an underscore hold shared set-up, not scenarios.
"""

CATALOGUE_ORDER = (
    "smoke",
    "chaos_node_down",
    "chaos_latency",
    "chaos_network_partition",
    "chaos_connection_reset",
    "chaos_bandwidth_throttle",
    "chaos_compound_fault",
    "chaos_attestation_fault",
    "gateway_scale",
    "gateway_client_flow",
    "payer_lifecycle",
    "multi_payer",
    "settlement_verification",
    "sync_verification",
    "sustained_load",
    "rate_registry_change",
    "stuck_state_detection",
    "large_cluster",
)
"""Upstream's registration order (``list`` and run order), with gateway-client-flow and
large-cluster added."""
