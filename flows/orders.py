"""The 12345 hotline's work orders as the dispatcher takes them, from a decoded batch.

One definition for both paths: the flow writes these to OUT/orders.ndjson, and
`citysigns dispatch` makes the same from raw hotline records through the same decoder, so a
raw record gets every check decoding makes (category, position, time, id) and the same masking
whichever way it reaches the tickets."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from flows.city import City
from flows.decode.batches import ChannelBatch


def hotline_orders(batch: ChannelBatch, city: City) -> list[dict[str, Any]]:
    """The work orders of a decoded hotline batch (the decoded form of
    alerts.hotline.HotlineOrder): masked and placed in their community by decoding.  Orders
    without a category are not dispatched."""
    if batch.channel != "hotline" or not len(batch):
        return []
    communities = city.level("community").code
    channel = batch.extra.get("channel") or [""] * len(batch)
    orders = []
    for i in np.flatnonzero(batch.category >= 0).tolist():
        community = int(batch.community[i])
        lat, lon = float(batch.lat[i]), float(batch.long[i])
        orders.append({
            "service_request_id": batch.record_id[i],
            "service_code": batch.categories[int(batch.category[i])],
            "ts": int(batch.ts[i]) // 1000,
            "lat": lat if math.isfinite(lat) else None,
            "long": lon if math.isfinite(lon) else None,
            "area_code": str(communities[community]) if community >= 0 else None,
            "description": batch.text[i],
            "channel": channel[i],
        })  # fmt: skip
    return orders
