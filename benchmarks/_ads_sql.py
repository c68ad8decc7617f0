"""The straightforward alternative to the decision index: one SQL query per decision that filters
the campaigns by their targeting, schedule, exclusions and creatives, best bid first (SQLite's
JSON functions over the same ``ad_campaigns`` rows the API writes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from control_plane.ads.index import CampaignEntry, DecisionIndex, Request
from control_plane.ads.server import AdServer

__all__ = ["SQL_FILTER", "SqlAdServer"]


def _listed(field: str, param: str) -> str:
    return (
        f"(coalesce(json_array_length(c.targeting, '$.{field}'), 0) = 0 OR EXISTS "
        f"(SELECT 1 FROM json_each(c.targeting, '$.{field}') "
        f"WHERE value IN (SELECT value FROM json_each(:{param}))))"
    )


SQL_FILTER = f"""
SELECT c.id FROM ad_campaigns c
WHERE c.status = 'active' AND c.starts_at <= :now AND (c.ends_at IS NULL OR c.ends_at > :now)
  AND (coalesce(json_array_length(c.targeting, '$.countries'), 0) = 0 OR EXISTS
       (SELECT 1 FROM json_each(c.targeting, '$.countries') WHERE value = :country))
  AND (coalesce(json_array_length(c.targeting, '$.devices'), 0) = 0 OR EXISTS
       (SELECT 1 FROM json_each(c.targeting, '$.devices') WHERE value = :device))
  AND {_listed("audiences", "audiences")}
  AND {_listed("interests", "interests")}
  AND ((json_extract(c.targeting, '$.age_min') IS NULL AND json_extract(c.targeting, '$.age_max') IS NULL)
       OR (:age IS NOT NULL AND coalesce(json_extract(c.targeting, '$.age_min'), 0) <= :age
           AND coalesce(json_extract(c.targeting, '$.age_max'), 999) >= :age))
  AND NOT EXISTS (SELECT 1 FROM json_each(c.excluded_categories) WHERE value = :category)
  AND EXISTS (SELECT 1 FROM ad_creatives k JOIN videos v ON v.id = k.video_id
              WHERE k.campaign_id = c.id AND k.status = 'approved' AND k.mp4 IS NOT NULL
                AND v.status = 'ready')
ORDER BY c.cpm_bid DESC
"""


class SqlAdServer(AdServer):
    """The same server, its candidates read by :data:`SQL_FILTER` at every decision."""

    def candidates(self, index: DecisionIndex, request: Request, now: float) -> Iterator[CampaignEntry]:
        import json

        moment = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        params: dict[str, Any] = {
            "now": moment,
            "country": request.country,
            "device": request.device,
            "audiences": json.dumps(sorted(request.audiences)),
            "interests": json.dumps(sorted(request.interests)),
            "age": request.age,
            "category": request.category,
        }
        with self.db.engine.connect() as conn:
            ids = [row[0] for row in conn.execute(sa.text(SQL_FILTER), params)]
        keep = self.pacer.keep()
        spent = self.spent_mask
        for campaign_id in ids:
            entry = self._entries.get(campaign_id)
            if entry is None or entry.advertiser_id in request.hidden:
                continue
            bit = index.positions.get(campaign_id)
            if bit is not None and spent >> bit & 1:
                continue
            if keep(entry):
                yield entry
