"""Reads a CloudFormation template written in YAML, short-form intrinsic functions included.

`!Ref X` becomes {"Ref": "X"}, `!Condition X` {"Condition": "X"}, `!GetAtt A.B` {"Fn::GetAtt":
["A", "B"]}, and any other `!Name ...` {"Fn::Name": ...}: the same tree the JSON form of the
template gives, which is what CloudFormation itself works on.
"""

import yaml

_FUNCTIONS = ["And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "GetAtt", "If",
              "ImportValue", "Join", "Not", "Or", "Select", "Split", "Sub", "Transform",
              "ToJsonString", "Length"]


class TemplateLoader(yaml.SafeLoader):
    """A SafeLoader that knows CloudFormation's short tags, and nothing else more."""


def _value(loader, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _function(name):
    def construct(loader, node):
        value = _value(loader, node)
        if name == "GetAtt" and isinstance(value, str):
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        return {"Fn::" + name: value}
    return construct


for _name in _FUNCTIONS:
    TemplateLoader.add_constructor("!" + _name, _function(_name))
TemplateLoader.add_constructor("!Ref", lambda loader, node: {"Ref": _value(loader, node)})
TemplateLoader.add_constructor("!Condition",
                               lambda loader, node: {"Condition": _value(loader, node)})


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=TemplateLoader)  # noqa: S506 - SafeLoader subclass


def is_intrinsic(value):
    """True for {"Ref": ...}, {"Fn::...": ...} and {"Condition": ...}: resolved by CloudFormation."""
    return (isinstance(value, dict) and len(value) == 1 and
            next(iter(value)) in ("Ref", "Condition") or
            isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("Fn::"))
