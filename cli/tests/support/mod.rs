//! What the binary's end-to-end tests share: starting `shareproof` as a
//! child process and reading its banner, and plain HTTP GETs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A `shareproof` child process and the addresses its banner printed.
pub struct Spawned {
    /// The process (kill it with `kill()`: SIGKILL on Unix).
    pub child: Child,
    /// `host:port` of its Stratum server, when it has one.
    pub stratum: Option<String>,
    /// `host:port` of its Stratum V2 server and the authority key, when
    /// it has one.
    pub stratum_v2: Option<(String, String)>,
    /// `host:port` of its HTTP API (an edge's: metrics and health), when
    /// it has one.
    pub api: Option<String>,
}

/// Starts `shareproof <args>` and reads its banner up to the last address
/// it prints (`Data:` for the node and the accounting node, `NATS:` for
/// an edge).
pub fn spawn(args: &[String]) -> Spawned {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shareproof"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning shareproof");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut stratum, mut api, mut stratum_v2) = (None, None, None);
    let edge = args.first().is_some_and(|a| a == "edge");
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("shareproof {} exited before its banner", args.join(" ")))
            .expect("banner line");
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Stratum:") {
            stratum = Some(rest.trim().trim_start_matches("stratum+tcp://").to_owned());
        }
        if let Some(rest) = line.strip_prefix("Stratum V2:") {
            // `stratum2+tcp://HOST:PORT  (authority key: KEY)`
            let mut words = rest.split_whitespace();
            let url = words.next().expect("V2 url");
            let key = words.last().expect("authority key").trim_end_matches(')');
            stratum_v2 = Some((
                url.trim_start_matches("stratum2+tcp://").to_owned(),
                key.to_owned(),
            ));
        }
        if let Some(rest) = line
            .strip_prefix("HTTP API:")
            .or_else(|| line.strip_prefix("Metrics:"))
        {
            let url = rest.split_whitespace().next().expect("api url");
            api = Some(
                url.trim_start_matches("http://")
                    .split('/')
                    .next()
                    .expect("host")
                    .to_owned(),
            );
        }
        if line.starts_with("Data:") || (edge && line.starts_with("NATS:")) {
            break;
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Spawned {
        child,
        stratum,
        stratum_v2,
        api,
    }
}

/// GET `path` from the API at `api`; the body (de-chunked). Panics on a
/// status other than 200.
pub async fn http_get(api: &str, path: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(api).await.expect("api");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..end])
    );
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let body = buf[end..].to_vec();
    if !head.contains("transfer-encoding: chunked") {
        return body;
    }
    let mut out = Vec::new();
    let mut data = &body[..];
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..pos]).expect("size").trim(), 16)
                .expect("hex size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[pos + 2..pos + 2 + size]);
        data = &data[pos + 2 + size + 2..];
    }
    out
}
