"""Each deploy check must reject what it exists to reject: the real files pass, and a
copy broken in one way fails with a message naming the problem. Run by
deploy/check.sh with DEPLOY_RENDERED_BASE set to the rendered kustomize base.

    DEPLOY_RENDERED_BASE=base.yaml python -m unittest test_checks
"""

import copy
import os
import tempfile
import unittest

import yaml

import compose_check
import dockerfile
import dockerfile_lint
import k8s_policy
import k8s_validate
import manifests
import proxy_snippets

DEPLOY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_yaml(*parts):
    with open(os.path.join(DEPLOY, *parts), encoding="utf-8") as f:
        return yaml.safe_load(f)


def deployment(objects):
    return next(o for o in objects if o["kind"] == "Deployment")


class PolicyTest(unittest.TestCase):
    def setUp(self):
        self.base = manifests.load(os.environ["DEPLOY_RENDERED_BASE"])

    def problems(self, objects, mode="native"):
        return k8s_policy.check(objects, mode)[0]

    def test_the_base_passes(self):
        self.assertEqual(self.problems(self.base), [])

    def test_a_privileged_app_fails(self):
        broken = copy.deepcopy(self.base)
        deployment(broken)["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
        self.assertIn("container app: must not be privileged", self.problems(broken))

    def test_the_wrong_mode_fails(self):
        self.assertTrue(any("classic mode" in p for p in self.problems(self.base, "classic")))

    def test_a_service_exposing_the_app_fails(self):
        broken = copy.deepcopy(self.base)
        svc = next(o for o in broken if o["kind"] == "Service")
        svc["spec"]["ports"].append({"name": "app", "port": 8080, "targetPort": 8080})
        self.assertTrue(any("only the sidecar's http port" in p for p in self.problems(broken)))

    def test_a_secret_path_outside_the_mount_fails(self):
        broken = copy.deepcopy(self.base)
        cm = next(o for o in broken if o["kind"] == "ConfigMap")
        cm["data"]["config.yaml"] = cm["data"]["config.yaml"].replace(
            "/var/run/secrets/cognito-sidecar/session-secret", "/etc/session-secret")
        self.assertTrue(any("session.secret_file" in p for p in self.problems(broken)))

    def test_a_network_policy_opening_the_app_port_fails(self):
        broken = copy.deepcopy(self.base)
        np = next(o for o in broken if o["kind"] == "NetworkPolicy")
        np["spec"]["ingress"][0]["ports"].append({"port": 8080, "protocol": "TCP"})
        self.assertTrue(any("limited to the http and metrics ports" in p for p in self.problems(broken)))

    def test_missing_probes_fail(self):
        broken = copy.deepcopy(self.base)
        del deployment(broken)["spec"]["template"]["spec"]["initContainers"][0]["readinessProbe"]
        self.assertIn("sidecar: readinessProbe must GET /readyz", self.problems(broken))


class SchemaTest(unittest.TestCase):
    def setUp(self):
        self.base = manifests.load(os.environ["DEPLOY_RENDERED_BASE"])

    def test_the_base_passes(self):
        for obj in self.base:
            self.assertEqual(k8s_validate.problems_in(obj, ["1.30"]), [], manifests.name_of(obj))

    def test_an_unknown_field_fails(self):
        dep = copy.deepcopy(deployment(self.base))
        dep["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
        self.assertNotEqual(k8s_validate.problems_in(dep, ["1.30"]), [])

    def test_a_wrong_type_fails(self):
        dep = copy.deepcopy(deployment(self.base))
        dep["spec"]["replicas"] = "two"
        self.assertNotEqual(k8s_validate.problems_in(dep, ["1.30"]), [])

    def test_an_unknown_custom_resource_fails(self):
        obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"a": 1}}
        self.assertNotEqual(k8s_validate.problems_in(obj, ["1.30"]), [])

    def test_a_podmonitor_without_endpoints_fails(self):
        obj = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": {"name": "p"},
               "spec": {"selector": {"matchLabels": {"a": "b"}}}}
        self.assertIn("spec.podMetricsEndpoints is missing or empty", k8s_validate.problems_in(obj, ["1.30"]))


class DockerfileTest(unittest.TestCase):
    def lint(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile", delete=False) as f:
            f.write(text)
        try:
            return dockerfile_lint.problems(dockerfile.parse_file(f.name))
        finally:
            os.unlink(f.name)

    def test_the_real_dockerfile_passes(self):
        self.assertEqual(dockerfile_lint.problems(dockerfile.parse_file(os.path.join(DEPLOY, "Dockerfile"))), [])

    def test_a_root_single_stage_image_fails(self):
        found = self.lint('FROM rust:1.95\nRUN cargo build --release\nUSER 0\nHEALTHCHECK CMD true\n')
        self.assertEqual(found, ["must be a multi-stage build (a build stage and a runtime stage)"])
        found = self.lint(
            'FROM rust:1.95 AS b\nRUN cargo build --release\nFROM debian:12\nUSER root\n'
            'HEALTHCHECK CMD true\nENTRYPOINT /bin/x\n')
        for needle in ("--locked", "USER root", "EXPOSE 4180", "HEALTHCHECK", "exec (JSON) form"):
            self.assertTrue(any(needle in p for p in found), (needle, found))


class SnippetTest(unittest.TestCase):
    def test_the_real_snippets_pass(self):
        self.assertEqual(proxy_snippets.envoy_problems(read_yaml("envoy", "envoy.yaml")), [])
        self.assertEqual(proxy_snippets.traefik_problems(read_yaml("traefik", "dynamic.yml")), [])

    def test_envoy_without_identity_headers_fails(self):
        config = read_yaml("envoy", "envoy.yaml")
        for m in proxy_snippets.walk(config):
            if "allowed_upstream_headers" in m:
                m["allowed_upstream_headers"]["patterns"] = m["allowed_upstream_headers"]["patterns"][:1]
        self.assertTrue(any("x-forwarded-email" in p for p in proxy_snippets.envoy_problems(config)))

    def test_envoy_checking_its_own_callback_fails(self):
        config = read_yaml("envoy", "envoy.yaml")
        for m in proxy_snippets.walk(config):
            m.pop("typed_per_filter_config", None)
        self.assertIn("the /oauth2/ route must go to the sidecar with ext_authz disabled",
                      proxy_snippets.envoy_problems(config))

    def test_traefik_with_an_unknown_middleware_fails(self):
        config = read_yaml("traefik", "dynamic.yml")
        config["http"]["routers"]["app"]["middlewares"] = ["cognito-oops"]
        self.assertIn("router app: unknown middleware cognito-oops", proxy_snippets.traefik_problems(config))


class ComposeTest(unittest.TestCase):
    def test_a_published_app_fails(self):
        stack = {"services": {"sidecar": {"ports": ["127.0.0.1:4180:4180/tcp"], "read_only": True, "cap_drop": ["ALL"]},
                              "app": {"ports": ["8080:8080"], "read_only": True, "cap_drop": ["ALL"],
                                      "networks": {"default": None}}},
                 "networks": {"default": {}}}
        found = compose_check.service_problems(stack)
        self.assertIn("app: must publish no port (reachable only through the sidecar)", found)
        self.assertIn("app: network default must be internal", found)

    def test_an_issuer_the_emulator_does_not_use_fails(self):
        sidecar = read_yaml("compose", "config.yaml")
        emulator = read_yaml("compose", "emulator.yaml")
        stack = {"services": {"emulator": {"network_mode": "service:sidecar"},
                              "sidecar": {"ports": ["127.0.0.1:4180:4180/tcp", "127.0.0.1:4181:4181/tcp"]}}}
        self.assertEqual(compose_check.emulator_problems(stack, sidecar, emulator), [])
        sidecar["cognito"]["issuer"] = "http://emulator:4181/us-east-1_LOCAL"
        self.assertIn("sidecar cognito.issuer must be http://localhost:4181/us-east-1_LOCAL",
                      compose_check.emulator_problems(stack, sidecar, emulator))


if __name__ == "__main__":
    unittest.main()
