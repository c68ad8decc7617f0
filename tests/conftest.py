"""Shared fixtures. Service fixtures live in ``tests/support`` and are loaded as plugins."""

pytest_plugins = [
    "support.services",
    "support.s3",
    "support.platform",
    "support.backends",
    "support.music",
    "support.smtp",
    "support.publishers",
    "support.turn",
    "support.payments",
    "support.node_vast",
    "support.webpush",
]
