"""Stripe's form encoding: `a[b][0][c]=v` ⇄ nested dicts and lists."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def _split(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    if not rest:
        return [head]
    tail = "[" + rest
    segments = _SEGMENT.findall(tail)
    if "".join(f"[{s}]" for s in segments) != tail:
        raise invalid(f"Invalid parameter name: {key}", param=key)
    return [head, *segments]


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
        return node
    if isinstance(node, list):
        return [_listify(v) for v in node]
    return node


def parse_form(body: str) -> dict[str, Any]:
    """Parse an x-www-form-urlencoded body (or query string) into nested params."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        path = _split(key)
        node: Any = root
        for i, seg in enumerate(path):
            last = i == len(path) - 1
            if seg == "":  # `expand[]=x` appends
                if not isinstance(node, list):
                    raise invalid(f"Invalid array parameter: {key}", param=key)
                node.append(value if last else {})
                node = node[-1]
                continue
            if not isinstance(node, dict):
                raise invalid(f"Invalid parameter name: {key}", param=key)
            nxt_is_append = not last and path[i + 1] == ""
            if last:
                node[seg] = value
            else:
                if seg not in node or not isinstance(node[seg], (dict, list)):
                    node[seg] = [] if nxt_is_append else {}
                node = node[seg]
    return _listify(root)
