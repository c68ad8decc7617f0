"""Content-ID on the platform: references, claims, disputes and the policy a claim applies."""

from control_plane.contentid.keys import fingerprint_key
from control_plane.contentid.service import ClaimMatch, ClaimService, claim_hold

__all__ = ["ClaimMatch", "ClaimService", "claim_hold", "fingerprint_key"]
