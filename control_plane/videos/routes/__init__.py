"""The video domain's HTTP routes: the videos API and the playback files."""
