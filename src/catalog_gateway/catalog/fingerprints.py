"""Fingerprints of the content an event writes to an entity.

An upsert stores, beside the row, a digest of the input it applied (and of what that input
resolved to, such as the organization a code maps to). An event whose input has the same digest
would write every column as it already is, so it can be answered `unchanged` from the digest
alone (`gateway.unchanged`), without loading the entity or comparing its columns.

The digest is of the input, not of the stored columns: two inputs that store the same values
(`"100"` and `"100.00"`) have different digests, and the second is then compared column by
column as before. A false "different" costs time; a false "same" cannot happen while every
writer of an entity's content stores the fingerprint of what it wrote (the upserts are the only
writers of instructors', courses' and runs' content; ecommerce writes SKUs, which are not
content, and status changes are checked apart).
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

# Part of every digest: changing how an input is applied must change this, so rows written
# before are compared column by column once more instead of matching an outdated digest.
VERSION = 1


def fingerprint(data: BaseModel, **resolved: object) -> str:
    """The digest of `data` (an upsert's input) and of the values it `resolved` to."""
    content = {"version": VERSION, "input": data.model_dump(mode="json"), **resolved}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
