"""S3 XML: a small writer for responses and a guarded parser for request bodies."""

from __future__ import annotations

import datetime
import functools
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from email.utils import formatdate
from xml.sax.saxutils import escape as _escape

import defusedxml.ElementTree as safe_xml

from oxstore.s3.errors import S3Error

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BODY = 1024 * 1024

Node = str  # rendered XML fragments are plain strings; values are escaped when rendered
# a carriage return as a character reference: a parser reads a raw one as a line feed, and a
# key with one would come back as another key
_ENTITIES = {"\r": "&#13;"}


def escape(text: str) -> str:
    """Text for an element's content: &, <, > and carriage returns escaped."""
    return _escape(text, _ENTITIES)


def el(name: str, value: object) -> Node:
    """<name>value</name> with value escaped; None renders nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def group(name: str, children: Iterable[Node]) -> Node:
    return f"<{name}>{''.join(children)}</{name}>"


def document(root: str, children: Iterable[Node], namespace: bool = True) -> bytes:
    ns = f' xmlns="{S3_NS}"' if namespace else ""
    body = "".join(children)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}{ns}>{body}</{root}>'.encode()


def epoch_of_iso8601(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp ("Z" or an offset; none: UTC); None when it is
    not one."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def http_date(epoch: float) -> str:
    """A header's date (Last-Modified): Mon, 12 Oct 2009 17:50:30 GMT."""
    return _http_date_of_second(int(epoch))


@functools.lru_cache(maxsize=4096)
def _http_date_of_second(second: int) -> str:
    """Formatting dates is a few µs of every GET and HEAD: objects share their seconds."""
    return formatdate(second, usegmt=True)


def iso8601(epoch: float) -> str:
    """S3's XML timestamp: 2009-10-12T17:50:30.000Z."""
    millis = int(epoch * 1000) % 1000
    return f"{_second(int(epoch))}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _second(epoch: int) -> str:
    """A second's timestamp, formatted once (a listing's objects share few seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def parse(body: bytes, limit: int = MAX_XML_BODY) -> ET.Element:
    """Parses a request body; a DTD, entity declarations and external references are refused
    by defusedxml's parser, whatever the document's encoding (no expansion attacks)."""
    if len(body) > limit:
        raise S3Error("MalformedXML")
    try:
        root = safe_xml.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, ValueError) as exc:  # DefusedXmlException, encodings expat lacks
        raise S3Error("MalformedXML") from exc
    for node in root.iter():
        node.tag = local_name(node.tag)
    return root


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
