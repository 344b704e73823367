//! The Kubernetes manifests in deploy/ agree with the binary: every flag they pass exists,
//! each role listens on the port its Service and probes expect, and the BFF's configuration
//! they mount is one the BFF accepts. What `kubectl kustomize deploy/` renders is valid
//! against Kubernetes 1.32's schemas (`kubernetes-validate` from the pinned virtualenv that
//! `cargo xtask test` creates), the stateless roles scale on CPU and survive a node drain, and
//! the NetworkPolicies let through exactly the calls the shop makes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mall::BFF_PORT;
use mall_services::Role;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn manifest(name: &str) -> String {
    let path = deploy_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The container's arguments: the `- ` items under `args:`, in order.
fn args(manifest: &str) -> Vec<String> {
    let mut lines = manifest.lines().skip_while(|l| l.trim() != "args:").skip(1);
    let mut out = Vec::new();
    for line in lines.by_ref() {
        let Some(item) = line.trim().strip_prefix("- ") else {
            break;
        };
        out.push(item.trim().to_owned());
    }
    out
}

fn value_after<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).map(String::as_str)
}

fn container_port(manifest: &str) -> u16 {
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("containerPort:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("a containerPort")
}

fn help() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mall"))
        .arg("--help")
        .output()
        .expect("mall --help runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_flag_the_manifests_pass_exists() {
    let help = help();
    for name in [
        "order.yaml",
        "delivery.yaml",
        "product.yaml",
        "mypage.yaml",
        "bff.yaml",
    ] {
        let args = args(&manifest(name));
        assert!(!args.is_empty(), "{name} passes arguments");
        for flag in args.iter().filter(|a| a.starts_with("--")) {
            assert!(help.contains(flag.as_str()), "{name}: `mall` has no {flag}");
        }
    }
}

#[test]
fn each_role_listens_where_its_service_points() {
    for role in Role::ALL {
        let text = manifest(&format!("{}.yaml", role.name()));
        let args = args(&text);
        assert_eq!(value_after(&args, "--target"), Some(role.name()));
        assert_eq!(container_port(&text), role.default_port(), "{role:?}");
        let url = format!("http://{}:{}", role.name(), role.default_port());
        let flag = format!("--{}-url", role.name());
        assert_eq!(value_after(&args, &flag), Some(url.as_str()), "{role:?}");
        assert!(
            value_after(&args, "--bus").is_some_and(|b| b.starts_with("nats://")),
            "{role:?} alone needs the shared bus"
        );
    }
    let bff = manifest("bff.yaml");
    assert_eq!(value_after(&args(&bff), "--target"), Some("bff"));
    assert_eq!(container_port(&bff), BFF_PORT);
}

#[test]
fn the_mounted_bff_configuration_is_valid() {
    let text = manifest("bff-config.yaml");
    let toml: String = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("bff.toml: |"))
        .skip(1)
        .map(|l| l.strip_prefix("    ").unwrap_or(l.trim()))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(toml.contains("[resilience.all]"), "{toml}");
    mall_bff::BffConfig::from_toml(&toml).expect("the BFF accepts the mounted configuration");
}

// ---- The rendered manifests -------------------------------------------------------------

/// The Kubernetes version the manifests are validated against.
const KUBERNETES_VERSION: &str = "1.32.0";

/// The roles that keep no state of their own (it is in PostgreSQL and NATS): each scales
/// with an autoscaler and keeps serving through a drain.
const SCALED: [&str; 4] = ["bff", "order", "product", "delivery"];

/// The projection's single writer: one replica, no autoscaler, no disruption budget.
const SINGLETON: &str = "mypage";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A program of the Python virtualenv with the pinned tools (`kubernetes-validate`).
fn venv_program(name: &str) -> PathBuf {
    let path = workspace_root().join("target/tools/venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask test`, which creates the virtualenv \
         target/tools/venv with the pinned kubernetes-validate",
        path.display()
    );
    path
}

/// Runs a program with `input` on its standard input; its status and standard output and
/// error together.
fn run_with_input(command: &mut Command, input: &str) -> (bool, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .expect("the program runs to its end");
    writer
        .join()
        .expect("the writer thread ends")
        .expect("the program reads its input");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// What `kubectl kustomize deploy/` renders (what `kubectl apply -k deploy/` would send).
fn rendered_yaml() -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(deploy_dir())
        .output()
        .expect("kubectl runs (the 1.32 client is part of the development machine)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kubectl kustomize deploy/: {stderr}");
    String::from_utf8(out.stdout).expect("kustomize renders UTF-8")
}

/// The rendered resources as JSON, read by PyYAML from the same virtualenv.
fn rendered() -> Vec<Value> {
    let (ok, json) = run_with_input(
        Command::new(venv_program("python")).args([
            "-c",
            "import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)",
        ]),
        &rendered_yaml(),
    );
    assert!(ok, "reading the rendered YAML: {json}");
    match serde_json::from_str(&json) {
        Ok(Value::Array(docs)) => docs,
        other => panic!("the rendered YAML is a list of resources: {other:?}"),
    }
}

fn str_at<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| str_at(d, "/kind") == kind).collect()
}

fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    of_kind(docs, kind)
        .into_iter()
        .find(|d| str_at(d, "/metadata/name") == name)
}

type Labels = BTreeMap<String, String>;

fn labels_at(doc: &Value, pointer: &str) -> Labels {
    doc.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a Kubernetes label selector (`matchLabels` and `matchExpressions`) selects
/// these labels. An empty selector selects everything.
fn selects(selector: &Value, labels: &Labels) -> bool {
    let exact = labels_at(selector, "/matchLabels")
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    exact
        && expressions.iter().all(|e| {
            let value = labels.get(str_at(e, "/key"));
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match str_at(e, "/operator") {
                "In" => value.is_some_and(|v| values.contains(&v.as_str())),
                "NotIn" => !value.is_some_and(|v| values.contains(&v.as_str())),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                other => panic!("unknown selector operator {other}"),
            }
        })
}

#[test]
fn the_rendered_manifests_are_valid_kubernetes_1_32() {
    let yaml = rendered_yaml();
    let resources = rendered().len();
    let (ok, report) = run_with_input(
        Command::new(venv_program("kubernetes-validate")).args([
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--strict",
            "-",
        ]),
        &yaml,
    );
    assert!(ok, "kubernetes-validate refuses the manifests:\n{report}");
    // A kind it has no schema for is only a warning there; here it is a failure, since
    // such a resource was checked against nothing.
    let complaints: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("WARN") || l.starts_with("ERROR"))
        .collect();
    assert!(complaints.is_empty(), "{}", complaints.join("\n"));
    let passed = report.matches("passed for resource").count();
    assert_eq!(passed, resources, "every resource was checked:\n{report}");
}

#[test]
fn every_role_runs_the_image_cargo_xtask_image_tags() {
    // `cargo xtask image` tags the image with the mall crate's version.
    let image = format!("12st-mall:{}", env!("CARGO_PKG_VERSION"));
    let docs = rendered();
    let deployments = of_kind(&docs, "Deployment");
    assert_eq!(
        deployments.len(),
        Role::ALL.len() + 1,
        "one Deployment per role"
    );
    for d in deployments {
        assert_eq!(
            str_at(d, "/spec/template/spec/containers/0/image"),
            image,
            "{}",
            str_at(d, "/metadata/name")
        );
    }
}

#[test]
fn the_stateless_roles_scale_on_cpu_and_keep_serving_through_a_drain() {
    let docs = rendered();
    for name in SCALED {
        let deployment = named(&docs, "Deployment", name).expect("a Deployment per role");
        assert!(
            deployment.pointer("/spec/replicas").is_none(),
            "{name}: the autoscaler owns the replica count; a fixed `replicas` resets it on \
             every apply"
        );
        let hpa = of_kind(&docs, "HorizontalPodAutoscaler")
            .into_iter()
            .find(|h| {
                str_at(h, "/spec/scaleTargetRef/kind") == "Deployment"
                    && str_at(h, "/spec/scaleTargetRef/name") == name
            })
            .unwrap_or_else(|| panic!("{name}: no HorizontalPodAutoscaler scales it"));
        let min = hpa.pointer("/spec/minReplicas").and_then(Value::as_u64);
        let max = hpa.pointer("/spec/maxReplicas").and_then(Value::as_u64);
        assert!(
            min.is_some_and(|m| m >= 2) && max > min,
            "{name}: scales from at least two replicas upwards ({min:?}..{max:?})"
        );
        let on_cpu = hpa
            .pointer("/spec/metrics")
            .and_then(Value::as_array)
            .is_some_and(|ms| {
                ms.iter().any(|m| {
                    str_at(m, "/resource/name") == "cpu"
                        && str_at(m, "/resource/target/type") == "Utilization"
                })
            });
        assert!(on_cpu, "{name}: scales on CPU utilisation");
        let containers = deployment
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .expect("containers");
        for c in containers {
            assert!(
                c.pointer("/resources/requests/cpu").is_some(),
                "{name}: utilisation is measured against a CPU request, and there is none"
            );
        }

        let pods = labels_at(deployment, "/spec/template/metadata/labels");
        let budgets: Vec<&Value> = of_kind(&docs, "PodDisruptionBudget")
            .into_iter()
            .filter(|b| selects(&b["spec"]["selector"], &pods))
            .collect();
        assert_eq!(
            budgets.len(),
            1,
            "{name}: one PodDisruptionBudget covers it"
        );
        let budget = budgets[0];
        // With at least two replicas and one allowed away, a drain always proceeds and
        // never takes the role down.
        assert_eq!(
            budget
                .pointer("/spec/maxUnavailable")
                .and_then(Value::as_u64),
            Some(1),
            "{name}: a drain takes one pod at a time"
        );
        assert_eq!(
            str_at(budget, "/spec/unhealthyPodEvictionPolicy"),
            "AlwaysAllow",
            "{name}: a pod that is not ready anyway never blocks a drain"
        );
    }

    let single = named(&docs, "Deployment", SINGLETON).expect("the mypage Deployment");
    assert_eq!(single.pointer("/spec/replicas"), Some(&Value::from(1)));
    let pods = labels_at(single, "/spec/template/metadata/labels");
    assert!(
        !of_kind(&docs, "PodDisruptionBudget")
            .iter()
            .any(|b| selects(&b["spec"]["selector"], &pods)),
        "a budget on the single mypage pod would block every drain"
    );
    assert!(
        !of_kind(&docs, "HorizontalPodAutoscaler")
            .iter()
            .any(|h| str_at(h, "/spec/scaleTargetRef/name") == SINGLETON),
        "the projection keeps one writer"
    );
    for hpa in of_kind(&docs, "HorizontalPodAutoscaler") {
        let target = str_at(hpa, "/spec/scaleTargetRef/name");
        assert!(SCALED.contains(&target), "an autoscaler for {target}");
    }
}

/// A pod somewhere in the cluster that might open a connection.
struct Caller {
    what: &'static str,
    namespace: &'static str,
    labels: Labels,
}

/// The namespace the manifests are applied to (they name none).
const NAMESPACE: &str = "mall";

impl Caller {
    fn new(what: &'static str, namespace: &'static str, name: &str) -> Caller {
        let labels = [("app.kubernetes.io/name".to_owned(), name.to_owned())].into();
        Caller {
            what,
            namespace,
            labels,
        }
    }

    fn namespace_labels(&self) -> Labels {
        [(
            "kubernetes.io/metadata.name".to_owned(),
            self.namespace.to_owned(),
        )]
        .into()
    }
}

/// Whether a connection from `caller` to a pod with `labels` on `port` is let through by
/// the NetworkPolicies (a pod no policy selects for ingress accepts everything).
fn admitted(policies: &[&Value], caller: &Caller, labels: &Labels, port: (&str, u16)) -> bool {
    let isolating: Vec<&&Value> = policies
        .iter()
        .filter(|p| selects(&p["spec"]["podSelector"], labels))
        .filter(|p| {
            p.pointer("/spec/policyTypes")
                .and_then(Value::as_array)
                .is_none_or(|t| t.iter().any(|t| t == "Ingress"))
        })
        .collect();
    if isolating.is_empty() {
        return true;
    }
    let rules = isolating.iter().flat_map(|p| {
        p.pointer("/spec/ingress")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    });
    for rule in rules {
        let from_ok = match rule.get("from").and_then(Value::as_array) {
            None => true,
            Some(peers) => peers.iter().any(|peer| {
                assert!(
                    peer.get("ipBlock").is_none(),
                    "ipBlock peers are not modelled"
                );
                let pods_ok = match peer.get("podSelector") {
                    Some(s) => selects(s, &caller.labels),
                    None => true,
                };
                let namespace_ok = match peer.get("namespaceSelector") {
                    Some(s) => selects(s, &caller.namespace_labels()),
                    None => caller.namespace == NAMESPACE,
                };
                pods_ok && namespace_ok
            }),
        };
        let port_ok = match rule.get("ports").and_then(Value::as_array) {
            None => true,
            Some(ports) => ports.iter().any(|p| match p.get("port") {
                None => true,
                Some(Value::String(name)) => name == port.0,
                Some(number) => number.as_u64() == Some(u64::from(port.1)),
            }),
        };
        if from_ok && port_ok {
            return true;
        }
    }
    false
}

#[test]
fn only_the_calls_the_shop_makes_reach_each_role() {
    let docs = rendered();
    let policies = of_kind(&docs, "NetworkPolicy");
    let roles = ["bff", "order", "delivery", "product", "mypage"];
    let mut callers: Vec<Caller> = roles
        .iter()
        .map(|r| Caller::new("a mall role", NAMESPACE, r))
        .collect();
    callers.extend([
        Caller::new("the ingress controller", "ingress-nginx", "ingress-nginx"),
        Caller::new("Prometheus", "monitoring", "prometheus"),
        Caller::new("a stranger in the namespace", NAMESPACE, "debug-shell"),
        Caller::new("NATS", NAMESPACE, "nats"),
        Caller::new("a pod of another namespace", "default", "bff"),
    ]);
    // Who calls whom: the ingress the BFF, the BFF every service, the order service the
    // product catalogue, every service the BFF's token keys (`/auth/jwks.json`);
    // Prometheus scrapes every role. Events go through NATS.
    let expected = |caller: &Caller, role: &str| -> bool {
        let name = caller.labels["app.kubernetes.io/name"].as_str();
        match (caller.namespace, name, role) {
            ("ingress-nginx", _, "bff") => true,
            ("monitoring", _, _) => true,
            (NAMESPACE, "bff", r) => r != "bff",
            (NAMESPACE, "order" | "delivery" | "product" | "mypage", "bff") => true,
            (NAMESPACE, "order", "product") => true,
            _ => false,
        }
    };
    for role in roles {
        let deployment = named(&docs, "Deployment", role).expect("a Deployment per role");
        let labels = labels_at(deployment, "/spec/template/metadata/labels");
        let port = deployment
            .pointer("/spec/template/spec/containers/0/ports/0")
            .expect("the role's port");
        let port = (
            str_at(port, "/name"),
            port["containerPort"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .expect("a port number"),
        );
        for caller in &callers {
            let name = &caller.labels["app.kubernetes.io/name"];
            let (want, got) = (
                expected(caller, role),
                admitted(&policies, caller, &labels, port),
            );
            assert_eq!(
                got, want,
                "{} ({name} in {}) -> {role}:{}: admitted {got}, the shop needs {want}",
                caller.what, caller.namespace, port.1
            );
            assert!(
                !admitted(&policies, caller, &labels, ("debug", 9229)),
                "{name} -> {role}: only the HTTP port is open"
            );
        }
    }

    let ingress = named(&docs, "Ingress", "mall").expect("an Ingress for the shop");
    let backend = ingress
        .pointer("/spec/rules/0/http/paths/0/backend/service")
        .expect("the Ingress routes to a Service");
    assert_eq!(str_at(backend, "/name"), "bff");
    let service = named(&docs, "Service", "bff").expect("the bff Service");
    let service_port = str_at(service, "/spec/ports/0/name");
    assert_eq!(str_at(backend, "/port/name"), service_port);
}
