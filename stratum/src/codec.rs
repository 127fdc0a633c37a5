//! Bytes ↔ lines: Stratum V1 is newline-delimited JSON. A line longer than
//! the configured maximum is an error, whether or not its end has arrived.

use bytes::BytesMut;

/// Errors of line framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A line (or an unterminated tail) exceeds the limit.
    #[error("line longer than {max} bytes")]
    LineTooLong {
        /// The limit in bytes.
        max: usize,
    },
}

/// Takes the next complete line out of `buf`, without its `\n` (and `\r`).
/// `Ok(None)` when no complete line is buffered yet.
///
/// # Errors
/// [`CodecError::LineTooLong`] when a line, or the unterminated bytes so
/// far, exceed `max` bytes.
pub fn next_line(buf: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, CodecError> {
    match memchr(b'\n', buf) {
        Some(end) if end > max => Err(CodecError::LineTooLong { max }),
        Some(end) => {
            let mut line = buf.split_to(end + 1);
            line.truncate(end);
            if line.last() == Some(&b'\r') {
                line.truncate(end - 1);
            }
            Ok(Some(line))
        }
        None if buf.len() > max => Err(CodecError::LineTooLong { max }),
        None => Ok(None),
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_and_partial_lines_wait() {
        let mut buf = BytesMut::from(&b"{\"a\":1}\r\n{\"b\":2}\n{\"c\""[..]);
        assert_eq!(
            &next_line(&mut buf, 100).unwrap().unwrap()[..],
            b"{\"a\":1}"
        );
        assert_eq!(
            &next_line(&mut buf, 100).unwrap().unwrap()[..],
            b"{\"b\":2}"
        );
        assert_eq!(next_line(&mut buf, 100).unwrap(), None);
        assert_eq!(&buf[..], b"{\"c\"");
    }

    #[test]
    fn oversize_lines_are_refused_before_their_end_arrives() {
        let mut buf = BytesMut::from(&[b'x'; 11][..]);
        assert_eq!(
            next_line(&mut buf, 10),
            Err(CodecError::LineTooLong { max: 10 })
        );
        let mut buf = BytesMut::from(&b"0123456789\n"[..]);
        assert!(next_line(&mut buf, 10).unwrap().is_some());
    }
}
