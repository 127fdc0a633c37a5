//! Server → client notifications, written by the pool and read by miners.

use serde_json::Value;
use share_verifier::Job;

use crate::error::ProtocolError;

/// A notification line, `{"id":null,"method":…,"params":…}\n`; `params` is JSON text.
fn line(method: &str, params: &str) -> Vec<u8> {
    format!("{{\"id\":null,\"method\":\"{method}\",\"params\":{params}}}\n").into_bytes()
}

/// `mining.set_difficulty [difficulty]`.
pub fn set_difficulty(difficulty: f64) -> Vec<u8> {
    line("mining.set_difficulty", &format!("[{difficulty}]"))
}

/// `mining.set_extranonce [extranonce1, extranonce2_size]`.
pub fn set_extranonce(extranonce1: &[u8], extranonce2_size: usize) -> Vec<u8> {
    line(
        "mining.set_extranonce",
        &format!("[\"{}\",{extranonce2_size}]", hex::encode(extranonce1)),
    )
}

/// `mining.set_version_mask [mask]` (BIP310).
pub fn set_version_mask(mask: u32) -> Vec<u8> {
    line("mining.set_version_mask", &format!("[\"{mask:08x}\"]"))
}

/// `client.reconnect []`: come back to the same host (sent at shutdown).
pub fn reconnect() -> Vec<u8> {
    line("client.reconnect", "[]")
}

/// `mining.notify` announcing `job` (written once per job and shared by
/// every connection).
pub fn notify(job: &Job) -> Vec<u8> {
    line("mining.notify", &job.to_notify_params().to_string())
}

/// A notification as a client reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// `mining.notify`: a new job.
    Notify(Job),
    /// `mining.set_difficulty`: the difficulty of the next jobs.
    SetDifficulty(f64),
    /// `mining.set_extranonce`: a new extranonce for the next jobs.
    SetExtranonce {
        /// The new extranonce1.
        extranonce1: Vec<u8>,
        /// extranonce2's new size.
        extranonce2_size: usize,
    },
    /// `mining.set_version_mask` (BIP310).
    SetVersionMask(u32),
    /// `client.reconnect`.
    Reconnect,
    /// A method this crate does not know (its name).
    Other(String),
}

impl Notification {
    /// Reads the notification `method` with `params`.
    ///
    /// # Errors
    /// [`ProtocolError`] when the params of a known method are malformed.
    pub fn from_params(method: &str, params: &Value) -> Result<Notification, ProtocolError> {
        let shape = |what| ProtocolError::Shape {
            what,
            line: params.to_string(),
        };
        Ok(match method {
            "mining.notify" => Notification::Notify(Job::from_notify_params(params)?),
            "mining.set_difficulty" => Notification::SetDifficulty(
                params
                    .get(0)
                    .and_then(Value::as_f64)
                    .filter(|d| d.is_finite() && *d > 0.0)
                    .ok_or_else(|| shape("mining.set_difficulty params"))?,
            ),
            "mining.set_extranonce" => Notification::SetExtranonce {
                extranonce1: params
                    .get(0)
                    .and_then(Value::as_str)
                    .and_then(|s| hex::decode(s).ok())
                    .ok_or_else(|| shape("mining.set_extranonce params"))?,
                extranonce2_size: params
                    .get(1)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| shape("mining.set_extranonce params"))?
                    as usize,
            },
            "mining.set_version_mask" => Notification::SetVersionMask(
                params
                    .get(0)
                    .and_then(Value::as_str)
                    .and_then(|s| u32::from_str_radix(s, 16).ok())
                    .ok_or_else(|| shape("mining.set_version_mask params"))?,
            ),
            "client.reconnect" => Notification::Reconnect,
            other => Notification::Other(other.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server_message::ServerMessage;

    fn read(bytes: &[u8]) -> Notification {
        match ServerMessage::parse(bytes).unwrap() {
            ServerMessage::Notification(n) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn notifications_are_written_as_before_and_read_back() {
        assert_eq!(
            String::from_utf8(set_difficulty(0.005)).unwrap(),
            "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[0.005]}\n"
        );
        assert_eq!(
            String::from_utf8(set_version_mask(0x1fffe000)).unwrap(),
            "{\"id\":null,\"method\":\"mining.set_version_mask\",\"params\":[\"1fffe000\"]}\n"
        );
        assert_eq!(
            read(&set_difficulty(0.005)),
            Notification::SetDifficulty(0.005)
        );
        assert_eq!(
            read(&set_version_mask(0x1fffe000)),
            Notification::SetVersionMask(0x1fffe000)
        );
        assert_eq!(
            read(&set_extranonce(&[1, 2], 4)),
            Notification::SetExtranonce {
                extranonce1: vec![1, 2],
                extranonce2_size: 4
            }
        );
        assert_eq!(read(&reconnect()), Notification::Reconnect);
    }

    #[test]
    fn a_notified_job_reads_back_as_the_same_job() {
        let job = Job::from_notify_params(&serde_json::json!([
            "2a",
            "f5304c7c535061f870374354668bb7087dc26fc39c45ffd0cbdd48c600000000",
            "0200",
            "ffff",
            ["0000000000000000000000000000000000000000000000000000000000000001"],
            "20000000",
            "1e0377ae",
            "6849afec",
            true
        ]))
        .unwrap();
        assert_eq!(read(&notify(&job)), Notification::Notify(job));
    }
}
