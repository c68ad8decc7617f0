"""Social Flow: control_plane."""
