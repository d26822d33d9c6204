"""Bounded YAML reading for config files: size, alias and node limits, duplicate keys refused, libyaml when present.

A YAML alias is a reference, so a few hundred bytes of nested aliases stand for billions of nodes once a
consumer walks the tree (the "billion laughs"). The composed node graph is measured before any Python object
is built: its size with every alias expanded, and the number of alias uses. Both are bounded, as is the text.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_CONFIG_BYTES = 16 * 2**20
"""Largest config file accepted (16 MiB): ten times a config of 10,000 targets."""
MAX_ALIASES = 100_000
"""Most alias uses (`*name`, including `<<: *name` merges) in one document."""
MAX_NODES = 2_000_000
"""Most YAML nodes (scalars, lists, mappings) once every alias is expanded."""

_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's C parser when PyYAML was built with it (about 10 times faster), else the pure-Python one."""


class YamlLimitError(ValueError):
    """A document over one of the limits; the text names the limit."""


class _Loader(_BaseLoader):  # type: ignore[misc]
    pass


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> dict[Any, Any]:
    keys: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a scalar, not a list or mapping", key_node.start_mark
            ) from None
        if key in keys:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        keys.add(key)
    result: dict[Any, Any] = loader.construct_mapping(node)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value)


def measure(root: yaml.Node) -> tuple[int, int]:
    """(nodes once aliases are expanded, alias uses) of a composed document, without expanding it."""
    if isinstance(root, yaml.ScalarNode):
        return 1, 0
    size: dict[int, int] = {}  # expanded size of each finished collection, capped just past the limit
    active: set[int] = set()  # collections entered and not finished: meeting one again is a cycle
    scalars: set[int] = set()
    edges = 0
    stack: list[yaml.Node] = [root]
    while stack:  # iterative: a deeply nested document must not exhaust the stack
        node = stack[-1]
        key = id(node)
        if key in size:
            stack.pop()
            continue
        kids = _children(node)
        if key not in active:
            active.add(key)
            edges += len(kids)
            for kid in kids:
                if isinstance(kid, yaml.ScalarNode):
                    scalars.add(id(kid))
                elif id(kid) in active:
                    raise YamlLimitError("an anchor refers to itself")
                elif id(kid) not in size:
                    stack.append(kid)
            continue
        total = 1
        for kid in kids:
            total += size.get(id(kid), 1)
        size[key] = min(total, MAX_NODES + 1)
        active.discard(key)
        stack.pop()
    aliases = edges - (len(size) + len(scalars) - 1)
    return size[id(root)], aliases


def _check(root: yaml.Node) -> None:
    nodes, aliases = measure(root)
    if aliases > MAX_ALIASES:
        raise YamlLimitError(f"too many aliases: {aliases} alias uses, the limit is {MAX_ALIASES}")
    if nodes > MAX_NODES:
        raise YamlLimitError(f"too many nodes: more than {MAX_NODES} once aliases are expanded, the limit")


def load_bounded(text: str) -> Any:
    """YAML text to Python data under the limits; raises yaml.YAMLError or YamlLimitError."""
    if len(text) > MAX_CONFIG_BYTES:
        raise YamlLimitError(f"too large: {len(text)} characters, the limit is {MAX_CONFIG_BYTES} (16 MiB)")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()
