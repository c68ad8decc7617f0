"""The accounts domain's HTTP routes."""
