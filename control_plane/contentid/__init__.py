"""Content-ID on the platform: references, claims, disputes and the policy a claim applies."""

from control_plane.contentid.keys import fingerprint_key
from control_plane.contentid.service import CLAIM_MIN_SECONDS, ClaimMatch, ClaimService, claim_hold

__all__ = ["CLAIM_MIN_SECONDS", "ClaimMatch", "ClaimService", "claim_hold", "fingerprint_key"]
