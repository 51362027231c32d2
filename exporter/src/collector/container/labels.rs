//! The Docker labels copied onto `lakewatch_container_info`: only allow-listed keys, each
//! made a valid Prometheus label name the way cAdvisor does it.

use lakewatch_catalog as cat;

/// `container_label_<sanitized key>` pairs for the allow-listed Docker labels the
/// container has. Sanitizing maps every character outside `[a-zA-Z0-9_]` to `_`, as
/// cAdvisor does; on a collision the first key in allow-list order wins.
pub(crate) fn info_labels<'a>(
    allow: &[String],
    labels: impl Fn(&str) -> Option<&'a String>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for key in allow {
        let Some(value) = labels(key) else {
            continue;
        };
        let name = format!(
            "{}{}",
            cat::CONTAINER_LABEL_PREFIX,
            sanitize_label_name(key)
        );
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, value.clone()));
        }
    }
    out.sort();
    out
}

/// Maps a Docker label key to a valid Prometheus label name fragment.
pub fn sanitize_label_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn info_labels_are_allow_listed_and_sanitized() {
        let labels: HashMap<String, String> = [
            ("com.docker.compose.project", "lake"),
            ("com.docker.compose.service", "db"),
            ("secret.token", "hunter2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let allow = vec![
            "com.docker.compose.service".to_string(),
            "com.docker.compose.project".to_string(),
            "com_docker_compose_project".to_string(),
            "absent".to_string(),
        ];
        assert_eq!(
            info_labels(&allow, |k| labels.get(k)),
            vec![
                (
                    "container_label_com_docker_compose_project".into(),
                    "lake".into()
                ),
                (
                    "container_label_com_docker_compose_service".into(),
                    "db".into()
                ),
            ]
        );
        assert_eq!(sanitize_label_name("a-b.c/d_1"), "a_b_c_d_1");
    }
}
