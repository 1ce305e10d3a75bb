"""packaging_test: the compose file, the Kubernetes manifests, the scenario files and the image's
scripts, validated offline (tests/packaging/validate.py), and the validator shown to catch a
misspelled field, a wrong apiVersion and the other mistakes it is for.

  python3 tests/packaging/packaging_test.py [--dec build/dec]

With --dec, every `dec <command> --flag` the files run is checked against the binary's --help.
Needs Debian's python3-yaml, python3-kubernetes and yamllint (scripts/setup installs them).
"""
import copy
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scenario_env  # noqa: E402
import validate as v  # noqa: E402

REPO = v.REPO
DEC = None


def find(docs, kind, name):
    for i, (_, d) in enumerate(docs):
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return i
    raise KeyError(f"{kind}/{name}")


class Manifests(unittest.TestCase):
    def setUp(self):
        self.docs = v.manifest_documents()

    def broken(self, kind, name, change):
        docs = copy.deepcopy(self.docs)
        i = find(docs, kind, name)
        change(docs[i][1])
        return v.check_manifests(docs)

    def test_valid(self):
        self.assertEqual(v.check_manifests(self.docs), [])

    def test_every_kind_is_there(self):
        kinds = sorted({d["kind"] for _, d in self.docs})
        self.assertEqual(kinds, ["ConfigMap", "DaemonSet", "Deployment", "Namespace", "Secret",
                                 "Service", "StatefulSet"])

    def test_yamllint(self):
        r = subprocess.run(["yamllint", "-s", "-c", os.path.join(HERE, "yamllint.yaml"),
                            os.path.join(REPO, "packaging")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_catches_a_misspelled_field(self):
        def misspell(d):
            port = d["spec"]["template"]["spec"]["containers"][0]["ports"][0]
            port["containerPrt"] = port.pop("containerPort")
        problems = self.broken("Deployment", "dec-control", misspell)
        self.assertTrue(any("containerPrt: not a field of V1ContainerPort" in p for p in problems),
                        problems)

    def test_catches_a_misspelled_field_deep_in_a_probe(self):
        def misspell(d):
            probe = d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
            probe["httpGet"]["schema"] = probe["httpGet"].pop("scheme")
        problems = self.broken("Deployment", "dec-control", misspell)
        self.assertTrue(any("httpGet.schema: not a field of V1HTTPGetAction" in p
                            for p in problems), problems)

    def test_catches_a_field_in_the_wrong_case(self):
        problems = self.broken("DaemonSet", "dec-agent-edge",
                               lambda d: d["spec"]["template"]["spec"].update(
                                   {"NodeSelector": d["spec"]["template"]["spec"].pop(
                                       "nodeSelector")}))
        self.assertTrue(any("did you mean 'nodeSelector'" in p for p in problems), problems)

    def test_catches_a_wrong_api_version(self):
        for version, why in (("v1", "not served by apiVersion 'v1'"),
                             ("apps/v1beta3", "not an API group version"),
                             ("batch/v1", "not served by apiVersion 'batch/v1'"),
                             ("apps/v2", "not an API group version")):
            problems = self.broken("StatefulSet", "dec-agent-cloud",
                                   lambda d: d.update(apiVersion=version))
            self.assertTrue(any(why in p for p in problems), (version, problems))

    def test_catches_a_wrong_kind(self):
        problems = self.broken("DaemonSet", "dec-agent-device",
                               lambda d: d.update(kind="Daemonset"))
        self.assertTrue(any("kind 'Daemonset' is not served" in p for p in problems), problems)

    def test_catches_a_missing_required_field(self):
        def no_image_name(d):
            del d["spec"]["template"]["spec"]["containers"][0]["name"]
        problems = self.broken("StatefulSet", "postgres", no_image_name)
        self.assertTrue(any("`name`, must not be `None`" in p for p in problems), problems)

    def test_catches_a_selector_that_misses_its_template(self):
        problems = self.broken("Deployment", "dec-control",
                               lambda d: d["spec"]["selector"]["matchLabels"].update(
                                   {"app.kubernetes.io/name": "control"}))
        self.assertTrue(any("does not match the template's labels" in p for p in problems),
                        problems)

    def test_catches_a_service_that_selects_nothing(self):
        problems = self.broken("Service", "redis",
                               lambda d: d["spec"]["selector"].update(
                                   {"app.kubernetes.io/name": "rediss"}))
        self.assertTrue(any("matches no pod template" in p for p in problems), problems)

    def test_catches_a_missing_secret_key(self):
        problems = self.broken("Secret", "dec-tokens",
                               lambda d: d["stringData"].pop("enrol-token"))
        self.assertTrue(any("has no key 'enrol-token'" in p for p in problems), problems)

    def test_catches_an_argument_variable_not_in_env(self):
        problems = self.broken("Deployment", "dec-control",
                               lambda d: d["spec"]["template"]["spec"]["containers"][0][
                                   "env"].pop(0))
        self.assertTrue(any("$(DB_PASSWORD) in its arguments is not in its env" in p
                            for p in problems), problems)

    def test_catches_an_agent_on_the_wrong_tier(self):
        def move(d):
            d["spec"]["template"]["spec"]["nodeSelector"]["dec/tier"] = "cloud"
        problems = self.broken("DaemonSet", "dec-agent-edge", move)
        self.assertTrue(any("--tier edge on nodes dec/tier=cloud" in p for p in problems),
                        problems)

    def test_catches_a_root_container(self):
        problems = self.broken("Deployment", "dec-control",
                               lambda d: d["spec"]["template"]["spec"].pop("securityContext"))
        self.assertTrue(any("not run as non-root user 10001" in p for p in problems), problems)


class Compose(unittest.TestCase):
    def setUp(self):
        self.compose = v.load_documents(os.path.join(REPO, "packaging", "compose.yaml"))[0]

    def test_valid(self):
        self.assertEqual(v.check_compose(self.compose), [])
        self.assertEqual(v.check_compose_nodes(self.compose), [])

    def test_services(self):
        self.assertEqual(sorted(self.compose["services"]),
                         ["cloud", "control", "device", "edge", "postgres", "rabbitmq", "redis"])

    def test_catches_a_misspelled_key(self):
        c = copy.deepcopy(self.compose)
        c["services"]["postgres"]["enviroment"] = c["services"]["postgres"].pop("environment")
        self.assertIn("packaging/compose.yaml service postgres: 'enviroment' is not a service key",
                      v.check_compose(c))

    def test_catches_a_cmd_healthcheck(self):
        c = copy.deepcopy(self.compose)
        c["services"]["redis"]["healthcheck"]["test"] = ["CMD", "redis-cli", "ping"]
        self.assertTrue(any("healthcheck.test must be [CMD-SHELL" in p
                            for p in v.check_compose(c)))

    def test_catches_an_undeclared_network(self):
        c = copy.deepcopy(self.compose)
        c["services"]["edge"]["networks"] = ["device-edge", "edge-cloud", "edge-clod"]
        self.assertIn("packaging/compose.yaml service edge: network 'edge-clod' is not declared",
                      v.check_compose(c))

    def test_catches_a_link_not_shaped(self):
        c = copy.deepcopy(self.compose)
        cmd = c["services"]["edge"]["command"]
        cmd[0] = cmd[0].replace(" cloud=$$DEC_EDGE_CLOUD_MBIT", "")
        self.assertTrue(any("service edge (S2): shapes towards ['device'], expected "
                            "['cloud', 'device']" in p for p in v.check_compose_nodes(c)))

    def test_catches_a_variable_no_scenario_sets(self):
        c = copy.deepcopy(self.compose)
        cmd = c["services"]["device"]["command"]
        cmd[0] = cmd[0].replace("$$DEC_DEVICE_EDGE_MBIT", "$$DEC_DEVICE_EDGE_MBPS")
        self.assertTrue(any("$DEC_DEVICE_EDGE_MBPS is not set by its env_file" in p
                            for p in v.check_compose_nodes(c)))

    def test_catches_a_broken_chain(self):
        c = copy.deepcopy(self.compose)
        cmd = c["services"]["device"]["command"]
        cmd[0] = cmd[0].replace("--next http://edge:8000", "--next http://cloud:8000")
        self.assertTrue(any("service device (S2): --next cloud, expected edge" in p
                            for p in v.check_compose_nodes(c)))


class Scenarios(unittest.TestCase):
    def test_env_files_match_the_scenarios(self):
        want = scenario_env.expected()
        have = {}
        sdir = os.path.join(REPO, "packaging", "scenarios")
        for name in sorted(os.listdir(sdir)):
            with open(os.path.join(sdir, name)) as f:
                have[name] = f.read()
        self.assertEqual(sorted(have), sorted(want),
                         "run python3 tests/packaging/scenario_env.py --write")
        for name in want:
            self.assertEqual(have[name], want[name],
                             f"{name} differs from its scenario: python3 "
                             f"tests/packaging/scenario_env.py --write")
        self.assertIn("S2.env", want)

    def test_env_file_values(self):
        env = v.read_env_file(os.path.join(REPO, "packaging", "scenarios", "S2.env"))
        self.assertEqual((env["DEC_DEVICE_NODE"], env["DEC_DEVICE_EDGE_MBIT"],
                          env["DEC_EDGE_CLOUD_MBIT"]), ("dev0", "5.85", "100"))


class Scripts(unittest.TestCase):
    SH = ["shape-links", "healthcheck", "services-entry", "runtime-packages"]

    def test_syntax(self):
        for name in self.SH:
            r = subprocess.run(["sh", "-n", os.path.join(REPO, "packaging", name)],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, f"{name}: {r.stderr}")
        r = subprocess.run(["bash", "-n", os.path.join(REPO, "packaging", "wait-tcp")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_dockerfiles_copy_every_script(self):
        with open(os.path.join(REPO, "packaging", "Dockerfile")) as f:
            dockerfile = f.read()
        for name in ("shape-links", "healthcheck", "wait-tcp", "runtime-packages"):
            self.assertIn(f"packaging/{name}", dockerfile)
        with open(os.path.join(REPO, "packaging", "services.Dockerfile")) as f:
            self.assertIn("packaging/services-entry", f.read())

    def shape(self, *args):
        env = dict(os.environ, SHAPE_LINKS_DRY_RUN="1")
        return subprocess.run(["sh", os.path.join(REPO, "packaging", "shape-links"), *args],
                              capture_output=True, text=True, env=env, timeout=30)

    def test_shape_links_sizes_the_bucket_as_the_namespace_cluster(self):
        nc = scenario_env.netns_cluster()
        for mbit in ("0.13", "5.85", "18.88", "100", "1000"):
            r = self.shape(f"127.0.0.1={mbit}", "--", "dec", "serve")
            self.assertEqual(r.returncode, 0, r.stderr)
            rate, burst, limit = nc.tbf_params(float(mbit))
            lines = r.stdout.splitlines()
            self.assertEqual(lines[0], f"tc qdisc replace dev lo root handle 1: tbf rate "
                                       f"{rate}bit burst {burst} limit {limit}")
            self.assertEqual(lines[-1], "setpriv --reuid=dec --regid=dec --init-groups "
                                        "--inh-caps=-all --bounding-set=-all -- dec serve")

    def test_shape_links_refuses_bad_arguments(self):
        self.assertEqual(self.shape("127.0.0.1=fast", "--", "true").returncode, 2)
        self.assertEqual(self.shape("127.0.0.1", "--", "true").returncode, 2)
        self.assertEqual(self.shape("127.0.0.1=1").returncode, 2)


class DecFlags(unittest.TestCase):
    def test_flags_exist(self):
        if DEC is None:
            self.skipTest("no --dec binary given")
        problems, skipped = v.check_dec_flags(DEC)
        self.assertEqual(problems, [])
        if skipped:
            print(f"packaging_test: `dec {' '.join(skipped)}` not in this binary: its flags in "
                  f"the manifests are not checked", file=sys.stderr)


if __name__ == "__main__":
    if "--dec" in sys.argv:
        i = sys.argv.index("--dec")
        DEC = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    unittest.main()
