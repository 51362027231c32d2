//! Trino's REST responses (`ServerInfo`, `BasicQueryInfo`, `BasicQueryStats`,
//! `ClusterStatsResource.ClusterStats`), reduced to the fields the collector uses, and
//! the streaming reader of the `/v1/query` list.

use serde::Deserialize;

/// `/v1/info`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// `nodeVersion`: the Trino release.
    pub node_version: Option<NodeVersion>,
    /// `environment`: the cluster's `node.environment`.
    pub environment: Option<String>,
    #[serde(default)]
    /// `coordinator`: whether this node coordinates (the collector expects one).
    pub coordinator: bool,
    #[serde(default)]
    /// `starting`: true until the node has finished starting.
    pub starting: bool,
    /// airlift Duration; optional in older versions.
    pub uptime: Option<String>,
    /// Only in recent versions; older ones need `/v1/info/state`.
    pub state: Option<String>,
}

/// `ServerInfo.nodeVersion`.
#[derive(Debug, Deserialize)]
pub struct NodeVersion {
    /// `version`, e.g. `"476"`.
    pub version: Option<String>,
}

/// One entry of `/v1/query` (`BasicQueryInfo`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryInfo {
    /// `queryId`, unique in the cluster.
    pub query_id: String,
    /// `state`: `QUEUED`, `RUNNING`, `FINISHED`, `FAILED`, ….
    pub state: String,
    /// Omitted unless the query failed.
    pub error_type: Option<String>,
    #[serde(default)]
    /// `queryStats`.
    pub query_stats: QueryStats,
}

/// `BasicQueryInfo.queryStats` (`BasicQueryStats`); sizes and durations are airlift
/// strings, parsed only when needed.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStats {
    /// `queuedTime`: time spent queued.
    pub queued_time: Option<String>,
    /// `executionTime`: time spent executing.
    pub execution_time: Option<String>,
    /// `totalCpuTime`: CPU time over all tasks.
    pub total_cpu_time: Option<String>,
    /// `rawInputDataSize`: bytes read from the sources.
    pub raw_input_data_size: Option<String>,
    /// `userMemoryReservation`: user memory held now.
    pub user_memory_reservation: Option<String>,
    #[serde(default)]
    /// `fullyBlocked`: every driver of the query is blocked.
    pub fully_blocked: bool,
}

/// `/ui/api/stats`. Numbers as `f64`: Jackson may write a `long` or `double` in either
/// plain or Java double notation (`1.0E10`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStats {
    /// `activeWorkers`: workers the coordinator schedules on.
    pub active_workers: Option<f64>,
    /// `runningDrivers`: drivers (splits) running now.
    pub running_drivers: Option<f64>,
    /// `totalAvailableProcessors`: cores of the active workers.
    pub total_available_processors: Option<f64>,
}

/// One entry of the query list, or why it could not be used.
#[derive(Debug)]
pub enum Entry {
    /// A usable entry.
    Query(QueryInfo),
    /// Not a valid `BasicQueryInfo`; the id when one could be read.
    Malformed(Option<String>),
}

/// Parses a whole `/v1/query` body (see [`QueryListReader`]).
pub fn parse_query_list(body: &[u8]) -> Result<Vec<Entry>, String> {
    let mut reader = QueryListReader::default();
    reader.push(body);
    reader.finish()
}

/// Largest single entry kept for parsing; a longer one (a huge query text) is skipped
/// as malformed. Trino's own `query.max-length` is 1,000,000 characters.
const ENTRY_LIMIT: usize = 4 << 20;

/// Reads a `/v1/query` body as it arrives: the top-level array is split into its
/// elements on the fly and each element is parsed into [`QueryInfo`] on its own, so
/// memory holds one element and the fields kept per query, never the body (a
/// coordinator with thousands of remembered queries sends megabytes). Only a body that
/// is not a complete JSON array is an error; an element that is not a valid
/// `BasicQueryInfo` becomes [`Entry::Malformed`].
#[derive(Debug, Default)]
pub struct QueryListReader {
    state: ListState,
    /// Nesting depth inside the current element.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The current element's bytes; cleared (and `oversized` set) past [`ENTRY_LIMIT`].
    element: Vec<u8>,
    oversized: bool,
    entries: Vec<Entry>,
    error: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
enum ListState {
    /// Before the opening `[`.
    #[default]
    Start,
    /// After `[` (`first`) or a `,`: an element, or `]` right after `[`.
    Between { first: bool },
    /// Inside an element.
    Element,
    /// After the closing `]`: only whitespace may follow.
    Done,
}

impl QueryListReader {
    /// Takes the next piece of the body.
    pub fn push(&mut self, mut chunk: &[u8]) {
        while let Some(&b) = chunk.first() {
            if self.error.is_some() {
                return;
            }
            if self.state == ListState::Element {
                let n = self.element_bytes(chunk);
                chunk = &chunk[n..];
            } else if self.between_elements(b) {
                chunk = &chunk[1..];
            }
        }
    }

    /// The entries, once the whole body was pushed.
    pub fn finish(mut self) -> Result<Vec<Entry>, String> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match self.state {
            ListState::Done => Ok(self.entries),
            ListState::Start => Err("empty body, expected a JSON array".into()),
            _ => Err("the JSON array ends early (body cut short?)".into()),
        }
    }

    fn fail(&mut self, message: String) {
        self.error = Some(message);
    }

    /// Takes a byte outside any element; false when it starts one (left for
    /// [`Self::element_bytes`]).
    fn between_elements(&mut self, b: u8) -> bool {
        let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.state {
            ListState::Start if space => {}
            ListState::Start if b == b'[' => self.state = ListState::Between { first: true },
            ListState::Start => self.fail(format!(
                "expected a JSON array, found {:?} first",
                char::from(b)
            )),
            ListState::Between { .. } if space => {}
            ListState::Between { first: true } if b == b']' => self.state = ListState::Done,
            ListState::Between { .. } if b == b']' || b == b',' => self.fail(format!(
                "{:?} where a list element was expected",
                char::from(b)
            )),
            ListState::Between { .. } | ListState::Element => {
                self.state = ListState::Element;
                return false;
            }
            ListState::Done if space => {}
            ListState::Done => self.fail(format!(
                "{:?} after the end of the JSON array",
                char::from(b)
            )),
        }
        true
    }

    /// Consumes bytes of the current element from `chunk`, up to and including the `,`
    /// or `]` that ends it; returns how many. Runs of string content are skipped in one
    /// search and copied in one go.
    fn element_bytes(&mut self, chunk: &[u8]) -> usize {
        let mut i = 0;
        while i < chunk.len() {
            if self.in_string && !self.escaped {
                // Jump to the next quote or backslash: the bulk of an entry is its text.
                match chunk[i..].iter().position(|&c| c == b'"' || c == b'\\') {
                    Some(p) => i += p,
                    None => {
                        i = chunk.len();
                        break;
                    }
                }
            }
            let b = chunk[i];
            i += 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => self.depth -= 1,
                b',' | b']' if self.depth == 0 => {
                    self.keep(&chunk[..i - 1]);
                    self.end_element();
                    self.state = if b == b']' {
                        ListState::Done
                    } else {
                        ListState::Between { first: false }
                    };
                    return i;
                }
                b'}' => {
                    self.fail("unbalanced '}' in the JSON array".into());
                    return i;
                }
                _ => {}
            }
        }
        self.keep(&chunk[..i]);
        i
    }

    /// Appends to the current element, or drops it for good past [`ENTRY_LIMIT`].
    fn keep(&mut self, bytes: &[u8]) {
        if self.oversized {
            return;
        }
        if self.element.len() + bytes.len() > ENTRY_LIMIT {
            self.element = Vec::new();
            self.oversized = true;
        } else {
            self.element.extend_from_slice(bytes);
        }
    }

    fn end_element(&mut self) {
        /// What is left of an element that is not a valid `BasicQueryInfo`.
        #[derive(Deserialize)]
        struct Id {
            #[serde(rename = "queryId")]
            query_id: Option<String>,
        }
        let entry = if std::mem::take(&mut self.oversized) {
            Entry::Malformed(None)
        } else {
            match serde_json::from_slice::<QueryInfo>(&self.element) {
                Ok(q) => Entry::Query(q),
                Err(_) => Entry::Malformed(
                    serde_json::from_slice::<Id>(&self.element)
                        .ok()
                        .and_then(|i| i.query_id),
                ),
            }
        };
        self.entries.push(entry);
        self.element.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_list_tolerates_unknown_missing_and_bad_fields() {
        let body = br#"[
            {"queryId":"a","state":"RUNNING","unknownField":{"x":1},"queryStats":{"fullyBlocked":true,"progressPercentage":1.0E1}},
            {"queryId":"b","state":7},
            {"state":"FINISHED"},
            {"queryId":"c","state":"FAILED","errorType":"EXTERNAL","queryStats":{"executionTime":"0.00ns","queuedTime":"0.00ns","totalCpuTime":"0.00ns","rawInputDataSize":"0B"}},
            5,
            {"queryId":9,"state":"RUNNING"}
        ]"#;
        let entries = parse_query_list(body).unwrap();
        assert!(matches!(&entries[0], Entry::Query(q) if q.query_stats.fully_blocked));
        assert!(matches!(&entries[1], Entry::Malformed(Some(id)) if id == "b"));
        assert!(matches!(&entries[2], Entry::Malformed(None)));
        assert!(
            matches!(&entries[3], Entry::Query(q) if q.error_type.as_deref() == Some("EXTERNAL"))
        );
        assert!(matches!(&entries[4], Entry::Malformed(None)));
        assert!(matches!(&entries[5], Entry::Malformed(None)));
        assert_eq!(entries.len(), 6);
        assert!(parse_query_list(b"{\"not\":\"a list\"}").is_err());
        assert!(parse_query_list(b"<html>").is_err());
    }

    /// The body in any pieces gives what the whole body gives: every split point, and
    /// one byte at a time.
    #[test]
    fn query_list_reader_does_not_depend_on_chunking() {
        let body =
            br#" [ {"queryId":"a]\"},{[","state":"RUNNING","queryStats":{"fullyBlocked":true}},
            [1,[2]], "x,]", {"queryId":"b","state":7} ,
            {"queryId":"c","state":"FINISHED","errorType":null}]
        "#;
        let whole = format!("{:?}", parse_query_list(body).unwrap());
        assert!(whole.contains(r#"query_id: "a]\"},{[""#), "{whole}");
        assert!(whole.contains(r#"Malformed(Some("b"))"#), "{whole}");
        assert_eq!(parse_query_list(body).unwrap().len(), 5);
        for at in 0..=body.len() {
            let mut r = QueryListReader::default();
            r.push(&body[..at]);
            r.push(&body[at..]);
            assert_eq!(format!("{:?}", r.finish().unwrap()), whole, "split at {at}");
        }
        let mut r = QueryListReader::default();
        for b in body {
            r.push(std::slice::from_ref(b));
        }
        assert_eq!(format!("{:?}", r.finish().unwrap()), whole, "byte by byte");
    }

    #[test]
    fn query_list_reader_refuses_what_is_not_one_complete_array() {
        for ok in [&b"[]"[..], b" \n[ \t]\r\n", b"[{}]"] {
            assert!(
                parse_query_list(ok).is_ok(),
                "{:?}",
                String::from_utf8_lossy(ok)
            );
        }
        for bad in [
            &b""[..],
            b"   ",
            b"[",
            b"[{\"queryId\":\"a\"",
            b"[1,",
            b"[1,]",
            b"[,1]",
            b"[1] x",
            b"[1]]",
            b"]",
            b"{}",
            b"[}]",
            b"<html>",
        ] {
            assert!(
                parse_query_list(bad).is_err(),
                "{:?} accepted",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// A huge element is skipped, not kept: memory stays bounded by ENTRY_LIMIT and the
    /// entries after it are still read.
    #[test]
    fn oversized_entry_is_skipped_as_malformed() {
        let mut r = QueryListReader::default();
        r.push(br#"[{"queryId":"huge","state":"RUNNING","query":""#);
        let text = vec![b'x'; 1 << 20];
        for _ in 0..5 {
            r.push(&text);
            assert!(r.element.capacity() <= ENTRY_LIMIT + (1 << 20));
        }
        r.push(br#""},{"queryId":"next","state":"RUNNING"}]"#);
        let entries = r.finish().unwrap();
        assert!(matches!(&entries[0], Entry::Malformed(None)), "{entries:?}");
        assert!(matches!(&entries[1], Entry::Query(q) if q.query_id == "next"));
    }

    #[test]
    fn server_info_of_old_and_new_versions() {
        let old: ServerInfo = serde_json::from_str(
            r#"{"nodeVersion":{"version":"351"},"environment":"prod","coordinator":true,"starting":false}"#,
        )
        .unwrap();
        assert!(old.uptime.is_none() && old.state.is_none());
        let new: ServerInfo = serde_json::from_str(
            r#"{"nodeId":"n1","state":"ACTIVE","nodeVersion":{"version":"476"},"environment":"prod","coordinator":true,"coordinatorId":"n1","starting":false,"uptime":"3.20m","nodeGroups":[]}"#,
        )
        .unwrap();
        assert_eq!(new.state.as_deref(), Some("ACTIVE"));
        let stats: ClusterStats = serde_json::from_str(
            r#"{"runningQueries":1,"activeWorkers":4,"runningDrivers":1.0E3,"totalAvailableProcessors":64,"reservedMemory":1.5E10}"#,
        )
        .unwrap();
        assert_eq!(stats.running_drivers, Some(1000.0));
    }
}
