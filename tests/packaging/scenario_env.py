"""The compose file's view of a scenario: packaging/scenarios/<name>.env holds the chain of one
device, one edge and one cloud of scenarios/<name>.yaml (node names, link rates in Mbit/s and
latencies), read with scripts/netns-cluster's own scenario parser so that units mean the same.

python3 tests/packaging/scenario_env.py --write   rewrites packaging/scenarios/*.env
"""
import importlib.machinery
import importlib.util
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def netns_cluster():
    path = os.path.join(REPO, "scripts", "netns-cluster")
    loader = importlib.machinery.SourceFileLoader("netns_cluster", path)
    spec = importlib.util.spec_from_loader("netns_cluster", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def chain(yaml_path):
    """(device, edge, cloud, device-edge link, edge-cloud link) or None when the scenario is not
    one node per tier joined device-edge-cloud."""
    sc = netns_cluster().Scenario(yaml_path)
    by_tier = {}
    for n in sc.nodes:
        by_tier.setdefault(sc.tier[n], []).append(n)
    if sorted(by_tier) != ["cloud", "device", "edge"] or any(len(v) != 1 for v in by_tier.values()):
        return None
    dev, edge, cloud = by_tier["device"][0], by_tier["edge"][0], by_tier["cloud"][0]
    links = {frozenset((l["a"], l["b"])): l for l in sc.links}
    de, ec = links.get(frozenset((dev, edge))), links.get(frozenset((edge, cloud)))
    if de is None or ec is None:
        return None
    return dev, edge, cloud, de, ec


def number(x):
    return f"{x:.6g}"


def env_text(name, yaml_path):
    c = chain(yaml_path)
    if c is None:
        return None
    dev, edge, cloud, de, ec = c
    return (
        f"# scenarios/{name}.yaml as packaging/compose.yaml uses it (made and checked by\n"
        f"# tests/packaging/scenario_env.py): its node names and its links' payload rates in Mbit/s,\n"
        f"# which shape-links sets with tc tbf; latencies are dec serve's priors (--cluster).\n"
        f"DEC_SCENARIO={name}\n"
        f"DEC_DEVICE_NODE={dev}\n"
        f"DEC_EDGE_NODE={edge}\n"
        f"DEC_CLOUD_NODE={cloud}\n"
        f"DEC_DEVICE_EDGE_MBIT={number(de['mbps'])}\n"
        f"DEC_EDGE_CLOUD_MBIT={number(ec['mbps'])}\n"
        f"DEC_DEVICE_EDGE_LATENCY_MS={number(de['latency_s'] * 1e3)}\n"
        f"DEC_EDGE_CLOUD_LATENCY_MS={number(ec['latency_s'] * 1e3)}\n")


def expected():
    """{env file name: its text} for every scenario that is one device-edge-cloud chain."""
    out = {}
    sdir = os.path.join(REPO, "scenarios")
    for f in sorted(os.listdir(sdir)):
        if not f.endswith(".yaml") or f == "workloads.yaml":
            continue
        name = f[:-len(".yaml")]
        text = env_text(name, os.path.join(sdir, f))
        if text is not None:
            out[name + ".env"] = text
    return out


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    edir = os.path.join(REPO, "packaging", "scenarios")
    for name, text in expected().items():
        with open(os.path.join(edir, name), "w") as f:
            f.write(text)
        print(name)
