"""YAML as the user meant it: a key given twice is an error, not the last one
wins, and a key is its text (YAML 1.1 reads ``on:``, ``yes:``, ``off:`` as
booleans; config's ``notify.on`` is a word).

For config.yaml and batch files. pyyaml is imported here, when a file is read.
"""

from __future__ import annotations

from typing import Any

import yaml


class YamlError(ValueError):
    """Not valid YAML; the message says where (``at line N: what``)."""


_BOOL = "tag:yaml.org,2002:bool"
_STR = "tag:yaml.org,2002:str"


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _BOOL and isinstance(key_node, yaml.ScalarNode):
                key_node.tag = _STR
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise YamlError(f"at line {line}: duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no Python objects
    except RecursionError:
        raise YamlError("nested too deeply to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "unreadable"
        at = f"at line {mark.line + 1}: " if mark else ""
        raise YamlError(f"{at}{problem}") from None
