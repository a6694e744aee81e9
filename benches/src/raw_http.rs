//! A lean HTTP/1.1 load client: one keep-alive connection sends the same request again and
//! again, each after the previous response is read. What a dedicated load generator (wrk and
//! the like) does, so that on a small machine the server, not the client library, is measured:
//! the request bytes are built once, and a response is read by its `Content-Length`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request, encoded once.
#[derive(Clone, Debug)]
pub struct RawRequest {
    bytes: Vec<u8>,
}

impl RawRequest {
    /// `method path` to `host`, with the given extra headers and a JSON body (if any).
    pub fn new(
        method: &str,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
        json_body: Option<&str>,
    ) -> RawRequest {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = json_body.unwrap_or("");
        if json_body.is_some() {
            head.push_str("content-type: application/json\r\n");
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        RawRequest { bytes }
    }
}

/// A keep-alive connection.
#[derive(Debug)]
pub struct RawConnection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl RawConnection {
    pub async fn open(addr: &str) -> Result<RawConnection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(RawConnection {
            stream,
            buffer: Vec::with_capacity(8192),
        })
    }

    /// Sends `request` and reads the whole response; returns its status.
    pub async fn send(&mut self, request: &RawRequest) -> Result<u16> {
        self.stream.write_all(&request.bytes).await?;
        self.buffer.clear();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some((status, head_len, body_len)) = parse_head(&self.buffer)? {
                while self.buffer.len() < head_len + body_len {
                    let n = self.stream.read(&mut chunk).await?;
                    if n == 0 {
                        bail!("the server closed the connection mid-response");
                    }
                    self.buffer.extend_from_slice(&chunk[..n]);
                }
                return Ok(status);
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

/// `(status, head length, body length)` once the head is complete.
fn parse_head(buffer: &[u8]) -> Result<Option<(u16, usize, usize)>> {
    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buffer[..end]).context("a response head that is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .context("no status line")?;
    let mut body_len = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            body_len = Some(value.trim().parse::<usize>()?);
        }
    }
    let body_len = body_len.context("a response without content-length")?;
    Ok(Some((status, end + 4, body_len)))
}

/// Requests/s with `connections` keep-alive connections each sending its request until
/// `seconds` are up, and every request's latency in ms (sorted). A status of 300 or more fails.
pub async fn run(addr: &str, requests: Vec<RawRequest>, seconds: f64) -> Result<(f64, Vec<f64>)> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for request in requests {
        let addr = addr.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut connection = RawConnection::open(&addr).await?;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let status = connection.send(&request).await?;
                if status >= 300 {
                    bail!("HTTP {status}");
                }
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let rate = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok((rate, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the head parser waits for a complete head, then reads status and body length.
    #[test]
    fn heads_are_parsed_once_complete() {
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\ncontent-le").expect("partial"),
            None
        );
        let full = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nx: y\r\n\r\nhello";
        assert_eq!(
            parse_head(full).expect("full"),
            Some((201, full.len() - 5, 5))
        );
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err(),
            "no content-length"
        );
    }

    // Proves a request is encoded with its headers, content type and length.
    #[test]
    fn requests_carry_their_length() {
        let r = RawRequest::new(
            "POST",
            "h:1",
            "/p",
            &[("authorization", "Bearer t")],
            Some("{}"),
        );
        let text = String::from_utf8(r.bytes).expect("utf8");
        assert!(text.starts_with("POST /p HTTP/1.1\r\nhost: h:1\r\n"));
        assert!(text.contains("authorization: Bearer t\r\n"));
        assert!(text.ends_with("content-length: 2\r\n\r\n{}"));
    }
}
