#!/usr/bin/env python3
"""Checks deploy/cloudformation.yaml against the CloudFormation resource specification.

Usage: cloudformation_spec_test.py TEMPLATE SPECIFICATION_JSON

SPECIFICATION_JSON is AWS's resource specification as npm @aws-cdk/cfnspec ships it
(spec/specification.json; scripts/install-test-tools.sh installs it into tools/). Fails, naming
each problem, when the template has:
  - a resource type the specification does not know, or a resource attribute CloudFormation
    does not have (anything but Type, Properties, DependsOn, Condition, DeletionPolicy, ...);
  - a property a resource type or property type does not have, at any depth (ContainerDefinitions
    -> LogConfiguration -> Options ...), or a property of the wrong shape (a list where the
    specification wants an object, an object where it wants a list or a scalar);
  - a required property missing;
  - !GetAtt of an attribute the resource type does not have, or of a resource that does not exist;
  - !Ref, !Sub ${...}, DependsOn or Condition naming nothing in the template.
Intrinsic functions in a property's place are not second-guessed: CloudFormation resolves them.
"""

import json
import re
import sys

import cfn_yaml

RESOURCE_ATTRIBUTES = {"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy",
                       "UpdateReplacePolicy", "Metadata", "CreationPolicy", "UpdatePolicy"}
TOP_LEVEL = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Mappings",
             "Conditions", "Transform", "Resources", "Outputs", "Rules"}
PSEUDO = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
          "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
PARAMETER_TYPES = re.compile(r"^(String|Number|List<Number>|CommaDelimitedList|AWS::.+|List<AWS::.+>)$")


class Checker:
    def __init__(self, template, spec):
        self.t = template
        self.spec = spec
        self.errors = []
        self.properties_checked = 0
        self.property_types_used = set()
        self.resource_types_used = set()
        self.intrinsics_checked = 0
        self.names = set(template.get("Parameters", {})) | set(template.get("Resources", {})) | PSEUDO

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")

    # --- properties --------------------------------------------------------------------------
    def property_type(self, resource_type, name):
        if name == "Tag":
            return "Tag", self.spec["PropertyTypes"].get("Tag")
        full = f"{resource_type}.{name}"
        return full, self.spec["PropertyTypes"].get(full)

    def check_value(self, where, resource_type, prop_spec, value):
        if cfn_yaml.is_intrinsic(value):
            return
        kind = prop_spec.get("Type")
        if kind == "List":
            if not isinstance(value, list):
                self.error(where, f"must be a list, not {type(value).__name__}")
                return
            item = prop_spec.get("ItemType")
            for i, element in enumerate(value):
                if item and not cfn_yaml.is_intrinsic(element):
                    self.check_object(f"{where}[{i}]", resource_type, item, element)
        elif kind == "Map":
            if not isinstance(value, dict):
                self.error(where, f"must be a map, not {type(value).__name__}")
                return
            item = prop_spec.get("ItemType")
            for key, element in value.items():
                if item and not cfn_yaml.is_intrinsic(element):
                    self.check_object(f"{where}.{key}", resource_type, item, element)
        elif kind:  # a property type
            self.check_object(where, resource_type, kind, value)
        elif prop_spec.get("PrimitiveType") == "Json":
            if not isinstance(value, (dict, list, str)):
                self.error(where, "must be a JSON document")
        elif prop_spec.get("PrimitiveType"):
            if isinstance(value, (dict, list)):
                self.error(where, f"must be a {prop_spec['PrimitiveType']}, not a "
                                  f"{type(value).__name__}")

    def check_object(self, where, resource_type, type_name, value):
        full, type_spec = self.property_type(resource_type, type_name)
        if type_spec is None:
            self.error(where, f"the specification has no property type {full}")
            return
        self.property_types_used.add(full)
        if "Properties" not in type_spec:  # a primitive alias
            return
        if not isinstance(value, dict):
            self.error(where, f"must be an object ({full}), not {type(value).__name__}")
            return
        self.check_properties(where, resource_type, full, type_spec["Properties"], value)

    def check_properties(self, where, resource_type, owner, allowed, props):
        for name, value in props.items():
            self.properties_checked += 1
            if name not in allowed:
                self.error(f"{where}.{name}", f"{owner} has no property {name} "
                                              f"(it has: {', '.join(sorted(allowed))})")
                continue
            self.check_value(f"{where}.{name}", resource_type, allowed[name], value)
        for name, prop_spec in allowed.items():
            if prop_spec.get("Required") and name not in props:
                self.error(where, f"{owner} requires {name}")

    # --- references --------------------------------------------------------------------------
    def check_references(self, where, node):
        if isinstance(node, list):
            for i, element in enumerate(node):
                self.check_references(f"{where}[{i}]", element)
            return
        if not isinstance(node, dict):
            return
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref" and isinstance(value, str):
                self.intrinsics_checked += 1
                if value not in self.names:
                    self.error(where, f"!Ref {value}: no such parameter or resource")
            elif key == "Fn::GetAtt":
                self.intrinsics_checked += 1
                self.check_getatt(where, value)
            elif key == "Fn::Sub":
                self.intrinsics_checked += 1
                text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                for ref in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    if ref in variables:
                        continue
                    if "." in ref and not ref.startswith("AWS::"):
                        self.check_getatt(where, ref.split(".", 1))
                    elif ref not in self.names:
                        self.error(where, f"!Sub ${{{ref}}}: no such parameter or resource")
                self.check_references(where, variables)
                return
            elif key == "Fn::If" or key == "Condition":
                self.intrinsics_checked += 1
                name = value[0] if key == "Fn::If" else value
                if name not in self.t.get("Conditions", {}):
                    self.error(where, f"condition {name} is not defined")
        for key, value in node.items():
            self.check_references(f"{where}.{key}", value)

    def check_getatt(self, where, value):
        if not isinstance(value, list) or len(value) != 2:
            self.error(where, f"!GetAtt {value}: malformed")
            return
        resource, attribute = value
        res = self.t.get("Resources", {}).get(resource)
        if res is None:
            self.error(where, f"!GetAtt {resource}.{attribute}: no resource {resource}")
            return
        known = self.spec["ResourceTypes"].get(res.get("Type"), {}).get("Attributes", {})
        if isinstance(attribute, str) and attribute not in known:
            self.error(where, f"!GetAtt {resource}.{attribute}: {res.get('Type')} has no attribute "
                              f"{attribute} (it has: {', '.join(sorted(known))})")

    # --- the template ------------------------------------------------------------------------
    def run(self):
        for key in self.t:
            if key not in TOP_LEVEL:
                self.error("template", f"unknown top-level section {key}")
        for name, parameter in self.t.get("Parameters", {}).items():
            if not PARAMETER_TYPES.match(str(parameter.get("Type", ""))):
                self.error(f"Parameters.{name}", f"unknown parameter type {parameter.get('Type')}")
        conditions = self.t.get("Conditions", {})
        self.check_references("Conditions", conditions)
        resources = self.t.get("Resources", {})
        if not resources:
            self.error("template", "no resources")
        for name, resource in resources.items():
            where = f"Resources.{name}"
            for attribute in resource:
                if attribute not in RESOURCE_ATTRIBUTES:
                    self.error(where, f"unknown resource attribute {attribute}")
            kind = resource.get("Type")
            type_spec = self.spec["ResourceTypes"].get(kind)
            if type_spec is None:
                self.error(where, f"unknown resource type {kind}")
                continue
            self.resource_types_used.add(kind)
            self.check_properties(f"{where}.Properties", kind, kind, type_spec.get("Properties", {}),
                                  resource.get("Properties", {}))
            depends = resource.get("DependsOn", [])
            for target in [depends] if isinstance(depends, str) else depends:
                if target not in resources:
                    self.error(where, f"DependsOn {target}: no such resource")
            if "Condition" in resource and resource["Condition"] not in conditions:
                self.error(where, f"condition {resource['Condition']} is not defined")
            self.check_references(where, resource.get("Properties", {}))
        self.check_references("Outputs", self.t.get("Outputs", {}))


def self_test(template, spec):
    """The checker must catch what it claims to: each planted mistake has to be reported."""
    import copy
    plants = {
        "an unknown resource type": lambda t: t["Resources"].update(
            {"Planted": {"Type": "AWS::Nope::Thing", "Properties": {}}}),
        "an unknown top-level property": lambda t: t["Resources"]["Cluster"]["Properties"].update(
            {"Planted": 1}),
        "an unknown nested property": lambda t: t["Resources"]["TaskDefinition"]["Properties"][
            "ContainerDefinitions"][0]["LogConfiguration"].update({"Planted": 1}),
        "a missing required property": lambda t: t["Resources"]["TaskRole"]["Properties"].pop(
            "AssumeRolePolicyDocument"),
        "an unknown !GetAtt attribute": lambda t: t["Outputs"].update(
            {"Planted": {"Value": {"Fn::GetAtt": ["LoadBalancer", "Planted"]}}}),
        "a dangling !Ref": lambda t: t["Outputs"].update({"Planted": {"Value": {"Ref": "Nope"}}}),
    }
    missed = []
    for what, plant in plants.items():
        broken = copy.deepcopy(template)
        plant(broken)
        checker = Checker(broken, spec)
        checker.run()
        if not checker.errors:
            missed.append(what)
    return missed


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    template_path, spec_path = sys.argv[1:]
    try:
        with open(spec_path, encoding="utf-8") as f:
            spec = json.load(f)
    except OSError as e:
        sys.exit(f"cannot read the CloudFormation specification ({e}); "
                 "run scripts/install-test-tools.sh")
    checker = Checker(cfn_yaml.load(template_path), spec)
    checker.run()
    resources = len(checker.t.get("Resources", {}))
    print(f"{template_path}: {resources} resources of {len(checker.resource_types_used)} types, "
          f"{checker.properties_checked} property values checked against "
          f"{len(checker.property_types_used)} property types, {checker.intrinsics_checked} "
          f"references checked; specification {spec.get('ResourceSpecificationVersion')}")
    for e in checker.errors:
        print("  " + e)
    if checker.errors:
        print(f"FAILED: {len(checker.errors)} problem(s)")
        return 1
    missed = self_test(checker.t, spec)
    if missed:
        print("FAILED: the checker did not notice " + ", ".join(missed))
        return 1
    print("ok (and the checker catches each of 6 planted mistakes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
