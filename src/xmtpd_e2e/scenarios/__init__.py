"""The scenario catalogue: one module per scenario, each registered with ``@scenario``.

Modules whose name starts with an underscore hold shared set-up, not scenarios.
"""
