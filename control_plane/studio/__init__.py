"""The studio: the web app for creators and viewers, served whole by the control plane at
``/studio/`` from the files built into this package (``static/``, built from ``web/``)."""

from control_plane.studio.routes import STUDIO_PREFIX, router

__all__ = ["router", "STUDIO_PREFIX"]
