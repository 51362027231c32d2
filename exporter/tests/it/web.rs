//! `--web.config.file`: TLS, client certificates, certificate rotation and basic auth,
//! checked with real clients (curl, openssl s_client) against the real binary.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{Exporter, TempDir, curl, eventually_with, http, pki, server_cert, tls_tools};

#[test]
fn tls_serves_metrics_and_refuses_plain_http() {
    if !tls_tools() {
        return;
    }
    let dir = TempDir::new("tls");
    pki(&dir.0);
    std::fs::copy(dir.0.join("server1.crt"), dir.0.join("tls.crt")).unwrap();
    std::fs::copy(dir.0.join("server1.key"), dir.0.join("tls.key")).unwrap();
    let web = dir.write(
        "web.yml",
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n",
    );
    let exp = Exporter::start(&["--web.config.file", web.to_str().unwrap()]);
    let url = format!("https://127.0.0.1:{}/metrics", exp.addr.port());
    let ca = dir.0.join("ca.crt");
    let ok = curl(&["--cacert", ca.to_str().unwrap(), &url]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("lakewatch_build_info"));

    let untrusted = curl(&[&url]);
    assert!(
        !untrusted.status.success(),
        "a client that does not trust the CA must fail"
    );
    let plain = curl(&[&format!("http://127.0.0.1:{}/metrics", exp.addr.port())]);
    assert!(
        !plain.status.success()
            || !String::from_utf8_lossy(&plain.stdout).contains("lakewatch_build_info"),
        "plain HTTP on the TLS port must not get metrics"
    );

    // Rotation: new files on disk are served without a restart.
    let serial = |dir: &Path| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl s_client -connect 127.0.0.1:{} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -subject",
                exp.addr.port()
            ))
            .current_dir(dir)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert!(serial(&dir.0).contains("server1"), "{}", serial(&dir.0));
    server_cert(&dir.0, "server2");
    // Write the key first: until both are replaced, the pair does not match and the old
    // certificate is kept.
    std::fs::copy(dir.0.join("server2.key"), dir.0.join("tls.key")).unwrap();
    std::fs::copy(dir.0.join("server2.crt"), dir.0.join("tls.crt")).unwrap();
    eventually_with(
        Duration::from_secs(20),
        "the rotated certificate to be served",
        || format!("log:\n{}", exp.log_text()),
        || serial(&dir.0).contains("server2").then_some(()),
    );
    let ok = curl(&["--cacert", ca.to_str().unwrap(), &url]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn mtls_requires_a_client_certificate() {
    if !tls_tools() {
        return;
    }
    let dir = TempDir::new("mtls");
    pki(&dir.0);
    let web = dir.write(
        "web.yml",
        "tls_server_config:\n  cert_file: server1.crt\n  key_file: server1.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let exp = Exporter::start(&["--web.config.file", web.to_str().unwrap()]);
    let url = format!("https://127.0.0.1:{}/metrics", exp.addr.port());
    let ca = dir.0.join("ca.crt");
    let without = curl(&["--cacert", ca.to_str().unwrap(), &url]);
    assert!(
        !without.status.success(),
        "no client certificate must be refused"
    );
    let (cert, key) = (dir.0.join("client.crt"), dir.0.join("client.key"));
    let with = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        &url,
    ]);
    assert!(
        with.status.success(),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert!(String::from_utf8_lossy(&with.stdout).contains("lakewatch_build_info"));
}

#[test]
fn basic_auth() {
    let dir = TempDir::new("auth");
    let hash = bcrypt::hash("correct horse", 6).unwrap();
    let web = dir.write(
        "web.yml",
        &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
    );
    let exp = Exporter::start(&["--web.config.file", web.to_str().unwrap()]);
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let right = format!("Basic {}", b64("prometheus:correct horse"));
    let wrong = format!("Basic {}", b64("prometheus:battery staple"));
    let r = http(exp.addr, "GET", "/metrics", &[("Authorization", &right)]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("lakewatch_build_info"));
    for attempt in [Some(wrong.as_str()), None, Some("Bearer xyz")] {
        let headers: Vec<(&str, &str)> =
            attempt.map(|a| ("Authorization", a)).into_iter().collect();
        let r = http(exp.addr, "GET", "/metrics", &headers);
        assert_eq!(r.status, 401, "{attempt:?}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"lakewatch\", charset=\"UTF-8\"")
        );
        assert!(!r.text().contains("lakewatch_"), "nothing but the refusal");
    }
    // Repeated tries hit the cache: still the same answers.
    for _ in 0..20 {
        assert_eq!(
            http(exp.addr, "GET", "/metrics", &[("Authorization", &wrong)]).status,
            401
        );
        assert_eq!(
            http(exp.addr, "GET", "/healthz", &[("Authorization", &right)]).status,
            200
        );
    }
    assert!(
        !exp.log_text().contains("correct horse"),
        "password never logged"
    );
}

#[test]
fn bad_web_config_is_located() {
    let dir = TempDir::new("badweb");
    let web = dir.write("web.yml", "basic_auth_users:\n  prometheus: plaintext\n");
    let out = Command::new(crate::support::exporter_bin())
        .args(["--check-config", "--web.config.file", web.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:2:15: basic_auth_users.prometheus: not a bcrypt hash",
            web.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("plaintext"),
        "the secret is not echoed: {err}"
    );
    let web = dir.write("web2.yml", "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n  client_auth_type: RequireAnyClientCert\n");
    let out = Command::new(crate::support::exporter_bin())
        .args(["--check-config", "--web.config.file", web.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("web2.yml:2:14: cannot read"), "{err}");
}
