#!/usr/bin/env python3
"""What the ECS task may do and what it is watched by, against what the server really does.

Usage: cloudformation_task_test.py TEMPLATE SOURCE_DIR CELLFLEET_BINARY

The CloudFormation specification test (cloudformation_spec_test.py) knows the shape of the
template, not whether it fits the program. Here:

  1. The task role's DynamoDB actions are exactly the ones the server's code needs: every
     operation src/storage/dynamodb/ sends (a TransactWriteItems needs PutItem, UpdateItem,
     DeleteItem and ConditionCheckItem; a BatchWriteItem needs BatchWriteItem), minus the
     table-changing calls of `cellfleet migrate` (CreateTable, UpdateTimeToLive,
     UpdateContinuousBackups), which the role must not have because CloudFormation owns the
     tables. A missing action would be AccessDenied in production only; an extra one is more
     than least privilege.
  2. Those actions apply to the template's tables and their indexes, and to nothing else; SNS is
     sns:Publish on the events topic only; no action or resource of the task role is a wildcard
     ("dynamodb:*", "*").
  3. Every alarm on the Cellfleet namespace watches a metric the CloudWatch agent sidecar
     publishes (its metric_selectors), and every selected metric is one the server exposes on
     /metrics (run here, configured by environment only). A renamed gauge would otherwise leave
     the dispatcher-lag alarm on "missing data" for ever.
  4. The template still has what issue #10 asks of it, wired where it must be: the parameters
     (image URI, certificate ARN, desired/min/max tasks, CPU/memory, domain, alarm e-mail) used
     by the resources they configure; public and private subnets in two Availability Zones; an
     HTTPS listener with the certificate, HTTP redirected to HTTPS, the target group's health
     check on /readyz; the Fargate service in the private subnets without public addresses;
     target tracking on CPU and on ALB requests per target; a log group with a retention; the
     four alarms (5xx rate, p99 latency, unhealthy hosts, dispatcher lag); the platform token
     from Secrets Manager and the rest of the configuration in the environment.
Each check is also run on a planted mistake, which it must report.
"""

import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import cfn_yaml

MIGRATE_ONLY = {"CreateTable", "UpdateTimeToLive", "UpdateContinuousBackups"}
TRANSACTION_ITEM_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"}


def code_operations(source_dir):
    """The DynamoDB operations src/storage/dynamodb/ sends: call("Operation", ...)."""
    operations = set()
    for path in glob.glob(os.path.join(source_dir, "src", "storage", "dynamodb", "*.cpp")):
        with open(path, encoding="utf-8") as f:
            operations |= set(re.findall(r"\bcall\(\s*\"([A-Z][A-Za-z]+)\"", f.read()))
    return operations


def needed_actions(operations):
    actions = set()
    for op in operations - MIGRATE_ONLY:
        if op == "TransactWriteItems":
            actions |= TRANSACTION_ITEM_ACTIONS
        elif op == "TransactGetItems":
            actions.add("GetItem")
        else:
            actions.add(op)
    return {"dynamodb:" + a for a in actions}


def as_list(value):
    return value if isinstance(value, list) else [value]


def task_statements(template):
    role = template["Resources"]["TaskRole"]["Properties"]
    for policy in role.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            yield policy["PolicyName"], statement


def check_role(template, operations):
    problems = []
    resources = template["Resources"]
    tables = {name for name, r in resources.items() if r.get("Type") == "AWS::DynamoDB::Table"}
    allowed_table_resources = []
    for t in tables:
        allowed_table_resources.append({"Fn::GetAtt": [t, "Arn"]})
        allowed_table_resources.append({"Fn::Sub": "${" + t + ".Arn}/index/*"})
    granted = set()
    for policy, statement in task_statements(template):
        where = f"TaskRole {policy}"
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action", []))
        for action in actions:
            if "*" in action:
                problems.append(f"{where}: wildcard action {action}")
        statement_resources = as_list(statement.get("Resource", []))
        for resource in statement_resources:
            if resource == "*":
                problems.append(f"{where}: Resource \"*\"")
        dynamodb = [a for a in actions if a.startswith("dynamodb:")]
        granted |= set(dynamodb)
        if dynamodb:
            for resource in statement_resources:
                if resource not in allowed_table_resources:
                    problems.append(f"{where}: DynamoDB actions on {json.dumps(resource)}, which is "
                                    "not one of the template's tables or their indexes")
        sns = [a for a in actions if a.startswith("sns:")]
        if sns:
            if set(sns) != {"sns:Publish"}:
                problems.append(f"{where}: SNS actions {sorted(sns)}; only sns:Publish is needed")
            if statement_resources != [{"Ref": "EventsTopic"}]:
                problems.append(f"{where}: SNS actions on {json.dumps(statement_resources)}, not "
                                "only the events topic")
        other = [a for a in actions if not a.startswith(("dynamodb:", "sns:", "logs:"))]
        if other:
            problems.append(f"{where}: actions of another service: {other}")
    needed = needed_actions(operations)
    for action in sorted(needed - granted):
        problems.append(f"TaskRole lacks {action}, which the server calls (AccessDenied on AWS)")
    for action in sorted(granted - needed):
        problems.append(f"TaskRole grants {action}, which the server never calls")
    covered = {json.dumps(r, sort_keys=True) for _, s in task_statements(template)
               for r in as_list(s.get("Resource", []))}
    for t in sorted(tables):
        if json.dumps({"Fn::GetAtt": [t, "Arn"]}, sort_keys=True) not in covered:
            problems.append(f"TaskRole: no access to the table {t}")
    return problems, needed


def sidecar_selectors(template):
    """metric_selectors of the CloudWatch agent's EMF processor, from the task definition."""
    containers = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    for container in containers:
        for env in container.get("Environment", []):
            if env["Name"] != "CW_CONFIG_CONTENT":
                continue
            text = env["Value"]
            if isinstance(text, dict):
                text = text["Fn::Sub"]
            text = re.sub(r"\$\{[^}]+\}", "resolved", text)
            config = json.loads(text)
            processor = config["logs"]["metrics_collected"]["prometheus"]["emf_processor"]
            namespace = processor["metric_namespace"]
            selectors = [s for d in processor["metric_declaration"] for s in d["metric_selectors"]]
            return namespace, selectors
    return None, []


def check_metrics(template, exposed):
    problems = []
    namespace, selectors = sidecar_selectors(template)
    if namespace is None:
        return ["no CloudWatch agent configuration (CW_CONFIG_CONTENT) in the task definition"]
    for selector in selectors:
        if not any(re.search(selector, name) for name in exposed):
            problems.append(f"the sidecar selects {selector}, which matches no metric the server "
                            "exposes")
    alarms = 0
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        stats = [props] + [m["MetricStat"]["Metric"] for m in props.get("Metrics", [])
                           if "MetricStat" in m]
        for stat in stats:
            if stat.get("Namespace") != namespace:
                continue
            alarms += 1
            metric = stat.get("MetricName")
            if metric not in exposed:
                problems.append(f"{name}: {namespace}/{metric} is not a metric the server exposes")
            if not any(re.search(s, metric or "") for s in selectors):
                problems.append(f"{name}: {namespace}/{metric} is not published by the sidecar")
    if alarms == 0:
        problems.append(f"no alarm watches the {namespace} namespace (the dispatcher lag)")
    return problems


def refs(node):
    """Every !Ref / !GetAtt / !Sub ${...} target inside node."""
    found = set()
    if isinstance(node, list):
        for element in node:
            found |= refs(element)
    elif isinstance(node, dict):
        if "Ref" in node and isinstance(node["Ref"], str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            found.add(node["Fn::GetAtt"][0])
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            found |= {r.split(".")[0] for r in re.findall(r"\$\{([^!}][^}]*)\}", text)}
        for value in node.values():
            found |= refs(value)
    return found


def check_architecture(t):
    problems = []
    res = t.get("Resources", {})

    def of_type(kind):
        return {n: r.get("Properties", {}) for n, r in res.items() if r.get("Type") == kind}

    def need(condition, message):
        if not condition:
            problems.append(message)

    # Parameters, and where each must be used.
    uses = {"ImageUri": "AWS::ECS::TaskDefinition", "CertificateArn":
            "AWS::ElasticLoadBalancingV2::Listener", "DesiredCount": "AWS::ECS::Service",
            "MinTasks": "AWS::ApplicationAutoScaling::ScalableTarget",
            "MaxTasks": "AWS::ApplicationAutoScaling::ScalableTarget",
            "TaskCpu": "AWS::ECS::TaskDefinition", "TaskMemory": "AWS::ECS::TaskDefinition",
            "DomainName": None, "AlarmEmail": "AWS::SNS::Topic"}
    for parameter, kind in uses.items():
        need(parameter in t.get("Parameters", {}), f"parameter {parameter} is missing")
        if kind:
            need(any(parameter in refs(p) for p in of_type(kind).values()),
                 f"parameter {parameter} is not used by any {kind}")
    # Network: public and private subnets in two zones.
    subnets = of_type("AWS::EC2::Subnet")
    public = {n for n in subnets if "Public" in n}
    private = {n for n in subnets if "Private" in n}
    for group, names in (("public", public), ("private", private)):
        zones = {json.dumps(subnets[n].get("AvailabilityZone"), sort_keys=True) for n in names}
        need(len(names) >= 2 and len(zones) >= 2, f"{group} subnets do not span two zones")
    # Load balancer.
    listeners = list(of_type("AWS::ElasticLoadBalancingV2::Listener").values())
    need(any(l.get("Protocol") == "HTTPS" and l.get("Certificates") for l in listeners),
         "no HTTPS listener with a certificate")
    need(any(l.get("Protocol") == "HTTP" and any(a.get("Type") == "redirect" and a.get(
        "RedirectConfig", {}).get("Protocol") == "HTTPS" for a in l.get("DefaultActions", []))
        for l in listeners), "HTTP is not redirected to HTTPS")
    need(any(g.get("HealthCheckPath") == "/readyz"
             for g in of_type("AWS::ElasticLoadBalancingV2::TargetGroup").values()),
         "the target group's health check is not /readyz")
    # Service: Fargate, private subnets, no public address.
    for name, service in of_type("AWS::ECS::Service").items():
        net = service.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        need(service.get("LaunchType") == "FARGATE", f"{name} is not on Fargate")
        need({r for s in net.get("Subnets", []) for r in refs(s)} == private,
             f"{name} is not in exactly the private subnets")
        need(net.get("AssignPublicIp") == "DISABLED", f"{name} tasks get public addresses")
    # Auto-scaling: target tracking on CPU and on requests per target.
    metrics = {p.get("TargetTrackingScalingPolicyConfiguration", {}).get(
        "PredefinedMetricSpecification", {}).get("PredefinedMetricType")
        for p in of_type("AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p.get("PolicyType") == "TargetTrackingScaling"}
    for metric in ("ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"):
        need(metric in metrics, f"no target tracking on {metric}")
    # Logs, alarms, secrets.
    need(any("RetentionInDays" in g for g in of_type("AWS::Logs::LogGroup").values()),
         "no log group with a retention")
    watched = set()
    for alarm in of_type("AWS::CloudWatch::Alarm").values():
        watched.add(alarm.get("MetricName"))
        watched |= {m["MetricStat"]["Metric"]["MetricName"] for m in alarm.get("Metrics", [])
                    if "MetricStat" in m}
    for metric in ("HTTPCode_Target_5XX_Count", "TargetResponseTime", "UnHealthyHostCount",
                   "events_outbox_pending"):
        need(metric in watched, f"no alarm on {metric}")
    for name, task in of_type("AWS::ECS::TaskDefinition").items():
        main = task.get("ContainerDefinitions", [{}])[0]
        secrets = {s.get("Name") for s in main.get("Secrets", [])}
        env = {e.get("Name") for e in main.get("Environment", [])}
        need("CELLFLEET_PLATFORM_ADMIN_TOKEN" in secrets,
             f"{name}: the platform token does not come from Secrets Manager")
        need({"CELLFLEET_STORAGE_BACKEND", "CELLFLEET_DYNAMODB_TABLE_PREFIX"} <= env,
             f"{name}: the storage configuration is not in the environment")
    return problems


def exposed_metrics(binary):
    """Metric names of a running server's /metrics (from its # TYPE lines)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLFLEET_")}
    with tempfile.TemporaryDirectory(prefix="cellfleet-task-") as tmp:
        env.update({"CELLFLEET_SERVER_LISTEN": "127.0.0.1:0",
                    "CELLFLEET_STORAGE_DATA_DIR": os.path.join(tmp, "data")})
        proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            port = None
            deadline = time.time() + 20
            while port is None and time.time() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                if '"listening"' in line:
                    port = json.loads(line)["port"]
            if port is None:
                raise AssertionError("cellfleet serve did not start")
            # The dispatcher's gauge appears after its first pass: wait for it briefly.
            names = set()
            for _ in range(50):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    text = r.read().decode()
                names = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
                if "events_outbox_pending" in names:
                    break
                time.sleep(0.1)
            return names
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    template_path, source_dir, binary = sys.argv[1:]
    template = cfn_yaml.load(template_path)
    operations = code_operations(source_dir)
    if not operations:
        print(f"FAILED: found no DynamoDB call(\"...\") in {source_dir}/src/storage/dynamodb")
        return 1
    problems, needed = check_role(template, operations)
    exposed = exposed_metrics(binary)
    problems += check_metrics(template, exposed)
    problems += check_architecture(template)
    print(f"{template_path}: the server's DynamoDB operations {sorted(operations)} need "
          f"{sorted(needed)}; {len(exposed)} metrics exposed; selectors "
          f"{sidecar_selectors(template)[1]}")
    for p in problems:
        print("  " + p)
    if problems:
        print(f"FAILED: {len(problems)} problem(s)")
        return 1

    # Each check must be able to fail.
    def planted(what, change, check):
        broken = copy.deepcopy(template)
        change(broken)
        return [] if check(broken) else [what]

    def statements(t):
        return [s for _, s in task_statements(t)]

    missed = []
    missed += planted("an extra action", lambda t: statements(t)[0]["Action"].append(
        "dynamodb:Scan"), lambda t: check_role(t, operations)[0])
    missed += planted("a missing action", lambda t: statements(t)[0]["Action"].remove(
        "dynamodb:ConditionCheckItem"), lambda t: check_role(t, operations)[0])
    missed += planted("a wildcard resource", lambda t: statements(t)[0].update(
        {"Resource": "*"}), lambda t: check_role(t, operations)[0])
    missed += planted("an alarm on an unknown metric", lambda t: t["Resources"][
        "DispatcherLagAlarm"]["Properties"].update({"MetricName": "cellfleet_events_outbox_pending"}),
        lambda t: check_metrics(t, exposed))
    missed += planted("a health check off /readyz", lambda t: t["Resources"]["TargetGroup"][
        "Properties"].update({"HealthCheckPath": "/healthz"}), check_architecture)
    missed += planted("tasks in a public subnet", lambda t: t["Resources"]["Service"]["Properties"][
        "NetworkConfiguration"]["AwsvpcConfiguration"].update(
        {"Subnets": [{"Ref": "PublicSubnet1"}, {"Ref": "PrivateSubnet2"}]}), check_architecture)
    missed += planted("no scaling on requests", lambda t: t["Resources"].pop("RequestScaling"),
                      check_architecture)
    missed += planted("an unused parameter", lambda t: t["Resources"]["ScalableTarget"][
        "Properties"].update({"MaxCapacity": 10}), check_architecture)
    if missed:
        print("FAILED: the checks did not notice " + ", ".join(missed))
        return 1
    print("ok (and each of 8 planted mistakes is reported)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
