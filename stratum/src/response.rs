//! Answers to requests: `{"id":…,"result":…,"error":…}`.
//!
//! The server writes them by hand into its output buffer ([`write_result`],
//! [`write_error`], [`subscribe_result`]); a client reads them as a
//! [`Response`].

use std::io::Write as _;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::ProtocolError;
use crate::reject::Reject;

/// The id to echo: the raw JSON text, or `null`.
fn id_text(id: Option<&RawValue>) -> &str {
    id.map(RawValue::get).unwrap_or("null")
}

/// Appends `{"id":…,"result":<result>,"error":null}\n`; `result` is JSON text.
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
    let _ = write!(out, ",\"result\":null,\"error\":[{},", reject.code());
    serde_json::to_writer(&mut *out, &reject.to_string()).expect("strings serialise");
    out.extend_from_slice(b",null]}\n");
}

/// The result of `mining.subscribe`: subscriptions, extranonce1 (hex) and
/// extranonce2's size, `[[["mining.set_difficulty",e],["mining.notify",e]],e,n]`.
pub fn subscribe_result(extranonce1: &[u8], extranonce2_size: usize) -> String {
    let en1 = hex::encode(extranonce1);
    format!(
        "[[[\"mining.set_difficulty\",\"{en1}\"],[\"mining.notify\",\"{en1}\"]],\"{en1}\",{extranonce2_size}]"
    )
}

/// What a subscribe result tells a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    /// The connection's extranonce1.
    pub extranonce1: Vec<u8>,
    /// extranonce2's size in bytes.
    pub extranonce2_size: usize,
}

/// `[subscriptions, extranonce1, extranonce2_size]`.
#[derive(Deserialize)]
struct SubscribeResult(serde::de::IgnoredAny, String, usize);

impl Subscribed {
    /// Reads the result of `mining.subscribe`.
    ///
    /// # Errors
    /// [`ProtocolError::Shape`] when it is not `[subscriptions, hex, size]`.
    pub fn from_result(result: &Value) -> Result<Subscribed, ProtocolError> {
        let shape = || ProtocolError::Shape {
            what: "subscribe result",
            line: result.to_string(),
        };
        let SubscribeResult(_, en1, size) =
            SubscribeResult::deserialize(result).map_err(|_| shape())?;
        Ok(Subscribed {
            extranonce1: hex::decode(en1).map_err(|_| shape())?,
            extranonce2_size: size,
        })
    }
}

/// A pool's error, `[code, message, traceback?]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct StratumError {
    /// The Stratum error code (see [`Reject::code`]).
    pub code: i64,
    /// The message.
    pub message: String,
}

/// An answer as a client reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The request id (clients here number their requests).
    pub id: u64,
    /// `result` (null when the request failed).
    pub result: Value,
    /// The error, when the request failed.
    pub error: Option<StratumError>,
}

impl Response {
    /// Whether the answer is a plain `true` (an accepted share or authorize).
    pub fn is_true(&self) -> bool {
        self.result == Value::Bool(true)
    }

    /// Reads an answer from a parsed line (`error` as `[code, message, …]`
    /// or, from some pools, an object with `code` and `message`).
    pub(crate) fn from_value(id: u64, v: &Value) -> Response {
        let error = match v.get("error") {
            None | Some(Value::Null) => None,
            Some(e) => {
                let code = e.get(0).or_else(|| e.get("code")).and_then(Value::as_i64);
                let message = e
                    .get(1)
                    .or_else(|| e.get("message"))
                    .and_then(Value::as_str);
                Some(StratumError {
                    code: code.unwrap_or(-1),
                    message: message.map_or_else(|| e.to_string(), str::to_owned),
                })
            }
        };
        Response {
            id,
            result: v.get("result").cloned().unwrap_or(Value::Null),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn a_subscribe_result_reads_back() {
        let text = subscribe_result(&[1, 2, 3, 4], 8);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            Subscribed::from_result(&v).unwrap(),
            Subscribed {
                extranonce1: vec![1, 2, 3, 4],
                extranonce2_size: 8
            }
        );
        assert!(Subscribed::from_result(&serde_json::json!([[], "zz", 8])).is_err());
    }

    #[test]
    fn a_written_error_is_read_back_with_its_code() {
        let mut out = Vec::new();
        write_error(&mut out, None, &Reject::Stale);
        let v: Value = serde_json::from_slice(&out).unwrap();
        let r = Response::from_value(1, &v);
        assert!(!r.is_true());
        assert_eq!(r.error.unwrap().code, 21);
    }
}
