//! Client → server requests.
//!
//! The server reads a line with [`parse`] into a [`Request`], borrowing
//! from the line (no allocation for the common `mining.submit`); params
//! arrive as JSON arrays and are read into structs with named fields. A
//! client writes the same requests with [`Call::write`].

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use share_verifier::job::JobError;
use share_verifier::Submission;

use crate::reject::Reject;

/// A request as it arrives; `params` is parsed per method.
#[derive(Debug, Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
}

/// `mining.submit` params, `[worker, job_id, extranonce2, ntime, nonce,
/// version_bits?]`, as text borrowed from the line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Submit<'a> {
    /// `0x<address>[.<worker>]`, as authorized (borrowed unless the JSON
    /// string has escapes).
    #[serde(borrow)]
    pub worker: Cow<'a, str>,
    /// The job's id (hex).
    #[serde(borrow)]
    pub job_id: &'a str,
    /// The miner's extranonce2 (hex).
    #[serde(borrow)]
    pub extranonce2: &'a str,
    /// The header's time (8 hex digits).
    #[serde(borrow)]
    pub ntime: &'a str,
    /// The header's nonce (8 hex digits).
    #[serde(borrow)]
    pub nonce: &'a str,
    /// Rolled version bits (BIP310, 8 hex digits) when the miner rolls.
    #[serde(default, borrow)]
    pub version_bits: Option<&'a str>,
}

impl Submit<'_> {
    /// The share these fields describe on a connection with `extranonce1`.
    ///
    /// # Errors
    /// The [`JobError`] of the first malformed field (share-verifier's one
    /// parser of submit fields).
    pub fn submission(&self, extranonce1: &[u8]) -> Result<Submission, JobError> {
        Submission::from_fields(
            self.job_id,
            self.extranonce2,
            self.ntime,
            self.nonce,
            self.version_bits,
            extranonce1,
        )
    }
}

/// `mining.configure [extensions, params]` (BIP310).
#[derive(Debug, Deserialize)]
struct ConfigureParams {
    extensions: Vec<String>,
    #[serde(default)]
    params: Map<String, Value>,
}

/// A parsed request.
#[derive(Debug)]
pub enum Request<'a> {
    /// `mining.subscribe [user_agent, session_id?]`.
    Subscribe {
        /// The miner's software, when given.
        user_agent: Option<String>,
    },
    /// `mining.authorize [username, password]`.
    Authorize {
        /// `0x<address>[.<worker>]`.
        username: String,
        /// Ignored except for `d=<difficulty>`.
        password: Option<String>,
    },
    /// `mining.configure [extensions, params]` (BIP310).
    Configure {
        /// Requested extensions.
        extensions: Vec<String>,
        /// Their parameters.
        params: Map<String, Value>,
    },
    /// `mining.suggest_difficulty [difficulty]`.
    SuggestDifficulty(f64),
    /// `mining.extranonce.subscribe []`.
    ExtranonceSubscribe,
    /// `mining.submit`.
    Submit(Submit<'a>),
    /// A method this server does not implement.
    Unknown(String),
}

/// A parsed line: the id and the request, or the id (when readable) and the reject.
pub type Parsed<'a> = Result<(Option<&'a RawValue>, Request<'a>), (Option<&'a RawValue>, Reject)>;

/// Parses one line into its id and request.
///
/// # Errors
/// A [`Reject`] (with the id when it could be read) for anything that is not a valid request.
pub fn parse(line: &[u8]) -> Parsed<'_> {
    let raw: Envelope<'_> =
        serde_json::from_slice(line).map_err(|e| (None, Reject::Malformed(Arc::new(e))))?;
    let id = raw.id;
    let bad = |e: serde_json::Error| (id, Reject::BadParams(Arc::new(e)));
    let params = raw.params.map(RawValue::get).unwrap_or("[]");
    let request = match raw.method.as_ref() {
        "mining.submit" => Request::Submit(serde_json::from_str(params).map_err(bad)?),
        "mining.subscribe" => {
            // `[user_agent?, session_id?]`; lenient, as miners send `[]`,
            // non-string agents or extra entries.
            let p: Vec<Value> = serde_json::from_str(params).map_err(bad)?;
            Request::Subscribe {
                user_agent: p.first().and_then(Value::as_str).map(str::to_owned),
            }
        }
        "mining.authorize" => {
            // `[username, password?, …]`; lenient, as some miners send more.
            let p: Vec<Value> = serde_json::from_str(params).map_err(bad)?;
            let Some(Value::String(username)) = p.first() else {
                return Err((id, Reject::MissingParam("username must be a string")));
            };
            Request::Authorize {
                username: username.clone(),
                password: p.get(1).and_then(Value::as_str).map(str::to_owned),
            }
        }
        "mining.configure" => {
            let p: ConfigureParams = serde_json::from_str(params).map_err(bad)?;
            Request::Configure {
                extensions: p.extensions,
                params: p.params,
            }
        }
        "mining.suggest_difficulty" => {
            let p: Vec<Value> = serde_json::from_str(params).map_err(bad)?;
            let d = p
                .first()
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .ok_or((id, Reject::MissingParam("difficulty must be a number")))?;
            Request::SuggestDifficulty(d)
        }
        "mining.extranonce.subscribe" => Request::ExtranonceSubscribe,
        other => Request::Unknown(other.to_owned()),
    };
    Ok((id, request))
}

/// A request as a client writes it.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    /// `mining.subscribe [agent]`.
    Subscribe {
        /// The client's software and version.
        agent: &'a str,
    },
    /// `mining.authorize [user, password]`.
    Authorize {
        /// `0x<address>[.<worker>]`.
        user: &'a str,
        /// The password (pools mostly ignore it).
        password: &'a str,
    },
    /// `mining.configure [["version-rolling"], {mask, min-bit-count}]` (BIP310).
    ConfigureVersionRolling {
        /// The bits the client would like to roll.
        mask: u32,
        /// The fewest bits it can work with.
        min_bit_count: u32,
    },
    /// `mining.suggest_difficulty [difficulty]`.
    SuggestDifficulty(f64),
    /// `mining.submit [worker, job_id, extranonce2, ntime, nonce, version_bits?]`.
    Submit {
        /// The authorized worker.
        worker: &'a str,
        /// The share (its extranonce1 is the connection's, not sent).
        share: &'a Submission,
    },
}

impl Call<'_> {
    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            Call::Subscribe { .. } => "mining.subscribe",
            Call::Authorize { .. } => "mining.authorize",
            Call::ConfigureVersionRolling { .. } => "mining.configure",
            Call::SuggestDifficulty(_) => "mining.suggest_difficulty",
            Call::Submit { .. } => "mining.submit",
        }
    }

    /// Appends the request line (newline included) with id `id`.
    pub fn write(&self, out: &mut Vec<u8>, id: u64) {
        let _ = write!(
            out,
            "{{\"id\":{id},\"method\":\"{}\",\"params\":",
            self.method()
        );
        match self {
            Call::Subscribe { agent } => write_json(out, &[agent]),
            Call::Authorize { user, password } => write_json(out, &[user, password]),
            Call::ConfigureVersionRolling {
                mask,
                min_bit_count,
            } => {
                let _ = write!(
                    out,
                    "[[\"version-rolling\"],{{\"version-rolling.mask\":\"{mask:08x}\",\"version-rolling.min-bit-count\":{min_bit_count}}}]"
                );
            }
            Call::SuggestDifficulty(d) => write_json(out, &[d]),
            Call::Submit { worker, share } => {
                out.push(b'[');
                write_json(out, worker);
                // The job id in its shortest hex form: the very string a
                // pool sent when its ids are hex or decimal numbers without
                // leading zeros (ckpool's, the SRI translator's, ours), which
                // is what pools that look jobs up by string need.
                let _ = write!(
                    out,
                    ",\"{:x}\",\"{}\",\"{:08x}\",\"{:08x}\"",
                    share.job_id.0,
                    hex::encode(&share.extranonce2),
                    share.ntime,
                    share.nonce
                );
                if let Some(bits) = share.version_bits {
                    let _ = write!(out, ",\"{bits:08x}\"");
                }
                out.push(b']');
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

fn write_json(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("plain values serialise");
}

#[cfg(test)]
mod tests {
    use super::*;
    use share_verifier::JobId;

    #[test]
    fn submit_parses_borrowed_with_and_without_version_bits() {
        let line = br#"{"id":4,"method":"mining.submit","params":["w","184809ff85923e7d","0000000000000000","6849afec","e33674f1"]}"#;
        let (id, req) = parse(line).unwrap();
        assert_eq!(id.unwrap().get(), "4");
        match req {
            Request::Submit(p) => {
                assert_eq!(p.job_id, "184809ff85923e7d");
                assert_eq!(p.version_bits, None);
            }
            other => panic!("{other:?}"),
        }
        let line = br#"{"id":"x","method":"mining.submit","params":["w","1","00","6878b602","58f90070","083ac000"]}"#;
        assert!(matches!(
            parse(line).unwrap().1,
            Request::Submit(Submit {
                version_bits: Some("083ac000"),
                ..
            })
        ));
    }

    #[test]
    fn malformed_lines_and_params_are_rejects_with_code_20() {
        let (id, r) = parse(b"{not json").unwrap_err();
        assert!(id.is_none());
        assert_eq!(r.code(), 20);
        let (id, r) = parse(br#"{"id":7,"method":"mining.submit","params":[1]}"#).unwrap_err();
        assert_eq!(id.unwrap().get(), "7");
        assert!(matches!(r, Reject::BadParams(_)));
        let (_, r) = parse(br#"{"id":7,"method":"mining.authorize","params":[5]}"#).unwrap_err();
        assert!(matches!(r, Reject::MissingParam(_)));
        let line = br#"{"id":8,"method":"mining.authorize","params":["0xab","x","extra"]}"#;
        assert!(matches!(
            parse(line).unwrap().1,
            Request::Authorize { username, .. } if username == "0xab"
        ));
    }

    #[test]
    fn a_submit_a_client_writes_is_the_submit_the_server_reads() {
        let share = Submission {
            job_id: JobId(0x1234),
            extranonce1: vec![9; 4],
            extranonce2: vec![0, 1],
            ntime: 0x10,
            nonce: 0x20,
            version_bits: Some(0x2000),
        };
        let mut out = Vec::new();
        Call::Submit {
            worker: "0xab.w\"1",
            share: &share,
        }
        .write(&mut out, 7);
        assert_eq!(out.last(), Some(&b'\n'));
        let (id, req) = parse(&out[..out.len() - 1]).unwrap();
        assert_eq!(id.unwrap().get(), "7");
        let Request::Submit(p) = req else {
            panic!("{req:?}")
        };
        assert_eq!(p.extranonce2, "0001");
        // The job id goes back as the pool would have sent it: no padding.
        assert_eq!(p.job_id, "1234");
        assert_eq!(p.submission(&[9; 4]).unwrap(), share);
    }

    #[test]
    fn handshake_calls_are_read_back_by_the_server() {
        let mut out = Vec::new();
        Call::ConfigureVersionRolling {
            mask: 0x1fff_e000,
            min_bit_count: 2,
        }
        .write(&mut out, 1);
        Call::Subscribe { agent: "m/1" }.write(&mut out, 2);
        Call::Authorize {
            user: "0xab",
            password: "x",
        }
        .write(&mut out, 3);
        Call::SuggestDifficulty(0.5).write(&mut out, 4);
        let lines: Vec<_> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        match parse(lines[0]).unwrap().1 {
            Request::Configure { extensions, params } => {
                assert_eq!(extensions, ["version-rolling"]);
                assert_eq!(params["version-rolling.mask"], "1fffe000");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(lines[1]).unwrap().1,
            Request::Subscribe { user_agent: Some(a) } if a == "m/1"
        ));
        assert!(matches!(
            parse(lines[2]).unwrap().1,
            Request::Authorize { username, password: Some(p) } if username == "0xab" && p == "x"
        ));
        assert!(matches!(
            parse(lines[3]).unwrap().1,
            Request::SuggestDifficulty(d) if d == 0.5
        ));
    }
}
