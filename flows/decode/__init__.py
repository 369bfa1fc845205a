"""Decoding: raw chunks of NDJSON or CSV -> columnar batches + dead letters.

Personal data is masked here, before anything else sees a record.  The hot path (sensor
readings) is vectorised over whole chunks; see sensors.py for the checks and their order.
"""

from flows.decode.batches import ChannelBatch, SensorBatch
from flows.decode.channels import CHANNELS, ChannelDecoder, decode_channel_chunk
from flows.decode.chunks import RawChunk, chunk_of_lines
from flows.decode.clock import StreamClock
from flows.decode.dedupe import SeenIds, SensorLastSeen
from flows.decode.fields import field_id, sensor_fields
from flows.decode.reasons import DeadLetter, DeadLetters, Reason
from flows.decode.sensors import SensorDecoder, SensorLookup, decode_sensor_chunk

__all__ = [
    "CHANNELS",
    "ChannelBatch",
    "ChannelDecoder",
    "DeadLetter",
    "DeadLetters",
    "RawChunk",
    "Reason",
    "SeenIds",
    "SensorBatch",
    "SensorDecoder",
    "SensorLastSeen",
    "SensorLookup",
    "StreamClock",
    "chunk_of_lines",
    "decode_channel_chunk",
    "decode_sensor_chunk",
    "field_id",
    "sensor_fields",
]
