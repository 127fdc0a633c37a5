//! Lines ↔ typed `mining.*` messages.
//!
//! Requests are parsed with borrowed serde types (no allocation for the
//! common `mining.submit`); responses and server messages are written by
//! hand into a byte buffer. [`Reject`] is every way a request can fail, and
//! [`Reject::code`] is the one place that maps them to Stratum's error codes
//! (DESIGN "Errors": 20 other, 21 job not found / stale, 22 duplicate,
//! 23 low difficulty, 24 unauthorized, 25 not subscribed).

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::value::RawValue;

/// A request as it arrives; `params` is parsed per method.
#[derive(Debug, Deserialize)]
pub struct RawRequest<'a> {
    /// The request id, echoed verbatim in the response (`null` for notifications).
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    /// The method name.
    #[serde(borrow)]
    pub method: std::borrow::Cow<'a, str>,
    /// The params, parsed once the method is known.
    #[serde(default, borrow)]
    pub params: Option<&'a RawValue>,
}

/// `mining.submit` params: `[worker, job_id, extranonce2, ntime, nonce, version_bits?]`.
#[derive(Debug, Deserialize)]
pub struct SubmitParams<'a>(
    #[serde(borrow)] pub &'a str,
    #[serde(borrow)] pub &'a str,
    #[serde(borrow)] pub &'a str,
    #[serde(borrow)] pub &'a str,
    #[serde(borrow)] pub &'a str,
    #[serde(default, borrow)] pub Option<&'a str>,
);

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
        params: serde_json::Map<String, serde_json::Value>,
    },
    /// `mining.suggest_difficulty [difficulty]`.
    SuggestDifficulty(f64),
    /// `mining.extranonce.subscribe []`.
    ExtranonceSubscribe,
    /// `mining.submit`.
    Submit(SubmitParams<'a>),
    /// A method this server does not implement.
    Unknown(String),
}

/// Why a request failed. Shares and requests that fail are answered with
/// the code of [`Reject::code`]; nothing here ends the connection by itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Reject {
    /// The line is not a JSON-RPC request.
    Malformed(String),
    /// Params of the wrong shape.
    BadParams(String),
    /// A method this server does not implement.
    UnknownMethod(String),
    /// A request that needs `mining.subscribe` first.
    NotSubscribed,
    /// A submit for a worker that is not authorized on this connection.
    Unauthorized(String),
    /// `mining.authorize` with a username that is not an EVM address.
    BadUsername(String),
    /// A job id this connection was never sent (or has forgotten).
    JobNotFound,
    /// A job of a previous tip.
    Stale,
    /// The same share twice.
    Duplicate,
    /// The hash misses the share target.
    LowDifficulty {
        /// Difficulty reached.
        achieved: f64,
        /// Difficulty required.
        assigned: f64,
    },
    /// Version bits outside the negotiated mask.
    BadVersionBits(String),
    /// extranonce2 of the wrong size.
    BadExtranonce2 {
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// ntime outside the allowed range.
    BadNtime(String),
    /// The share could not be recorded (the store failed).
    Internal(String),
    /// Too many invalid shares: the connection is closed and the IP banned.
    Banned,
}

impl Reject {
    /// The Stratum error code of this reject: the one place codes are decided.
    pub fn code(&self) -> i32 {
        match self {
            Reject::JobNotFound | Reject::Stale => 21,
            Reject::Duplicate => 22,
            Reject::LowDifficulty { .. } => 23,
            Reject::Unauthorized(_) | Reject::BadUsername(_) => 24,
            Reject::NotSubscribed => 25,
            Reject::Malformed(_)
            | Reject::BadParams(_)
            | Reject::UnknownMethod(_)
            | Reject::BadVersionBits(_)
            | Reject::BadExtranonce2 { .. }
            | Reject::BadNtime(_)
            | Reject::Internal(_)
            | Reject::Banned => 20,
        }
    }

    /// The message sent with the code.
    pub fn message(&self) -> String {
        match self {
            Reject::Malformed(why) => format!("malformed request: {why}"),
            Reject::BadParams(why) => format!("bad params: {why}"),
            Reject::UnknownMethod(m) => format!("unknown method {m}"),
            Reject::NotSubscribed => "not subscribed".to_owned(),
            Reject::Unauthorized(w) => format!("unauthorized worker {w}"),
            Reject::BadUsername(why) => format!("bad username: {why}"),
            Reject::JobNotFound => "job not found".to_owned(),
            Reject::Stale => "stale share: job is on a previous block".to_owned(),
            Reject::Duplicate => "duplicate share".to_owned(),
            Reject::LowDifficulty { achieved, assigned } => {
                format!("low difficulty share: {achieved:.6e} < {assigned:.6e}")
            }
            Reject::BadVersionBits(why) => format!("bad version bits: {why}"),
            Reject::BadExtranonce2 { expected, got } => {
                format!("extranonce2 must be {expected} bytes, got {got}")
            }
            Reject::BadNtime(why) => format!("ntime out of range: {why}"),
            Reject::Internal(why) => format!("internal error: {why}"),
            Reject::Banned => "too many invalid shares: banned".to_owned(),
        }
    }

    /// A short label for metrics (`shares_rejected_total{reason=...}`).
    pub fn label(&self) -> &'static str {
        match self {
            Reject::Malformed(_) => "malformed",
            Reject::BadParams(_) => "bad_params",
            Reject::UnknownMethod(_) => "unknown_method",
            Reject::NotSubscribed => "not_subscribed",
            Reject::Unauthorized(_) => "unauthorized",
            Reject::BadUsername(_) => "bad_username",
            Reject::JobNotFound => "job_not_found",
            Reject::Stale => "stale",
            Reject::Duplicate => "duplicate",
            Reject::LowDifficulty { .. } => "low_difficulty",
            Reject::BadVersionBits(_) => "bad_version_bits",
            Reject::BadExtranonce2 { .. } => "bad_extranonce2",
            Reject::BadNtime(_) => "bad_ntime",
            Reject::Internal(_) => "internal",
            Reject::Banned => "banned",
        }
    }

    /// Whether this reject counts towards the ban score: bad work, not
    /// protocol noise. Shares on a job that was just replaced (stale) or
    /// that this node no longer knows (an unknown job, e.g. after a clean
    /// notify evicted it or after a node restart) do not count: an honest
    /// ASIC sends its in-flight work after every clean notify and every
    /// reconnect, and answering them costs the node one lookup.
    pub fn is_invalid_share(&self) -> bool {
        matches!(
            self,
            Reject::Duplicate
                | Reject::LowDifficulty { .. }
                | Reject::BadVersionBits(_)
                | Reject::BadExtranonce2 { .. }
                | Reject::BadNtime(_)
                | Reject::BadParams(_)
                | Reject::Unauthorized(_)
        )
    }
}

/// A parsed line: the id and the request, or the id (when readable) and the reject.
pub type Parsed<'a> = Result<(Option<&'a RawValue>, Request<'a>), (Option<&'a RawValue>, Reject)>;

/// Parses one line into its id and request.
///
/// # Errors
/// A [`Reject`] (with the id when it could be read) for anything that is not a valid request.
pub fn parse(line: &[u8]) -> Parsed<'_> {
    let raw: RawRequest<'_> =
        serde_json::from_slice(line).map_err(|e| (None, Reject::Malformed(e.to_string())))?;
    let id = raw.id;
    let bad = |e: serde_json::Error| (id, Reject::BadParams(e.to_string()));
    let params = raw.params.map(RawValue::get).unwrap_or("[]");
    let request = match raw.method.as_ref() {
        "mining.submit" => Request::Submit(serde_json::from_str(params).map_err(bad)?),
        "mining.subscribe" => {
            let p: Vec<serde_json::Value> = serde_json::from_str(params).map_err(bad)?;
            Request::Subscribe {
                user_agent: p.first().and_then(|v| v.as_str()).map(str::to_owned),
            }
        }
        "mining.authorize" => {
            let p: Vec<serde_json::Value> = serde_json::from_str(params).map_err(bad)?;
            let username = p
                .first()
                .and_then(|v| v.as_str())
                .ok_or((
                    id,
                    Reject::BadParams("username must be a string".to_owned()),
                ))?
                .to_owned();
            Request::Authorize {
                username,
                password: p.get(1).and_then(|v| v.as_str()).map(str::to_owned),
            }
        }
        "mining.configure" => {
            let (extensions, params): (Vec<String>, serde_json::Map<String, serde_json::Value>) =
                serde_json::from_str(params).map_err(bad)?;
            Request::Configure { extensions, params }
        }
        "mining.suggest_difficulty" => {
            let p: Vec<serde_json::Value> = serde_json::from_str(params).map_err(bad)?;
            let d = p
                .first()
                .and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .ok_or((
                    id,
                    Reject::BadParams("difficulty must be a number".to_owned()),
                ))?;
            Request::SuggestDifficulty(d)
        }
        "mining.extranonce.subscribe" => Request::ExtranonceSubscribe,
        other => Request::Unknown(other.to_owned()),
    };
    Ok((id, request))
}

/// The id to echo: the raw JSON text, or `null`.
fn id_text(id: Option<&RawValue>) -> &str {
    id.map(RawValue::get).unwrap_or("null")
}

/// Appends `{"id":…,"result":<result>,"error":null}\n`.
pub fn write_result(out: &mut Vec<u8>, id: Option<&RawValue>, result: &str) {
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(id_text(id).as_bytes());
    out.extend_from_slice(b",\"result\":");
    out.extend_from_slice(result.as_bytes());
    out.extend_from_slice(b",\"error\":null}\n");
}

/// Appends `{"id":…,"result":null,"error":[code,"message",null]}\n`.
pub fn write_error(out: &mut Vec<u8>, id: Option<&RawValue>, reject: &Reject) {
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(id_text(id).as_bytes());
    out.extend_from_slice(b",\"result\":null,\"error\":[");
    let message = serde_json::to_string(&reject.message()).expect("strings serialise");
    let mut s = String::with_capacity(message.len() + 16);
    let _ = write!(s, "{},{message},null]}}", reject.code());
    out.extend_from_slice(s.as_bytes());
    out.push(b'\n');
}

/// A server-to-client notification line.
fn notification(method: &str, params: &str) -> Vec<u8> {
    format!("{{\"id\":null,\"method\":\"{method}\",\"params\":{params}}}\n").into_bytes()
}

/// `mining.set_difficulty [difficulty]`.
pub fn set_difficulty(difficulty: f64) -> Vec<u8> {
    notification("mining.set_difficulty", &format!("[{difficulty}]"))
}

/// `mining.set_extranonce [extranonce1, extranonce2_size]`.
pub fn set_extranonce(extranonce1: &[u8], extranonce2_size: usize) -> Vec<u8> {
    notification(
        "mining.set_extranonce",
        &format!("[\"{}\",{extranonce2_size}]", hex::encode(extranonce1)),
    )
}

/// `mining.set_version_mask [mask]` (BIP310).
pub fn set_version_mask(mask: u32) -> Vec<u8> {
    notification("mining.set_version_mask", &format!("[\"{mask:08x}\"]"))
}

/// `client.reconnect []`: come back to the same host (sent at shutdown).
pub fn reconnect() -> Vec<u8> {
    notification("client.reconnect", "[]")
}

/// `mining.notify` with the given params (pre-serialised once per job).
pub fn notify(params: &serde_json::Value) -> Vec<u8> {
    notification("mining.notify", &params.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_parses_borrowed_with_and_without_version_bits() {
        let line = br#"{"id":4,"method":"mining.submit","params":["w","184809ff85923e7d","0000000000000000","6849afec","e33674f1"]}"#;
        let (id, req) = parse(line).unwrap();
        assert_eq!(id.unwrap().get(), "4");
        match req {
            Request::Submit(p) => {
                assert_eq!(p.1, "184809ff85923e7d");
                assert_eq!(p.5, None);
            }
            other => panic!("{other:?}"),
        }
        let line = br#"{"id":"x","method":"mining.submit","params":["w","1","00","6878b602","58f90070","083ac000"]}"#;
        assert!(matches!(
            parse(line).unwrap().1,
            Request::Submit(SubmitParams(.., Some("083ac000")))
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
    }

    #[test]
    fn responses_echo_the_id_and_errors_carry_code_and_message() {
        let mut out = Vec::new();
        write_result(&mut out, None, "true");
        let id = RawValue::from_string("\"a\"".to_owned()).unwrap();
        write_error(&mut out, Some(&id), &Reject::Duplicate);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":null,\"result\":true,\"error\":null}\n{\"id\":\"a\",\"result\":null,\"error\":[22,\"duplicate share\",null]}\n"
        );
        assert_eq!(
            String::from_utf8(set_difficulty(0.005)).unwrap(),
            "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[0.005]}\n"
        );
        assert_eq!(
            String::from_utf8(set_version_mask(0x1fffe000)).unwrap(),
            "{\"id\":null,\"method\":\"mining.set_version_mask\",\"params\":[\"1fffe000\"]}\n"
        );
    }

    #[test]
    fn every_reject_has_a_conventional_code() {
        assert_eq!(Reject::JobNotFound.code(), 21);
        assert_eq!(Reject::Stale.code(), 21);
        assert_eq!(Reject::Duplicate.code(), 22);
        assert_eq!(
            Reject::LowDifficulty {
                achieved: 1.0,
                assigned: 2.0
            }
            .code(),
            23
        );
        assert_eq!(Reject::Unauthorized("w".into()).code(), 24);
        assert_eq!(Reject::NotSubscribed.code(), 25);
        assert_eq!(Reject::UnknownMethod("x".into()).code(), 20);
    }
}
