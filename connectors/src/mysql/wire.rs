//! A MySQL/MariaDB client for one job: running one SELECT as a prepared statement and
//! handing over each binary-protocol row as its bytes in the read buffer. It speaks the
//! handshake (switching to TLS after an `SSLRequest` when `ssl_mode` asks for it),
//! `mysql_native_password` and the fast path of `caching_sha2_password` (no RSA),
//! `COM_QUERY` for the session's `SET`s, and `COM_STMT_PREPARE`/`COM_STMT_EXECUTE`.
//!
//! Why not a client library: mysql_async builds a `Value` per cell (an allocation per
//! string or decimal), and sqlx spent about a quarter of W3m's client CPU on per-row
//! machinery (a `Bytes` per row, nested streams); here a row costs a header, a NULL bitmap
//! and the values.

use std::fmt;
use std::io;
use std::ops::Range;

use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::common::{ConnectorError, ConnectorResult};

/// A packet's largest payload; a longer one continues in the next packet.
const MAX_PAYLOAD: usize = 0xFF_FFFF;
/// The longest payload accepted from a server, split or not: MySQL's and MariaDB's own
/// ceiling (`max_allowed_packet` is at most 1 GiB), so a hostile or broken server cannot
/// make the reader grow a buffer without end.
const MAX_JOINED: usize = 1 << 30;
/// The most columns a result may have: a MySQL table has at most 4096 (InnoDB: 1017).
const MAX_COLUMNS: u64 = 4096;
/// Bytes asked of the socket at a time.
const READ_CHUNK: usize = 256 * 1024;
/// utf8mb4_general_ci: known to MySQL 5.5.3+ and every MariaDB.
const UTF8MB4: u8 = 45;

// Capability flags.
const LONG_PASSWORD: u32 = 1;
const LONG_FLAG: u32 = 1 << 2;
const CONNECT_WITH_DB: u32 = 1 << 3;
const PROTOCOL_41: u32 = 1 << 9;
const SSL: u32 = 1 << 11;
const TRANSACTIONS: u32 = 1 << 13;
const SECURE_CONNECTION: u32 = 1 << 15;
const MULTI_RESULTS: u32 = 1 << 17;
const PLUGIN_AUTH: u32 = 1 << 19;
const PLUGIN_AUTH_LENENC_DATA: u32 = 1 << 21;

const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_EXECUTE: u8 = 0x17;

const UNSIGNED_FLAG: u16 = 0x20;

#[derive(Debug)]
pub enum WireError {
    Io(io::Error),
    /// An ERR packet: the server's error number and message.
    Server(u16, String),
    /// The server sent something this client does not understand.
    Protocol(String),
    /// Login needs something this client does not do.
    Unsupported(String),
    /// TLS is required but the server does not offer it.
    NoTls,
    /// The TLS handshake failed (a certificate not trusted, a name that does not match).
    Tls(io::Error),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                f.write_str("the server closed the connection")
            }
            WireError::Io(e) => write!(f, "connection failed: {e}"),
            WireError::Server(code, message) => write!(f, "{message} (error {code})"),
            WireError::Protocol(m) => write!(f, "unexpected reply from the server: {m}"),
            WireError::NoTls => f.write_str("the server does not offer TLS"),
            WireError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            WireError::Unsupported(m) => write!(
                f,
                "{m} is not supported: Fust logs in with mysql_native_password, or with \
                 caching_sha2_password once the server has cached the password (after one \
                 login with the mysql client)"
            ),
        }
    }
}

impl From<io::Error> for WireError {
    fn from(e: io::Error) -> Self {
        WireError::Io(e)
    }
}

type Result<T> = std::result::Result<T, WireError>;

/// Who logs in, where.
pub struct Login<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub database: &'a str,
}

/// Whether and how [`Conn::login_with`] switches the stream to TLS: `upgrade` takes the
/// plain stream after the `SSLRequest` and returns it encrypted.
pub enum StartTls<U> {
    /// Plain TCP (`DISABLED`).
    Off,
    /// TLS when the server offers it (`PREFERRED`).
    Prefer(U),
    /// TLS or an error (`REQUIRED` and the verifying modes).
    Require(U),
}

/// One connection: packets read into a buffer and handed out in place.
pub struct Conn<S> {
    stream: S,
    buf: Vec<u8>,
    /// Unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// The current packet's payload: in `buf`, or in `joined` when it spanned packets.
    payload: Range<usize>,
    joined: Option<Vec<u8>>,
    /// The longest payload accepted ([`MAX_JOINED`]; smaller in tests).
    max_payload: usize,
    /// The sequence number of the next packet to send.
    seq: u8,
}

/// The layout of each column of a result set.
pub type Columns = Vec<WireKind>;

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// Reads the server's greeting and logs in, without TLS.
    #[cfg(test)]
    pub async fn login(stream: S, login: &Login<'_>) -> Result<Conn<S>> {
        type Never<S> = fn(S) -> std::future::Ready<io::Result<S>>;
        Self::login_with(stream, login, StartTls::<Never<S>>::Off).await
    }

    /// A connection over `stream` with nothing read yet; `seq` numbers the next packet.
    fn over(stream: S, seq: u8) -> Conn<S> {
        Conn {
            stream,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            payload: 0..0,
            joined: None,
            max_payload: MAX_JOINED,
            seq,
        }
    }

    /// Reads the server's greeting, switches to TLS as `tls` says (the `SSLRequest`
    /// exchange: capabilities with `CLIENT_SSL`, the TLS handshake, then the login over
    /// it), and logs in.
    pub async fn login_with<U, F>(stream: S, login: &Login<'_>, tls: StartTls<U>) -> Result<Conn<S>>
    where
        U: FnOnce(S) -> F,
        F: Future<Output = io::Result<S>>,
    {
        let mut conn = Conn::over(stream, 0);
        conn.next().await?;
        let greeting = Greeting::parse(conn.payload())?;
        let wanted = LONG_PASSWORD
            | LONG_FLAG
            | CONNECT_WITH_DB
            | PROTOCOL_41
            | TRANSACTIONS
            | SECURE_CONNECTION
            | MULTI_RESULTS
            | PLUGIN_AUTH
            | PLUGIN_AUTH_LENENC_DATA;
        let required = PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH;
        if greeting.capabilities & required != required {
            return Err(WireError::Unsupported(
                "a server older than MySQL 5.5".into(),
            ));
        }
        let mut caps = wanted & greeting.capabilities;
        let offers_tls = greeting.capabilities & SSL != 0;
        let upgrade = match tls {
            StartTls::Off => None,
            StartTls::Prefer(_) if !offers_tls => None,
            StartTls::Require(_) if !offers_tls => return Err(WireError::NoTls),
            StartTls::Prefer(u) | StartTls::Require(u) => Some(u),
        };
        if let Some(upgrade) = upgrade {
            caps |= SSL;
            // SSLRequest: the first 32 bytes of the login packet, then TLS from here on.
            let mut request = Vec::with_capacity(32);
            request.extend_from_slice(&caps.to_le_bytes());
            request.extend_from_slice(&(MAX_PAYLOAD as u32 + 1).to_le_bytes());
            request.push(UTF8MB4);
            request.extend_from_slice(&[0; 23]);
            conn.send(&request).await?;
            if conn.start != conn.end {
                return Err(WireError::Protocol(
                    "data after the greeting, before the TLS handshake".into(),
                ));
            }
            let Conn { stream, seq, .. } = conn;
            conn = Conn::over(upgrade(stream).await.map_err(WireError::Tls)?, seq);
        }
        let mut plugin = greeting.plugin;
        let mut auth = scramble(&plugin, login.password, &greeting.nonce)?;

        let mut reply = Vec::with_capacity(128);
        reply.extend_from_slice(&caps.to_le_bytes());
        reply.extend_from_slice(&(MAX_PAYLOAD as u32 + 1).to_le_bytes());
        reply.push(UTF8MB4);
        reply.extend_from_slice(&[0; 23]);
        put_nul_str(&mut reply, login.user.as_bytes());
        if caps & PLUGIN_AUTH_LENENC_DATA != 0 {
            put_lenenc(&mut reply, auth.len() as u64);
        } else {
            reply.push(u8::try_from(auth.len()).unwrap_or(u8::MAX));
        }
        reply.extend_from_slice(&auth);
        if caps & CONNECT_WITH_DB != 0 {
            put_nul_str(&mut reply, login.database.as_bytes());
        }
        put_nul_str(&mut reply, plugin.as_bytes());
        conn.send(&reply).await?;

        loop {
            conn.next().await?;
            let p = conn.payload();
            match p.first() {
                Some(0x00) => return Ok(conn),
                Some(0xFF) => return Err(server_error(p)),
                // Auth switch: another plugin, with a fresh nonce.
                Some(0xFE) => {
                    let mut r = Reader::new(&p[1..]);
                    plugin = String::from_utf8_lossy(r.nul_str()?).into_owned();
                    let nonce = r.rest();
                    let nonce = nonce.strip_suffix(&[0]).unwrap_or(nonce).to_vec();
                    auth = scramble(&plugin, login.password, &nonce)?;
                    conn.send(&auth).await?;
                }
                // caching_sha2_password: 3 = the fast path worked (OK follows), 4 = the
                // server wants the password itself, over TLS or RSA.
                Some(0x01) if plugin == "caching_sha2_password" => match p.get(1) {
                    Some(3) => {}
                    Some(4) => {
                        return Err(WireError::Unsupported(
                            "caching_sha2_password's full authentication (over TLS or RSA)".into(),
                        ));
                    }
                    other => {
                        return Err(WireError::Protocol(format!(
                            "caching_sha2_password step {other:?}"
                        )));
                    }
                },
                other => {
                    return Err(WireError::Protocol(format!(
                        "login reply starting with {other:?}"
                    )));
                }
            }
        }
    }

    /// Runs a statement that returns no rows (a `SET`).
    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        self.command(COM_QUERY, sql.as_bytes()).await?;
        self.next().await?;
        let p = self.payload();
        match p.first() {
            Some(0x00) => Ok(()),
            Some(0xFF) => Err(server_error(p)),
            _ => Err(WireError::Protocol(
                "rows from a statement expected to return none".into(),
            )),
        }
    }

    /// Prepares and executes `sql` (a query without parameters) and reads up to its first
    /// row: what follows is rows, through [`Conn::next_row`].
    pub async fn query(&mut self, sql: &str) -> Result<Columns> {
        self.command(COM_STMT_PREPARE, sql.as_bytes()).await?;
        self.next().await?;
        let p = self.payload();
        let (id, columns, params) = match p.first() {
            Some(0x00) => {
                let mut r = Reader::new(&p[1..]);
                (r.u32()?, r.u16()?, r.u16()?)
            }
            Some(0xFF) => return Err(server_error(p)),
            other => {
                return Err(WireError::Protocol(format!(
                    "prepare reply starting with {other:?}"
                )));
            }
        };
        // Parameter and column definitions, each list closed by an EOF packet.
        for n in [params, columns] {
            if n > 0 {
                for _ in 0..=n {
                    self.next().await?;
                }
            }
        }
        let mut execute = Vec::with_capacity(10);
        execute.extend_from_slice(&id.to_le_bytes());
        execute.push(0); // no cursor
        execute.extend_from_slice(&1u32.to_le_bytes()); // iteration count
        self.command(COM_STMT_EXECUTE, &execute).await?;
        self.next().await?;
        let p = self.payload();
        let count = match p.first() {
            Some(0xFF) => return Err(server_error(p)),
            Some(0x00) => return Ok(Vec::new()),
            _ => Reader::new(p).lenenc()?,
        };
        if count > MAX_COLUMNS {
            return Err(WireError::Protocol(format!(
                "a result of {count} columns (a table has at most {MAX_COLUMNS})"
            )));
        }
        let mut kinds = Vec::with_capacity(count as usize);
        for _ in 0..count {
            self.next().await?;
            kinds.push(column_kind(self.payload())?);
        }
        self.next().await?;
        if !is_eof(self.payload()) {
            return Err(WireError::Protocol(
                "no EOF after the column definitions".into(),
            ));
        }
        Ok(kinds)
    }

    /// The next row of the result (a binary-protocol row packet), or `None` at its end.
    pub async fn next_row(&mut self) -> Result<Option<&[u8]>> {
        self.next().await?;
        let p = self.payload();
        match p.first() {
            Some(0x00) => Ok(Some(p)),
            _ if is_eof(p) => Ok(None),
            Some(0xFF) => Err(server_error(p)),
            other => Err(WireError::Protocol(format!(
                "row packet starting with {other:?}"
            ))),
        }
    }

    /// Says goodbye; errors do not matter by then.
    pub async fn quit(mut self) {
        let _ = self.command(COM_QUIT, &[]).await;
        let _ = self.stream.shutdown().await;
    }

    async fn command(&mut self, command: u8, body: &[u8]) -> Result<()> {
        self.seq = 0;
        let mut payload = Vec::with_capacity(body.len() + 1);
        payload.push(command);
        payload.extend_from_slice(body);
        self.send(&payload).await
    }

    /// Sends `payload` as packets (more than one when it is 16 MiB or longer).
    async fn send(&mut self, payload: &[u8]) -> Result<()> {
        let mut out = Vec::with_capacity(payload.len() + 8);
        let mut last_len = MAX_PAYLOAD;
        for chunk in payload.chunks(MAX_PAYLOAD) {
            out.extend_from_slice(&(chunk.len() as u32).to_le_bytes()[..3]);
            out.push(self.seq);
            self.seq = self.seq.wrapping_add(1);
            out.extend_from_slice(chunk);
            last_len = chunk.len();
        }
        // A payload of a multiple of 16 MiB (or none) ends with an empty packet.
        if last_len == MAX_PAYLOAD {
            out.extend_from_slice(&[0, 0, 0, self.seq]);
            self.seq = self.seq.wrapping_add(1);
        }
        self.stream.write_all(&out).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// The payload of the packet [`Conn::next`] read last.
    fn payload(&self) -> &[u8] {
        match &self.joined {
            Some(j) => j,
            None => &self.buf[self.payload.clone()],
        }
    }

    /// Reads the next packet (joining one that spans several).
    async fn next(&mut self) -> Result<()> {
        self.joined = None;
        let mut joined: Option<Vec<u8>> = None;
        loop {
            self.fill(4).await?;
            let h = &self.buf[self.start..self.start + 4];
            let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            self.seq = h[3].wrapping_add(1);
            self.fill(4 + len).await?;
            let body = self.start + 4..self.start + 4 + len;
            self.start = body.end;
            match (&mut joined, len == MAX_PAYLOAD) {
                (None, false) => {
                    self.payload = body;
                    return Ok(());
                }
                (None, true) => joined = Some(self.buf[body].to_vec()),
                (Some(j), more) => {
                    if j.len() + len > self.max_payload {
                        return Err(WireError::Protocol(format!(
                            "a packet longer than {} MiB (the most a server may send)",
                            self.max_payload >> 20
                        )));
                    }
                    j.extend_from_slice(&self.buf[body]);
                    if !more {
                        self.joined = joined;
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Makes `buf[start..end]` hold at least `n` bytes.
    async fn fill(&mut self, n: usize) -> Result<()> {
        while self.end - self.start < n {
            // Move what is unread to the front when the packet would not fit after it or
            // little room is left to read into; grow the buffer for a long packet.
            if self.start + n > self.buf.len() || self.buf.len() - self.end < READ_CHUNK / 4 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if self.buf.len() < n {
                    self.buf.resize(n.next_power_of_two(), 0);
                }
            }
            let read = self.stream.read(&mut self.buf[self.end..]).await?;
            if read == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            self.end += read;
        }
        Ok(())
    }
}

/// What the server's first packet says.
struct Greeting {
    capabilities: u32,
    nonce: Vec<u8>,
    plugin: String,
}

impl Greeting {
    fn parse(p: &[u8]) -> Result<Greeting> {
        if p.first() == Some(&0xFF) {
            return Err(server_error(p));
        }
        let mut r = Reader::new(p);
        if r.u8()? != 10 {
            return Err(WireError::Unsupported(
                "a protocol version other than 10".into(),
            ));
        }
        r.nul_str()?; // server version
        r.take(4)?; // connection id
        let mut nonce = r.take(8)?.to_vec();
        r.take(1)?;
        let mut capabilities = u32::from(r.u16()?);
        r.take(3)?; // character set, status
        capabilities |= u32::from(r.u16()?) << 16;
        let nonce_len = usize::from(r.u8()?);
        r.take(10)?;
        if capabilities & SECURE_CONNECTION != 0 {
            let more = r.take(nonce_len.saturating_sub(8).max(13))?;
            nonce.extend_from_slice(more.strip_suffix(&[0]).unwrap_or(more));
        }
        let plugin = if capabilities & PLUGIN_AUTH != 0 {
            let rest = r.rest();
            let name = rest.split(|b| *b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(name).into_owned()
        } else {
            "mysql_native_password".into()
        };
        Ok(Greeting {
            capabilities,
            nonce,
            plugin,
        })
    }
}

/// The login response `plugin` expects for `password` and the server's `nonce`.
fn scramble(plugin: &str, password: &str, nonce: &[u8]) -> Result<Vec<u8>> {
    if password.is_empty() {
        return Ok(Vec::new());
    }
    let pw = password.as_bytes();
    Ok(match plugin {
        // SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw)))
        "mysql_native_password" => {
            let h1 = Sha1::digest(pw);
            let h2 = Sha1::digest(h1);
            let h3 = Sha1::new().chain_update(nonce).chain_update(h2).finalize();
            h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect()
        }
        // SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce)
        "caching_sha2_password" => {
            let h1 = Sha256::digest(pw);
            let h2 = Sha256::digest(h1);
            let h3 = Sha256::new()
                .chain_update(h2)
                .chain_update(nonce)
                .finalize();
            h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect()
        }
        other => {
            return Err(WireError::Unsupported(format!(
                "the `{other}` authentication plugin"
            )));
        }
    })
}

/// The layout of a column from its definition packet: type and UNSIGNED flag.
fn column_kind(p: &[u8]) -> Result<WireKind> {
    let mut r = Reader::new(p);
    for _ in 0..6 {
        // catalog, schema, table, original table, name, original name
        let n = r.lenenc()?;
        r.take(usize::try_from(n).unwrap_or(usize::MAX))?;
    }
    r.lenenc()?; // length of the fixed fields
    r.take(2)?; // character set
    r.take(4)?; // display length
    let ty = r.u8()?;
    let flags = r.u16()?;
    Ok(WireKind::from_column(ty, flags & UNSIGNED_FLAG != 0))
}

/// An EOF packet (0xFE, and too short to be a row or a length).
fn is_eof(p: &[u8]) -> bool {
    p.first() == Some(&0xFE) && p.len() < 9
}

/// An ERR packet as [`WireError::Server`].
fn server_error(p: &[u8]) -> WireError {
    let mut r = Reader::new(p.get(1..).unwrap_or_default());
    let Ok(code) = r.u16() else {
        return WireError::Protocol("a cut error packet".into());
    };
    let rest = r.rest();
    // `#` and a five-character SQL state, when the protocol is 4.1.
    let message = match rest.first() {
        Some(b'#') if rest.len() >= 6 => &rest[6..],
        _ => rest,
    };
    WireError::Server(code, String::from_utf8_lossy(message).into_owned())
}

fn put_nul_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
    out.push(0);
}

fn put_lenenc(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xFFFF => {
            out.push(0xFC);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            out.push(0xFD);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xFE);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Reads the fields of one payload; running out is an error, never a panic.
pub struct Reader<'a> {
    p: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(p: &'a [u8]) -> Self {
        Reader { p }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.p.len() {
            return Err(WireError::Protocol(format!(
                "a packet cut short ({n} bytes wanted, {} left)",
                self.p.len()
            )));
        }
        let (head, tail) = self.p.split_at(n);
        self.p = tail;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length-encoded integer.
    pub fn lenenc(&mut self) -> Result<u64> {
        let first = self.u8()?;
        let width = match first {
            0..=0xFA => return Ok(u64::from(first)),
            0xFC => 2,
            0xFD => 3,
            0xFE => 8,
            _ => {
                return Err(WireError::Protocol(format!(
                    "0x{first:X} where a length was expected"
                )));
            }
        };
        let b = self.take(width)?;
        Ok(b.iter().rev().fold(0u64, |acc, x| acc << 8 | u64::from(*x)))
    }

    fn nul_str(&mut self) -> Result<&'a [u8]> {
        let Some(end) = self.p.iter().position(|b| *b == 0) else {
            return Err(WireError::Protocol("a string without its NUL".into()));
        };
        let s = &self.p[..end];
        self.p = &self.p[end + 1..];
        Ok(s)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.p)
    }
}

// Binary-protocol values: how a row's columns are laid out.

/// One value (not NULL: the row's bitmap says that) of a binary-protocol row, borrowed
/// from the row's packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wire<'a> {
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    /// Strings, decimals, bits, enums, sets, JSON and blobs.
    Bytes(&'a [u8]),
    /// Year, month, day, hour, minute, second, microsecond (DATE, DATETIME, TIMESTAMP).
    Date(u16, u8, u8, u8, u8, u8, u32),
    /// Negative, days, hours, minutes, seconds, microseconds.
    Time(bool, u32, u8, u8, u8, u32),
}

/// How one result column's values are laid out in a binary-protocol row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WireKind {
    /// A little-endian integer of this many bytes, unsigned or not.
    Int(usize, bool),
    Float,
    Double,
    /// A length byte, then as many of year (2 bytes), month, day, hour, minute, second and
    /// microsecond (4 bytes) as are not zero.
    Date,
    /// A length byte, then sign, days (4 bytes), hour, minute, second, microsecond.
    Time,
    /// Length-prefixed bytes (the prefix is already stripped).
    Bytes,
}

impl WireKind {
    /// The layout of a column of protocol type `ty` (a `MYSQL_TYPE_*` number).
    pub fn from_column(ty: u8, unsigned: bool) -> WireKind {
        match ty {
            8 => WireKind::Int(8, unsigned),      // LONGLONG
            3 | 9 => WireKind::Int(4, unsigned),  // LONG, INT24
            2 | 13 => WireKind::Int(2, unsigned), // SHORT, YEAR
            1 => WireKind::Int(1, unsigned),      // TINY
            4 => WireKind::Float,
            5 => WireKind::Double,
            7 | 10 | 12 | 14 | 17 | 18 => WireKind::Date, // TIMESTAMP, DATE, DATETIME (and v2)
            11 | 19 => WireKind::Time,
            _ => WireKind::Bytes,
        }
    }

    /// Splits the first value off `b` (the rest of a binary row): the value as
    /// [`WireKind::decode`] takes it, and what follows. `None` when `b` ends inside it.
    #[inline]
    pub fn split_value(self, b: &[u8]) -> Option<(&[u8], &[u8])> {
        let n = match self {
            WireKind::Int(n, _) => n,
            WireKind::Float => 4,
            WireKind::Double => 8,
            WireKind::Date | WireKind::Time => 1 + usize::from(*b.first()?),
            WireKind::Bytes => {
                let mut r = Reader::new(b);
                let len = usize::try_from(r.lenenc().ok()?).ok()?;
                return r.rest().split_at_checked(len);
            }
        };
        b.split_at_checked(n)
    }

    /// The value in `raw` (a column's bytes in the row packet).
    pub fn decode(self, raw: &[u8]) -> ConnectorResult<Wire<'_>> {
        let short = || {
            ConnectorError::Malformed(format!(
                "the server sent {} bytes for a {self:?} value",
                raw.len()
            ))
        };
        let le = |n: usize| -> ConnectorResult<u64> {
            if raw.len() != n {
                return Err(short());
            }
            Ok(raw
                .iter()
                .rev()
                .fold(0u64, |acc, x| acc << 8 | u64::from(*x)))
        };
        Ok(match self {
            WireKind::Int(n, true) => Wire::UInt(le(n)?),
            WireKind::Int(n, false) => {
                // Sign-extend the n-byte value.
                let shift = 64 - 8 * n as u32;
                Wire::Int(((le(n)? << shift) as i64) >> shift)
            }
            WireKind::Float => Wire::Float(f32::from_bits(le(4)? as u32)),
            WireKind::Double => Wire::Double(f64::from_bits(le(8)?)),
            WireKind::Date => {
                let b = temporal_body(raw, &[0, 4, 7, 11]).ok_or_else(short)?;
                let at = |i: usize| b.get(i).copied().unwrap_or(0);
                let us = b
                    .get(7..11)
                    .map_or(0, |u| u32::from_le_bytes([u[0], u[1], u[2], u[3]]));
                Wire::Date(
                    u16::from_le_bytes([at(0), at(1)]),
                    at(2),
                    at(3),
                    at(4),
                    at(5),
                    at(6),
                    us,
                )
            }
            WireKind::Time => {
                let b = temporal_body(raw, &[0, 8, 12]).ok_or_else(short)?;
                let at = |i: usize| b.get(i).copied().unwrap_or(0);
                let days = u32::from_le_bytes([at(1), at(2), at(3), at(4)]);
                let us = u32::from_le_bytes([at(8), at(9), at(10), at(11)]);
                Wire::Time(at(0) == 1, days, at(5), at(6), at(7), us)
            }
            WireKind::Bytes => Wire::Bytes(raw),
        })
    }
}

/// The bytes after a temporal value's length byte, when that length is one of `lengths`
/// and matches what follows.
fn temporal_body<'a>(raw: &'a [u8], lengths: &[usize]) -> Option<&'a [u8]> {
    let (len, body) = raw.split_first()?;
    let len = usize::from(*len);
    (lengths.contains(&len) && body.len() == len).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scrambles of the documented algorithms, checked against values computed
    /// independently (Python's hashlib) for password `secret` and nonce `0..20`.
    #[test]
    fn scrambles_match_the_documented_algorithms() {
        let nonce: Vec<u8> = (0..20).collect();
        let native = scramble("mysql_native_password", "secret", &nonce).unwrap();
        let sha2 = scramble("caching_sha2_password", "secret", &nonce).unwrap();
        assert_eq!(hex(&native), NATIVE_SECRET);
        assert_eq!(hex(&sha2), SHA2_SECRET);
        assert!(
            scramble("mysql_native_password", "", &nonce)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            scramble("client_ed25519", "secret", &nonce),
            Err(WireError::Unsupported(m)) if m.contains("client_ed25519")
        ));
    }

    /// A server side of the login, scripted byte by byte after MySQL 8's documentation
    /// (no MySQL 8 server can be installed on the test machines: Debian ships MariaDB,
    /// which has no `caching_sha2_password`). `reply` is what the server answers after
    /// checking the client's scramble: fast-auth success, a demand for full
    /// authentication, or Access denied when the scramble is wrong.
    async fn sha2_login(password: &str, server_password: &str, full_auth: bool) -> Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(4096);
        let nonce: Vec<u8> = (1..=20).collect();
        let expected = scramble("caching_sha2_password", server_password, &nonce).unwrap();
        let script = async move {
            let send = |seq: u8, payload: Vec<u8>| {
                let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
                p.push(seq);
                p.extend(payload);
                p
            };
            let caps: u32 = LONG_PASSWORD
                | CONNECT_WITH_DB
                | PROTOCOL_41
                | SECURE_CONNECTION
                | PLUGIN_AUTH
                | PLUGIN_AUTH_LENENC_DATA;
            let mut hello = vec![10];
            hello.extend_from_slice(b"8.0.36\0");
            hello.extend_from_slice(&7u32.to_le_bytes());
            hello.extend_from_slice(&nonce[..8]);
            hello.push(0);
            hello.extend_from_slice(&(caps as u16).to_le_bytes());
            hello.push(255);
            hello.extend_from_slice(&[2, 0]);
            hello.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
            hello.push(21);
            hello.extend_from_slice(&[0; 10]);
            hello.extend_from_slice(&nonce[8..]);
            hello.push(0);
            hello.extend_from_slice(b"caching_sha2_password\0");
            server.write_all(&send(0, hello)).await.unwrap();
            let mut head = [0u8; 4];
            server.read_exact(&mut head).await.unwrap();
            let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
            let mut body = vec![0u8; len];
            server.read_exact(&mut body).await.unwrap();
            // caps, max packet, charset, 23 zeros, then the user and the scramble.
            let rest = &body[32..];
            let user_end = rest.iter().position(|b| *b == 0).unwrap();
            assert_eq!(&rest[..user_end], b"fust");
            let auth_len = rest[user_end + 1] as usize;
            let auth = &rest[user_end + 2..user_end + 2 + auth_len];
            let reply = if auth != expected.as_slice() {
                let mut err = vec![0xFF, 0x15, 0x04, b'#'];
                err.extend_from_slice(b"28000Access denied for user 'fust'");
                vec![send(2, err)]
            } else if full_auth {
                vec![send(2, vec![0x01, 0x04])]
            } else {
                vec![
                    send(2, vec![0x01, 0x03]),
                    send(3, vec![0, 0, 0, 2, 0, 0, 0]),
                ]
            };
            for r in reply {
                server.write_all(&r).await.unwrap();
            }
            server
        };
        let login = Login {
            user: "fust",
            password,
            database: "test",
        };
        let (result, _server) = tokio::join!(Conn::login(client, &login), script);
        result.map(|_| ())
    }

    #[tokio::test]
    async fn caching_sha2_password_fast_path_logs_in() {
        sha2_login("s3cret", "s3cret", false).await.unwrap();
        match sha2_login("wrong", "s3cret", false).await {
            Err(e) => assert!(e.to_string().contains("Access denied"), "{e}"),
            Ok(()) => panic!("a wrong password logged in"),
        }
        match sha2_login("s3cret", "s3cret", true).await {
            Err(WireError::Unsupported(m)) => assert!(m.contains("full authentication"), "{m}"),
            other => panic!("full authentication: {other:?}"),
        }
    }

    /// What the fake server answers to one command.
    enum Reply {
        Packets(Vec<Vec<u8>>),
        /// 16 MiB continuation packets, without end.
        Endless,
        /// Closes the connection halfway through a packet.
        Cut,
    }

    /// One packet: its 3-byte length, sequence number and payload.
    fn framed(seq: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        p.push(seq);
        p.extend_from_slice(payload);
        p
    }

    /// A hostile server over an in-memory pipe: it greets, accepts any login (no
    /// password), then answers each command with the next of `replies`.
    async fn hostile_server(
        replies: Vec<Reply>,
    ) -> (
        Conn<tokio::io::DuplexStream>,
        datafusion::common::runtime::SpawnedTask<io::Result<()>>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let server_task = datafusion::common::runtime::SpawnedTask::spawn(async move {
            let caps: u32 = PROTOCOL_41 | SECURE_CONNECTION | CONNECT_WITH_DB | PLUGIN_AUTH;
            let mut hello = vec![10];
            hello.extend_from_slice(b"10.11-hostile\0");
            hello.extend_from_slice(&[1, 0, 0, 0]);
            hello.extend_from_slice(&[7; 8]);
            hello.push(0);
            hello.extend_from_slice(&(caps as u16).to_le_bytes());
            hello.extend_from_slice(&[45, 2, 0]);
            hello.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
            hello.push(21);
            hello.extend_from_slice(&[0; 10]);
            hello.extend_from_slice(&[7; 13]);
            hello.extend_from_slice(b"mysql_native_password\0");
            let read_packet = async |server: &mut tokio::io::DuplexStream| {
                let mut head = [0u8; 4];
                server.read_exact(&mut head).await.ok()?;
                let mut body =
                    vec![0u8; u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize];
                server.read_exact(&mut body).await.ok()
            };
            server.write_all(&framed(0, &hello)).await?;
            read_packet(&mut server).await;
            server.write_all(&framed(2, &[0, 0, 0, 2, 0, 0, 0])).await?;
            for reply in replies {
                if read_packet(&mut server).await.is_none() {
                    break;
                }
                match reply {
                    Reply::Packets(ps) => {
                        for (seq, p) in ps.iter().enumerate() {
                            server.write_all(&framed(seq as u8 + 1, p)).await?;
                        }
                    }
                    Reply::Endless => {
                        let chunk = framed(1, &vec![b'x'; MAX_PAYLOAD]);
                        loop {
                            server.write_all(&chunk).await?;
                        }
                    }
                    Reply::Cut => {
                        server.write_all(&[200, 0, 0, 1, 0, 1, 2]).await?;
                        return Ok(());
                    }
                }
            }
            io::Result::Ok(())
        });
        let login = Login {
            user: "fust",
            password: "",
            database: "test",
        };
        (Conn::login(client, &login).await.unwrap(), server_task)
    }

    /// `COM_STMT_PREPARE`'s OK for a statement of `columns` columns and no parameters,
    /// with the column definitions and their EOF.
    fn prepared(columns: u16) -> Reply {
        let mut ok = vec![0, 1, 0, 0, 0];
        ok.extend_from_slice(&columns.to_le_bytes());
        ok.extend_from_slice(&[0, 0, 0, 0, 0]);
        let mut ps = vec![ok];
        for _ in 0..columns {
            ps.push(column_definition(253));
        }
        if columns > 0 {
            ps.push(vec![0xFE, 0, 0, 2, 0]);
        }
        Reply::Packets(ps)
    }

    fn column_definition(ty: u8) -> Vec<u8> {
        let mut c = Vec::new();
        for name in ["def", "test", "t", "t", "c", "c"] {
            c.push(name.len() as u8);
            c.extend_from_slice(name.as_bytes());
        }
        c.extend_from_slice(&[0x0C, 45, 0, 255, 0, 0, 0, ty, 0, 0, 0, 0, 0]);
        c
    }

    /// Lengths and counts from a hostile server are bounded: each answer below is an
    /// error naming what was wrong, never a panic, a hang or memory without end.
    #[tokio::test]
    async fn a_hostile_server_gets_errors_not_crashes() {
        // A column count of 2^40: refused before any column is read.
        let mut huge = vec![0xFE];
        huge.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let (mut conn, _server) =
            hostile_server(vec![prepared(1), Reply::Packets(vec![huge])]).await;
        let err = conn.query("SELECT c FROM t").await.unwrap_err().to_string();
        assert!(err.contains("1099511627776 columns"), "{err}");

        // Continuation packets without end: refused at the ceiling.
        let (mut conn, _server) = hostile_server(vec![prepared(1), Reply::Endless]).await;
        conn.max_payload = 40 << 20;
        let err = conn.query("SELECT c FROM t").await.unwrap_err().to_string();
        assert!(err.contains("longer than 40 MiB"), "{err}");

        // A connection cut inside a packet.
        let (mut conn, _server) = hostile_server(vec![prepared(1), Reply::Cut]).await;
        let err = conn.query("SELECT c FROM t").await.unwrap_err().to_string();
        assert!(err.contains("the server closed the connection"), "{err}");

        // A prepare reply that is neither OK nor an error, and a cut column definition.
        let (mut conn, _server) = hostile_server(vec![Reply::Packets(vec![vec![0x07]])]).await;
        let err = conn.query("SELECT 1").await.unwrap_err().to_string();
        assert!(err.contains("prepare reply starting with"), "{err}");
        let cut_def = column_definition(253)[..9].to_vec();
        let (mut conn, _server) =
            hostile_server(vec![prepared(1), Reply::Packets(vec![vec![1], cut_def])]).await;
        let err = conn.query("SELECT c FROM t").await.unwrap_err().to_string();
        assert!(err.contains("cut short"), "{err}");

        // The control: a well-formed result reads.
        let (mut conn, _server) = hostile_server(vec![
            prepared(1),
            Reply::Packets(vec![
                vec![1],
                column_definition(253),
                vec![0xFE, 0, 0, 2, 0],
                vec![0, 0, 2, b'h', b'i'],
                vec![0xFE, 0, 0, 2, 0],
            ]),
        ])
        .await;
        assert_eq!(
            conn.query("SELECT c FROM t").await.unwrap(),
            vec![WireKind::Bytes]
        );
        assert_eq!(
            conn.next_row().await.unwrap(),
            Some(&[0, 0, 2, b'h', b'i'][..])
        );
        assert_eq!(conn.next_row().await.unwrap(), None);
    }

    const NATIVE_SECRET: &str = "21b3ff405f32cbe4aafff291396046ea29fa3a4d";
    const SHA2_SECRET: &str = "6c84c617ec1f26456a02c42ed7cb02eca7d8511333f98bc9b31e5f68ce1665d5";

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn cut_packets_are_errors() {
        assert!(matches!(
            Greeting::parse(&[10, b'5', 0, 1, 2]),
            Err(WireError::Protocol(_))
        ));
        assert!(matches!(
            column_kind(&[3, b'd', b'e']),
            Err(WireError::Protocol(_))
        ));
        assert!(matches!(
            Reader::new(&[0xFF]).lenenc(),
            Err(WireError::Protocol(_))
        ));
        assert!(matches!(
            server_error(&[0xFF, 0x15, 0x04, b'#', b'2', b'8', b'0', b'0', b'0', b'n', b'o']),
            WireError::Server(1045, m) if m == "no"
        ));
    }
}
