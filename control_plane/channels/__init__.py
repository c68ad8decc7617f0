"""Channels: a user's public profile, its avatar, its counts, and closing an account."""
