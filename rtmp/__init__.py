"""Social Flow: rtmp."""
