"""Content-ID on the platform: references, claims, disputes and the policy a claim applies."""

from control_plane.contentid.claims import ClaimService, blocking_claims, settle_video_status

__all__ = ["ClaimService", "blocking_claims", "settle_video_status"]
