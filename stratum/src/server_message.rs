//! Any line a server sends, as a client reads it: an answer to one of its
//! requests or a notification.

use serde_json::Value;

use crate::error::ProtocolError;
use crate::notification::Notification;
use crate::response::Response;

/// A line from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// An answer to the request with this id.
    Response(Response),
    /// A notification.
    Notification(Notification),
}

impl ServerMessage {
    /// Parses one line (without its newline, or with it).
    ///
    /// # Errors
    /// [`ProtocolError`] for a line that is neither an answer with a numeric
    /// id nor a notification with well-formed params.
    pub fn parse(line: &[u8]) -> Result<ServerMessage, ProtocolError> {
        let v: Value = serde_json::from_slice(line)?;
        if let Some(method) = v.get("method").and_then(Value::as_str) {
            let params = v.get("params").unwrap_or(&Value::Null);
            return Ok(ServerMessage::Notification(Notification::from_params(
                method, params,
            )?));
        }
        match v.get("id").and_then(Value::as_u64) {
            Some(id) => Ok(ServerMessage::Response(Response::from_value(id, &v))),
            None => Err(ProtocolError::Shape {
                what: "message (no method and no numeric id)",
                line: String::from_utf8_lossy(line).into_owned(),
            }),
        }
    }
}
