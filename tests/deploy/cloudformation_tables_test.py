#!/usr/bin/env python3
"""One source of truth for the DynamoDB tables: deploy/cloudformation.yaml must declare exactly
the tables `cellfleet migrate` creates.

Usage: cloudformation_tables_test.py TEMPLATE CELLFLEET_BINARY

Runs `cellfleet schema --dynamodb --table-prefix STACK-` (the definitions migrate_dynamodb
sends, built by the same code) and compares, table by table, with the template's
AWS::DynamoDB::Table resources, resolving ${AWS::StackName} to STACK:
  - the set of tables (none missing, none extra) and each TableName;
  - KeySchema (in order) and AttributeDefinitions (as a set);
  - BillingMode;
  - StreamSpecification (CloudFormation states only StreamViewType: a stream is on when it does);
  - GlobalSecondaryIndexes by name: KeySchema and Projection; no LocalSecondaryIndexes;
  - TimeToLiveSpecification and PointInTimeRecoverySpecification;
  - and that the task's CELLFLEET_DYNAMODB_TABLE_PREFIX is the prefix of those names.
Any other table property fails unless it is operational only (DeletionProtectionEnabled, Tags).
"""

import copy
import json
import os
import subprocess
import sys

import cfn_yaml

STACK = "STACK"
PREFIX_TEMPLATE = "${AWS::StackName}-"
OPERATIONAL = {"DeletionProtectionEnabled", "Tags"}
COMPARED = {"TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "StreamSpecification",
            "GlobalSecondaryIndexes", "TimeToLiveSpecification", "PointInTimeRecoverySpecification"}


def resolve(value):
    """Resolves the few intrinsics table names use: !Sub with ${AWS::StackName}, plain strings."""
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"].replace("${AWS::StackName}", STACK)
    if isinstance(value, str):
        return value
    raise ValueError(f"cannot resolve {value!r}: use !Sub with ${{AWS::StackName}}")


def normal_indexes(indexes):
    return {i["IndexName"]: {"KeySchema": i["KeySchema"],
                             "Projection": i.get("Projection", {})} for i in indexes or []}


def from_code(definition):
    return {
        "TableName": definition["TableName"],
        "AttributeDefinitions": sorted((a["AttributeName"], a["AttributeType"])
                                       for a in definition["AttributeDefinitions"]),
        "KeySchema": definition["KeySchema"],
        "BillingMode": definition.get("BillingMode", "PROVISIONED"),
        "Stream": (definition["StreamSpecification"]["StreamViewType"]
                   if definition.get("StreamSpecification", {}).get("StreamEnabled") else None),
        "GlobalSecondaryIndexes": normal_indexes(definition.get("GlobalSecondaryIndexes")),
        "TimeToLive": definition.get("TimeToLiveSpecification"),
        "PointInTimeRecovery": definition.get("PointInTimeRecoverySpecification",
                                              {}).get("PointInTimeRecoveryEnabled", False),
    }


def from_template(properties):
    return {
        "TableName": resolve(properties.get("TableName")),
        "AttributeDefinitions": sorted((a["AttributeName"], a["AttributeType"])
                                       for a in properties.get("AttributeDefinitions", [])),
        "KeySchema": properties.get("KeySchema"),
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        "Stream": properties.get("StreamSpecification", {}).get("StreamViewType"),
        "GlobalSecondaryIndexes": normal_indexes(properties.get("GlobalSecondaryIndexes")),
        "TimeToLive": properties.get("TimeToLiveSpecification"),
        "PointInTimeRecovery": properties.get("PointInTimeRecoverySpecification",
                                              {}).get("PointInTimeRecoveryEnabled", False),
    }


def compare(template, code_tables):
    problems = []
    declared = {}
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = resource.get("Properties", {})
        for extra in sorted(set(props) - COMPARED - OPERATIONAL):
            problems.append(f"{name}: {extra} is set in the template but not by cellfleet migrate")
        try:
            table = from_template(props)
        except ValueError as e:
            problems.append(f"{name}: TableName: {e}")
            continue
        declared[table["TableName"]] = (name, table)
    wanted = {d["TableName"]: from_code(d) for d in code_tables}
    for table_name in sorted(set(wanted) - set(declared)):
        problems.append(f"{table_name}: created by cellfleet migrate, missing from the template")
    for table_name in sorted(set(declared) - set(wanted)):
        problems.append(f"{declared[table_name][0]} ({table_name}): in the template, unknown to "
                        "cellfleet migrate")
    for table_name in sorted(set(wanted) & set(declared)):
        resource, have = declared[table_name]
        for field, value in wanted[table_name].items():
            if have[field] != value:
                problems.append(f"{resource}.{field}: template {json.dumps(have[field])}, "
                                f"cellfleet migrate {json.dumps(value)}")
    # The task must look for the tables under the same prefix.
    prefixes = []
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::ECS::TaskDefinition":
            continue
        for container in resource["Properties"].get("ContainerDefinitions", []):
            for env in container.get("Environment", []):
                if env.get("Name") == "CELLFLEET_DYNAMODB_TABLE_PREFIX":
                    prefixes.append(resolve(env["Value"]))
    expected_prefix = PREFIX_TEMPLATE.replace("${AWS::StackName}", STACK)
    if prefixes != [expected_prefix]:
        problems.append(f"CELLFLEET_DYNAMODB_TABLE_PREFIX of the task: {prefixes}, expected "
                        f"[{expected_prefix!r}] (the prefix of the table names)")
    return problems, len(declared)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    template_path, binary = sys.argv[1:]
    prefix = PREFIX_TEMPLATE.replace("${AWS::StackName}", STACK)
    # Without the caller's CELLFLEET_* variables: an unknown one (CI exports
    # CELLFLEET_TEST_DYNAMODB_ENDPOINT) stops cellfleet, as it should.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLFLEET_")}
    run = subprocess.run([binary, "schema", "--dynamodb", "--table-prefix", prefix], env=env,
                         capture_output=True, text=True)
    if run.returncode != 0:
        print(f"FAILED: cellfleet schema --dynamodb exited {run.returncode}: {run.stderr}")
        return 1
    out = run.stdout
    code_tables = json.loads(out)
    template = cfn_yaml.load(template_path)
    problems, count = compare(template, code_tables)
    fields = sorted(next(iter([from_code(code_tables[0])])).keys())
    print(f"{template_path}: {count} AWS::DynamoDB::Table resources compared with "
          f"`cellfleet schema --dynamodb` ({len(code_tables)} tables) on {', '.join(fields)}")
    for p in problems:
        print("  " + p)
    if problems:
        print(f"FAILED: {len(problems)} difference(s)")
        return 1
    # The comparison must notice a difference: plant one and expect it reported.
    broken = copy.deepcopy(template)
    for resource in broken["Resources"].values():
        if resource.get("Type") == "AWS::DynamoDB::Table" and "GlobalSecondaryIndexes" in resource[
                "Properties"]:
            resource["Properties"]["GlobalSecondaryIndexes"][0]["Projection"] = {
                "ProjectionType": "KEYS_ONLY"}
            break
    if not compare(broken, code_tables)[0]:
        print("FAILED: a planted projection difference went unnoticed")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
