"""The payments domain: memberships, tips and payouts on a double-entry ledger.

``domain.build_payments`` wires it (``control_plane.services``); ``ledger`` books money,
``memberships`` and ``tips`` start payments, ``webhooks`` applies the provider's events exactly
once, ``payouts`` shares revenue by watch time and pays creators, ``providers`` holds Stripe and
the local provider. This package's ``__init__`` imports nothing, so the settings can validate
``SOCIALFLOW_PAYMENTS_URL`` with ``payments.config`` without importing the domain.
"""
