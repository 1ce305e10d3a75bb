"""Offline checks of packaging/: the compose file and the Kubernetes manifests (docs/packaging.md).

Kubernetes manifests are read against the API's own models (Debian's python3-kubernetes): every
field of every object must be one the model of its kind has, at every depth, and the fields the
API requires must be there; apiVersion and kind must name a resource the API serves (the client's
API group class has the kind's create method). Then references across objects: selectors and
template labels, Services and the pods they select, named ports, volumes, Secret and ConfigMap
keys. The compose file is checked for the keys podman-compose 1.0.3 reads, references between
services, networks and volumes, and its scenario files. With a `dec` binary, every `dec
<command> --flag` the files run is checked against `dec <command> --help`.

Each check returns a list of problems, one line each, naming the file and the object.
"""
import functools
import glob
import os
import re
import shlex
import subprocess

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGING = os.path.join(REPO, "packaging")


def load_documents(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# ------------------------------------------------------------------ Kubernetes ---

def _client():
    import kubernetes.client  # python3-kubernetes
    return kubernetes.client


def api_class_name(api_version):
    """apps/v1 -> AppsV1Api, v1 -> CoreV1Api, networking.k8s.io/v1 -> NetworkingV1Api."""
    group, _, version = api_version.rpartition("/")
    if not re.fullmatch(r"v[0-9]+((alpha|beta)[0-9]+)?", version):
        return None
    name = group.split(".")[0] if group else "core"
    words = re.split(r"[-_]", name)
    return "".join(w[:1].upper() + w[1:] for w in words) + version[:1].upper() + version[1:] + "Api"


def snake(kind):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def model_for(api_version, kind):
    """The python3-kubernetes model class of (apiVersion, kind), or a problem string."""
    client = _client()
    api = getattr(client, api_class_name(api_version) or "", None)
    if api is None:
        return None, f"apiVersion '{api_version}' is not an API group version the client knows"
    verbs = (f"create_namespaced_{snake(kind)}", f"create_{snake(kind)}")
    if not any(hasattr(api, v) for v in verbs):
        return None, f"kind '{kind}' is not served by apiVersion '{api_version}'"
    version = api_version.rpartition("/")[2]
    model = getattr(client, version[:1].upper() + version[1:] + kind, None)
    if model is None:
        return None, f"no model for {api_version} {kind}"
    return model, None


PRIMITIVES = {"str", "int", "bool", "float", "object", "datetime", "date"}


def check_fields(value, type_name, where):
    """Every key of `value` a field of model `type_name`, recursively (camelCase, as written)."""
    client = _client()
    problems = []
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        for i, item in enumerate(value):
            problems += check_fields(item, m.group(1), f"{where}[{i}]")
        return problems
    m = re.fullmatch(r"dict\((\w+), (.+)\)", type_name)
    if m:
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping"]
        for k, v in value.items():
            problems += check_fields(v, m.group(2), f"{where}.{k}")
        return problems
    if type_name in PRIMITIVES:
        if type_name == "str" and isinstance(value, (dict, list)):
            return [f"{where}: expected a string"]
        return []
    model = getattr(client, type_name, None)
    if model is None:
        return []  # int-or-string and quantities are plain values
    if not isinstance(value, dict):
        return [f"{where}: expected a mapping ({type_name})"]
    by_json = {j: py for py, j in model.attribute_map.items()}
    for key, v in value.items():
        if key not in by_json:
            near = [j for j in by_json if j.lower() == key.lower()]
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            problems.append(f"{where}.{key}: not a field of {type_name}{hint}")
            continue
        problems += check_fields(v, model.openapi_types[by_json[key]], f"{where}.{key}")
    return problems


@functools.lru_cache(maxsize=None)
def _api_client():
    return _client().ApiClient()


def deserialize(doc, model):
    """Builds the model from the document: raises ValueError for a missing required field."""
    return _api_client()._ApiClient__deserialize(doc, model.__name__)


def object_name(doc):
    return f"{doc.get('kind', '?')}/{(doc.get('metadata') or {}).get('name', '?')}"


def check_document(doc, where):
    if not isinstance(doc, dict):
        return [f"{where}: not a mapping"]
    for key in ("apiVersion", "kind", "metadata"):
        if key not in doc:
            return [f"{where}: no {key}"]
    model, problem = model_for(doc["apiVersion"], doc["kind"])
    if problem:
        return [f"{where} {object_name(doc)}: {problem}"]
    problems = check_fields(doc, model.__name__, f"{where} {object_name(doc)}")
    if problems:
        return problems
    try:
        deserialize(doc, model)
    except (ValueError, TypeError) as e:
        return [f"{where} {object_name(doc)}: {e}"]
    return []


def pod_template(doc):
    spec = doc.get("spec") or {}
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return spec.get("template") or {}
    return None


def check_references(docs):
    """Problems across the objects of all manifests: docs is a list of (where, doc)."""
    problems = []
    namespaces = {d["metadata"]["name"] for _, d in docs if d["kind"] == "Namespace"}
    secrets = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Secret"}
    configmaps = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "ConfigMap"}
    templates = [(w, d, pod_template(d)) for w, d in docs if pod_template(d) is not None]

    def keys_of(obj):
        return set((obj.get("data") or {}).keys()) | set((obj.get("stringData") or {}).keys())

    for where, d in docs:
        name = f"{where} {object_name(d)}"
        ns = d["metadata"].get("namespace")
        if d["kind"] != "Namespace" and ns not in namespaces:
            problems.append(f"{name}: namespace '{ns}' is not one of the manifests' Namespaces")
        if d["kind"] == "Service":
            selector = d["spec"].get("selector") or {}
            pods = [(t, w2, d2) for w2, d2, t in templates
                    if selector and all(((t.get("metadata") or {}).get("labels") or {}).get(k) == v
                                        for k, v in selector.items())]
            if not pods:
                problems.append(f"{name}: its selector {selector} matches no pod template")
            for p in d["spec"].get("ports") or []:
                target = p.get("targetPort", p.get("port"))
                if isinstance(target, str):
                    for t, w2, d2 in pods:
                        named = {cp.get("name") for c in t["spec"]["containers"]
                                 for cp in c.get("ports") or []}
                        if target not in named:
                            problems.append(f"{name}: targetPort '{target}' is not a port of "
                                            f"{object_name(d2)}")
    for where, d, t in templates:
        name = f"{where} {object_name(d)}"
        labels = (t.get("metadata") or {}).get("labels") or {}
        match = (d["spec"].get("selector") or {}).get("matchLabels") or {}
        if not match or any(labels.get(k) != v for k, v in match.items()):
            problems.append(f"{name}: selector {match} does not match the template's labels")
        if d["kind"] == "StatefulSet":
            svc = d["spec"].get("serviceName")
            if not any(x["kind"] == "Service" and x["metadata"]["name"] == svc for _, x in docs):
                problems.append(f"{name}: serviceName '{svc}' is not a Service of the manifests")
        spec = t["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        claims = {c["metadata"]["name"] for c in d["spec"].get("volumeClaimTemplates") or []}
        for v in volumes.values():
            ref = (v.get("secret") or {}).get("secretName")
            if ref is not None:
                if ref not in secrets:
                    problems.append(f"{name}: volume {v['name']}: no Secret '{ref}'")
                else:
                    for item in v["secret"].get("items") or []:
                        if item["key"] not in keys_of(secrets[ref]):
                            problems.append(f"{name}: volume {v['name']}: Secret '{ref}' has no "
                                            f"key '{item['key']}'")
        for c in (spec.get("initContainers") or []) + spec["containers"]:
            cname = f"{name} container {c['name']}"
            ports = {p.get("name") for p in c.get("ports") or []}
            for m in c.get("volumeMounts") or []:
                if m["name"] not in volumes and m["name"] not in claims:
                    problems.append(f"{cname}: volumeMount '{m['name']}' is no volume of the pod")
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                p = c.get(probe) or {}
                for kind in ("httpGet", "tcpSocket"):
                    port = (p.get(kind) or {}).get("port")
                    if isinstance(port, str) and port not in ports:
                        problems.append(f"{cname}: {probe} port '{port}' is not a port it names")
            defined = set()
            for e in c.get("env") or []:
                ref = e.get("valueFrom") or {}
                for key, table, what in (("secretKeyRef", secrets, "Secret"),
                                         ("configMapKeyRef", configmaps, "ConfigMap")):
                    r = ref.get(key)
                    if r is None:
                        continue
                    if r["name"] not in table:
                        problems.append(f"{cname}: env {e['name']}: no {what} '{r['name']}'")
                    elif r["key"] not in keys_of(table[r["name"]]):
                        problems.append(f"{cname}: env {e['name']}: {what} '{r['name']}' has no "
                                        f"key '{r['key']}'")
                defined.add(e["name"])
            for arg in (c.get("command") or []) + (c.get("args") or []):
                for var in re.findall(r"\$\((\w+)\)", str(arg)):
                    if var not in defined:
                        problems.append(f"{cname}: $({var}) in its arguments is not in its env")
    return problems


def check_tiers(docs):
    """The agents: a DaemonSet for device and edge, a StatefulSet for the cloud, each on the nodes
    labelled with its tier and running `dec agent --tier` of that tier."""
    problems = []
    found = {}
    for where, d in docs:
        t = pod_template(d)
        if t is None:
            continue
        for c in t["spec"]["containers"]:
            args = c.get("args") or []
            if args[:1] != ["agent"]:
                continue
            tier = args[args.index("--tier") + 1] if "--tier" in args else None
            selector = (t["spec"].get("nodeSelector") or {}).get("dec/tier")
            if tier != selector:
                problems.append(f"{where} {object_name(d)}: --tier {tier} on nodes "
                                f"dec/tier={selector}")
            found[tier] = d["kind"]
    want = {"device": "DaemonSet", "edge": "DaemonSet", "cloud": "StatefulSet"}
    if found != want:
        problems.append(f"packaging/k8s: agents by tier {found}, expected {want}")
    return problems


def check_non_root(docs):
    """Pods of the DEC image run as the image's user dec (10001), without privilege escalation;
    only an init container may be root, to chown."""
    problems = []
    for where, d in docs:
        t = pod_template(d)
        if t is None:
            continue
        pod_sc = t["spec"].get("securityContext") or {}
        for c in t["spec"]["containers"]:
            if not c["image"].startswith("localhost/dec:"):
                continue
            sc = c.get("securityContext") or {}
            user = sc.get("runAsUser", pod_sc.get("runAsUser"))
            if not pod_sc.get("runAsNonRoot") or user != 10001:
                problems.append(f"{where} {object_name(d)} container {c['name']}: not run as "
                                f"non-root user 10001")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where} {object_name(d)} container {c['name']}: "
                                f"allowPrivilegeEscalation is not false")
    return problems


def manifest_documents():
    docs = []
    for path in sorted(glob.glob(os.path.join(PACKAGING, "k8s", "*.yaml"))):
        rel = os.path.relpath(path, REPO)
        for i, d in enumerate(load_documents(path)):
            docs.append((f"{rel}#{i}", d))
    return docs


def check_manifests(docs=None):
    docs = manifest_documents() if docs is None else docs
    problems = []
    for where, d in docs:
        problems += check_document(d, where)
    if problems:
        return problems  # references assume well-formed objects
    return check_references(docs) + check_tiers(docs) + check_non_root(docs)


# --------------------------------------------------------------------- compose ---

# The compose specification's service keys; podman-compose 1.0.3 reads all of these but deploy.
SERVICE_KEYS = {
    "build", "cap_add", "cap_drop", "command", "container_name", "depends_on", "devices", "dns",
    "entrypoint", "env_file", "environment", "expose", "extra_hosts", "healthcheck", "hostname",
    "image", "init", "labels", "logging", "network_mode", "networks", "pid", "ports",
    "privileged", "read_only", "restart", "secrets", "security_opt", "shm_size", "stdin_open",
    "stop_grace_period", "stop_signal", "sysctls", "tmpfs", "tty", "ulimits", "user", "volumes",
    "working_dir"}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "disable"}
TOP_KEYS = {"services", "networks", "volumes", "secrets", "configs", "version"}
IMAGES = {"localhost/dec:latest": "packaging/Dockerfile",
          "localhost/dec-services:latest": "packaging/services.Dockerfile"}


def interpolate(text, env):
    """Compose's ${VAR:-default} and $$, as podman-compose 1.0.3 does them."""
    def sub(m):
        if m.group("escaped"):
            return "$"
        name = m.group("named") or m.group("braced")
        default = m.group("default")
        value = env.get(name)
        return value if value else (default or "")
    pattern = re.compile(r"\$(?:(?P<escaped>\$)|(?P<named>[_a-zA-Z]\w*)|"
                         r"\{(?P<braced>[_a-zA-Z]\w*)(?::?-(?P<default>[^}]+))?\})")
    return pattern.sub(sub, text)


def read_env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                env[k] = v
    return env


def check_compose(compose=None, where="packaging/compose.yaml"):
    if compose is None:
        compose = load_documents(os.path.join(REPO, where))[0]
    problems = []
    for key in compose:
        if key not in TOP_KEYS and not key.startswith("x-"):
            problems.append(f"{where}: '{key}' is not a top-level key of a compose file")
    services = compose.get("services") or {}
    networks = set((compose.get("networks") or {}).keys())
    volumes = set((compose.get("volumes") or {}).keys())
    for name, s in services.items():
        w = f"{where} service {name}"
        for key in s:
            if key not in SERVICE_KEYS:
                problems.append(f"{w}: '{key}' is not a service key")
        if s.get("image") not in IMAGES:
            problems.append(f"{w}: image {s.get('image')} is not one scripts/dev image builds")
        for n in s.get("networks") or []:
            if n not in networks:
                problems.append(f"{w}: network '{n}' is not declared")
        if not s.get("networks"):
            problems.append(f"{w}: no networks (podman-compose 1.0.3 then joins a default one)")
        for v in s.get("volumes") or []:
            src = v.split(":")[0]
            if not src.startswith((".", "/")) and src not in volumes:
                problems.append(f"{w}: volume '{src}' is not declared")
        for dep in s.get("depends_on") or []:
            if dep not in services:
                problems.append(f"{w}: depends_on '{dep}' is not a service")
        hc = s.get("healthcheck") or {}
        for key in hc:
            if key not in HEALTHCHECK_KEYS:
                problems.append(f"{w}: healthcheck.{key} is not a healthcheck key")
        if hc and (not isinstance(hc.get("test"), list) or hc["test"][:1] != ["CMD-SHELL"]):
            problems.append(f"{w}: healthcheck.test must be [CMD-SHELL, ...] (podman-compose 1.0.3 "
                            f"quotes a CMD list into one word)")
        if s.get("cap_add") and s.get("user") == "root" and "shape-links" not in str(s):
            problems.append(f"{w}: runs as root with capabilities without dropping them")
    return problems


def scenario_names():
    return sorted(os.path.basename(p)[:-len(".env")]
                  for p in glob.glob(os.path.join(PACKAGING, "scenarios", "*.env")))


def node_scripts(compose, scenario):
    """{service: its command as the container's shell runs it} under one scenario."""
    env = dict(os.environ, DEC_SCENARIO=scenario)
    out = {}
    for name, s in compose["services"].items():
        entry = s.get("entrypoint") or []
        cmd = s.get("command") or []
        if entry == ["sh", "-c"]:
            out[name] = interpolate(cmd[0], env)
        else:
            out[name] = " ".join(shlex.quote(interpolate(str(x), env)) for x in entry + cmd)
    return out


def check_compose_nodes(compose=None, where="packaging/compose.yaml"):
    """The three nodes under every scenario file: the env file exists and defines every variable
    their commands use, each shapes its links towards the neighbours it shares a network with,
    and the tiers chain device -> edge -> cloud."""
    if compose is None:
        compose = load_documents(os.path.join(REPO, where))[0]
    services = compose["services"]
    problems = []
    want = {"device": {"edge"}, "edge": {"device", "cloud"}, "cloud": {"edge"}}
    chain = {"device": "edge", "edge": "cloud"}
    for scenario in scenario_names():
        scripts = node_scripts(compose, scenario)
        for node, peers in want.items():
            s = services.get(node)
            w = f"{where} service {node} ({scenario})"
            if s is None:
                problems.append(f"{where}: no service {node}")
                continue
            env_files = [interpolate(e, {"DEC_SCENARIO": scenario}) for e in s.get("env_file") or []]
            env = {}
            for e in env_files:
                path = os.path.join(PACKAGING, e)
                if not os.path.isfile(path):
                    problems.append(f"{w}: env_file {e} does not exist")
                    continue
                env.update(read_env_file(path))
            text = scripts[node]
            for var in set(re.findall(r"\$\{?(DEC_\w+)", text)):
                if var not in env:
                    problems.append(f"{w}: ${var} is not set by its env_file")
            m = re.search(r"shape-links((?:\s+\S+=\S+)+)\s+--", text)
            shaped = {a.split("=")[0] for a in m.group(1).split()} if m else set()
            if shaped != peers:
                problems.append(f"{w}: shapes towards {sorted(shaped)}, expected {sorted(peers)}")
            for p in shaped:
                common = set(s.get("networks") or []) & set(services.get(p, {}).get("networks") or [])
                if len(common) != 1:
                    problems.append(f"{w}: shares {len(common)} networks with {p}, not one")
            tier = re.search(r"--tier\s+(\w+)", text)
            if not tier or tier.group(1) != node:
                problems.append(f"{w}: dec serve --tier is not {node}")
            nxt = re.search(r"--next\s+http://([\w-]+):", text)
            if (nxt.group(1) if nxt else None) != chain.get(node):
                problems.append(f"{w}: --next {nxt.group(1) if nxt else None}, expected "
                                f"{chain.get(node)}")
            if "NET_ADMIN" not in [c.upper().replace("CAP_", "") for c in s.get("cap_add") or []]:
                problems.append(f"{w}: no NET_ADMIN for tc")
    return problems


# ----------------------------------------------------------------- dec's flags ---

def dec_invocations(text):
    """(command, [--flags]) of every `dec <command> ...` in a shell text."""
    text = text.replace("\\\n", " ")
    out = []
    for segment in re.split(r"&&|\|\||;|\n|\|", text):
        words = segment.replace("'", " ").replace('"', " ").split()
        for i, word in enumerate(words):
            if word == "dec" and i + 1 < len(words) and re.fullmatch(r"[a-z]+", words[i + 1]):
                flags = [w.split("=")[0] for w in words[i + 2:] if w.startswith("--")]
                out.append((words[i + 1], flags))
    return out


def help_flags(dec, command):
    """The flags `dec <command> --help` lists, or None when dec has no such command."""
    r = subprocess.run([dec, command, "--help"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return None
    return set(re.findall(r"^\s+(?:-\w,)?(--[\w-]+)", r.stdout, re.M))


def all_invocations():
    """(where, command, flags) of every `dec` run by the compose file and the manifests."""
    out = []
    compose = load_documents(os.path.join(PACKAGING, "compose.yaml"))[0]
    for name, text in node_scripts(compose, "S2").items():
        for cmd, flags in dec_invocations(text):
            out.append((f"packaging/compose.yaml service {name}", cmd, flags))
    for where, d in manifest_documents():
        t = pod_template(d)
        if t is None:
            continue
        for c in t["spec"]["containers"]:
            if not c["image"].startswith("localhost/dec:"):
                continue
            args = c.get("args") or []
            if args:
                out.append((f"{where} {object_name(d)}", args[0],
                            [a for a in args[1:] if str(a).startswith("--")]))
    return out


def check_dec_flags(dec):
    """Problems, and the commands skipped because this dec does not have them."""
    problems, skipped, cache = [], set(), {}
    for where, cmd, flags in all_invocations():
        if cmd not in cache:
            cache[cmd] = help_flags(dec, cmd)
        known = cache[cmd]
        if known is None:
            skipped.add(cmd)
            continue
        for f in flags:
            if f not in known:
                problems.append(f"{where}: `dec {cmd}` has no flag {f}")
    return problems, sorted(skipped)
