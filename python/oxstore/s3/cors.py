"""CORS rules of a bucket: parsed from and rendered to CORSConfiguration XML, stored as JSON,
and matched against a browser's (preflight or actual) request."""

from __future__ import annotations

import functools
import re

import msgspec

from oxstore.s3.errors import S3Error
from oxstore.s3.xml import document, el, group, parse

METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100
MAX_ID = 255  # characters of a rule's ID


class CorsRule(msgspec.Struct, frozen=True):
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...] = ()  # allowed request headers (patterns, case-insensitive)
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    id: str = ""

    def allows_origin(self, origin: str) -> bool:
        return any(_wildcard(pattern).fullmatch(origin) for pattern in self.origins)

    def allows_headers(self, requested: list[str]) -> bool:
        patterns = [_wildcard(h.lower()) for h in self.headers]
        return all(any(p.fullmatch(h.lower()) for p in patterns) for h in requested)

    def allow_origin_value(self, origin: str) -> str:
        return "*" if "*" in self.origins else origin


@functools.cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    """A pattern in which '*' stands for any characters and everything else for itself."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


_rules_decoder = msgspec.json.Decoder(list[CorsRule])


def decode(stored: str | None) -> list[CorsRule]:
    return _rules_decoder.decode(stored) if stored else []


def encode(rules: list[CorsRule]) -> str:
    return msgspec.json.encode(rules).decode()


def parse_configuration(body: bytes) -> list[CorsRule]:
    """CORSConfiguration XML -> rules; MalformedXML / InvalidRequest like S3."""
    root = parse(body)
    nodes = root.findall("CORSRule") if root.tag == "CORSConfiguration" else []
    if not nodes or len(nodes) > MAX_RULES:
        raise S3Error("MalformedXML")
    rules = []
    for node in nodes:
        origins = tuple((o.text or "").strip() for o in node.findall("AllowedOrigin"))
        methods = tuple((m.text or "").strip() for m in node.findall("AllowedMethod"))
        if not origins or not methods:
            raise S3Error("MalformedXML")
        for method in methods:
            if method not in METHODS:
                raise S3Error(
                    "InvalidRequest",
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}",
                )
        headers = tuple((h.text or "").strip() for h in node.findall("AllowedHeader"))
        _one_wildcard_each("AllowedOrigin", origins)
        _one_wildcard_each("AllowedHeader", headers)
        rule_id = (node.findtext("ID") or "").strip()
        if len(rule_id) > MAX_ID:
            raise S3Error("InvalidArgument", f"ID cannot be longer than {MAX_ID} characters.")
        max_age = node.findtext("MaxAgeSeconds")
        try:
            age = int(max_age) if max_age is not None else None
        except ValueError as exc:
            raise S3Error("MalformedXML") from exc
        rules.append(
            CorsRule(
                origins=origins,
                methods=methods,
                headers=headers,
                expose=tuple((h.text or "").strip() for h in node.findall("ExposeHeader")),
                max_age=age,
                id=rule_id,
            )
        )
    return rules


def _one_wildcard_each(element: str, values: tuple[str, ...]) -> None:
    for value in values:
        if value.count("*") > 1:
            raise S3Error(
                "InvalidRequest", f'{element} "{value}" can not have more than one wildcard.'
            )


def render_configuration(rules: list[CorsRule]) -> bytes:
    return document(
        "CORSConfiguration",
        [
            group(
                "CORSRule",
                [
                    el("ID", rule.id or None),
                    *(el("AllowedHeader", h) for h in rule.headers),
                    *(el("AllowedMethod", m) for m in rule.methods),
                    *(el("AllowedOrigin", o) for o in rule.origins),
                    *(el("ExposeHeader", h) for h in rule.expose),
                    el("MaxAgeSeconds", rule.max_age),
                ],
            )
            for rule in rules
        ],
    )


def matching_rule(
    rules: list[CorsRule], origin: str, method: str, headers: list[str]
) -> CorsRule | None:
    """The first rule allowing the origin, the method and every requested header."""
    for rule in rules:
        if rule.allows_origin(origin) and method in rule.methods and rule.allows_headers(headers):
            return rule
    return None


def response_headers(rule: CorsRule, origin: str) -> list[tuple[str, str]]:
    """The Access-Control-* headers of an actual (not preflight) response."""
    allow_origin = rule.allow_origin_value(origin)
    headers = [
        ("access-control-allow-origin", allow_origin),
        ("access-control-allow-methods", ", ".join(rule.methods)),
        ("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
    ]
    if allow_origin != "*":
        headers.append(("access-control-allow-credentials", "true"))
    if rule.expose:
        headers.append(("access-control-expose-headers", ", ".join(rule.expose)))
    if rule.max_age is not None:
        headers.append(("access-control-max-age", str(rule.max_age)))
    return headers
