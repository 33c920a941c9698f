//! One native API connection: the optional Noise handshake, hello and login, then messages in
//! and out. Generic over the byte stream, so the tests can run it on any socket.

use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::api;
use super::frame::{self, Frame, FrameError, MAX_FRAME};

/// The one protocol encrypted devices offer (the server hello's first byte, 0x01).
const NOISE_PARAMS: &str = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";
/// The handshake's prologue: the API's name and two zero bytes (aioesphomeapi `noise.py`).
const PROLOGUE: &[u8] = b"NoiseAPIInit\x00\x00";
/// How long a login with a password waits for a refusal.
const LOGIN_ANSWER: std::time::Duration = std::time::Duration::from_millis(500);
/// What a device answers when the pre-shared keys differ (its handshake error text).
const MAC_FAILURE: &str = "Handshake MAC failure";

/// Why a connection failed or ended.
#[derive(Debug)]
pub enum Error {
    /// The socket.
    Io(std::io::Error),
    /// The device closed the connection.
    Closed,
    /// A frame that cannot be read.
    Frame(FrameError),
    /// The device answered a plaintext hello with a Noise frame.
    WantsEncryption,
    /// The device dropped an encrypted hello, or answered it in plaintext.
    NotEncrypted,
    /// The pre-shared keys differ.
    WrongKey,
    /// The device refused the handshake, saying why.
    Handshake(String),
    /// A transport frame failed its authentication tag.
    Decrypt,
    /// A message that does not decode.
    Malformed(&'static str),
    /// The API password was refused.
    WrongPassword,
    /// An API major version Halyard does not speak.
    Version(u32),
    /// The device said goodbye (`DisconnectRequest`).
    Goodbye,
    /// Nothing heard for too long.
    Silent,
}

impl Error {
    /// A short name for the error counter.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io(_) | Error::Closed | Error::Goodbye | Error::Silent => "connection",
            Error::Frame(FrameError::TooLarge(_)) => "too_large",
            Error::Frame(_) | Error::Malformed(_) | Error::Decrypt => "garbage",
            Error::WantsEncryption | Error::NotEncrypted => "encryption_mismatch",
            Error::WrongKey => "wrong_key",
            Error::Handshake(_) => "handshake",
            Error::WrongPassword => "wrong_password",
            Error::Version(_) => "version",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Closed => f.write_str("the device closed the connection"),
            Error::Frame(e) => write!(f, "{e}"),
            Error::WantsEncryption => {
                f.write_str("the device encrypts its API: set encryption_key (the node's `api: encryption: key`)")
            }
            Error::NotEncrypted => f.write_str(
                "the device dropped the encrypted hello: its API is not encrypted, remove encryption_key (or add the key to the node)",
            ),
            Error::WrongKey => f.write_str("wrong encryption key: it must be the node's `api: encryption: key`"),
            Error::Handshake(why) => write!(f, "the device refused the handshake: {why}"),
            Error::Decrypt => f.write_str("a frame failed its authentication"),
            Error::Malformed(what) => write!(f, "a malformed {what}"),
            Error::WrongPassword => f.write_str("the device refused the API password"),
            Error::Version(v) => write!(f, "API version {v}.x is not one Halyard speaks (1.x)"),
            Error::Goodbye => f.write_str("the device closed the session"),
            Error::Silent => f.write_str("nothing heard from the device for 90 s"),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// What the device said in its hello.
#[derive(Debug, Clone)]
pub struct Hello {
    /// Its name.
    pub name: String,
    /// Its firmware (`… (esphome v2025.10.0)`).
    pub server_info: String,
}

/// An open session.
pub struct Session<S> {
    io: S,
    buf: Vec<u8>,
    /// Messages read while waiting for something else.
    pending: std::collections::VecDeque<(u32, Vec<u8>)>,
    noise: Option<snow::TransportState>,
    scratch: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    /// Handshake (with `psk`, Noise), hello and login.
    pub async fn open(io: S, psk: Option<&[u8; 32]>, password: &str) -> Result<(Session<S>, Hello), Error> {
        let mut s = Session {
            io,
            buf: Vec::new(),
            pending: Default::default(),
            noise: None,
            scratch: vec![0u8; MAX_FRAME + 64],
        };
        if let Some(psk) = psk {
            s.handshake(psk).await?;
        }
        let hello = api::HelloRequest {
            client_info: format!("Halyard {}", env!("CARGO_PKG_VERSION")),
            api_version_major: api::API_VERSION.0,
            api_version_minor: api::API_VERSION.1,
        };
        s.send(api::HELLO_REQUEST, &hello.encode_to_vec()).await?;
        // Devices answer only a refused password; a device without one ignores this.
        let login = api::AuthenticationRequest { password: password.to_owned() };
        s.send(api::AUTHENTICATION_REQUEST, &login.encode_to_vec()).await?;
        loop {
            let (kind, body) = s.recv().await?;
            match kind {
                api::HELLO_RESPONSE => {
                    let r = api::HelloResponse::decode(&body[..]).map_err(|_| Error::Malformed("hello"))?;
                    if r.api_version_major != api::API_VERSION.0 {
                        return Err(Error::Version(r.api_version_major));
                    }
                    if !password.is_empty() {
                        // A refused password is answered at once, and the device hangs up: give
                        // the answer a moment to arrive before anything else is sent.
                        match tokio::time::timeout(LOGIN_ANSWER, s.recv()).await {
                            Ok(Ok((api::AUTHENTICATION_RESPONSE, body))) => login_answer(&body)?,
                            Ok(Ok(other)) => s.pending.push_back(other),
                            Ok(Err(e)) => return Err(e),
                            Err(_) => {}
                        }
                    }
                    return Ok((s, Hello { name: r.name, server_info: r.server_info }));
                }
                api::AUTHENTICATION_RESPONSE => login_answer(&body)?,
                api::DISCONNECT_REQUEST => return Err(Error::Goodbye),
                _ => {}
            }
        }
    }

    async fn handshake(&mut self, psk: &[u8; 32]) -> Result<(), Error> {
        let params = NOISE_PARAMS.parse().expect("a Noise protocol name snow knows");
        let mut hs = snow::Builder::new(params)
            .psk(0, psk)
            .and_then(|b| b.prologue(PROLOGUE))
            .and_then(|b| b.build_initiator())
            .map_err(|e| Error::Handshake(e.to_string()))?;
        let n = hs.write_message(&[], &mut self.scratch).map_err(|e| Error::Handshake(e.to_string()))?;
        // An empty frame (the client hello), then the handshake frame: status 0, the message.
        let mut out = frame::noise(&[]);
        let mut first = vec![0u8];
        first.extend_from_slice(&self.scratch[..n]);
        out.extend(frame::noise(&first));
        self.io.write_all(&out).await?;
        let server_hello = self.handshake_frame().await?;
        if server_hello.first() != Some(&0x01) {
            return Err(Error::Handshake(format!("the device chose protocol {:?}", server_hello.first())));
        }
        let reply = self.handshake_frame().await?;
        match reply.split_first() {
            Some((0, message)) => {
                hs.read_message(message, &mut self.scratch).map_err(|_| Error::WrongKey)?;
            }
            Some((_, why)) => {
                let why = String::from_utf8_lossy(why).into_owned();
                return Err(if why == MAC_FAILURE { Error::WrongKey } else { Error::Handshake(why) });
            }
            None => return Err(Error::Handshake("an empty answer".into())),
        }
        self.noise = Some(hs.into_transport_mode().map_err(|e| Error::Handshake(e.to_string()))?);
        Ok(())
    }

    /// One raw Noise frame during the handshake; a plaintext answer or a dropped connection
    /// means the device is not encrypted.
    async fn handshake_frame(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            match frame::split(&self.buf, true) {
                Ok(Some((Frame::Noise(p), used))) => {
                    let p = p.to_vec();
                    self.buf.drain(..used);
                    return Ok(p);
                }
                Ok(_) => {}
                Err(FrameError::Marker(0x00)) => return Err(Error::NotEncrypted),
                Err(e) => return Err(Error::Frame(e)),
            }
            match self.fill().await {
                Err(Error::Closed) => return Err(Error::NotEncrypted),
                Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Err(Error::NotEncrypted)
                }
                other => other?,
            }
        }
    }

    async fn fill(&mut self) -> Result<(), Error> {
        let mut chunk = [0u8; 4096];
        let n = self.io.read(&mut chunk).await?;
        if n == 0 {
            return Err(Error::Closed);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// The next message: its type and protobuf bytes. Cancel-safe: the only wait is a read.
    pub async fn recv(&mut self) -> Result<(u32, Vec<u8>), Error> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(m);
        }
        loop {
            let got = match frame::split(&self.buf, self.noise.is_some()) {
                Ok(Some((Frame::Plain { kind, body }, used))) => Some((kind, body.to_vec(), used)),
                Ok(Some((Frame::Noise(payload), used))) => {
                    let noise = self.noise.as_mut().ok_or(Error::Malformed("frame"))?;
                    let n = noise.read_message(payload, &mut self.scratch).map_err(|_| Error::Decrypt)?;
                    let (kind, body) = frame::parse_inner(&self.scratch[..n]).ok_or(Error::Malformed("frame"))?;
                    Some((kind, body.to_vec(), used))
                }
                Ok(None) => None,
                Err(FrameError::Marker(0x01)) if self.noise.is_none() => return Err(Error::WantsEncryption),
                Err(e) => return Err(Error::Frame(e)),
            };
            if let Some((kind, body, used)) = got {
                self.buf.drain(..used);
                return Ok((kind, body));
            }
            self.fill().await?;
        }
    }

    /// Send one message.
    pub async fn send(&mut self, kind: u32, body: &[u8]) -> Result<(), Error> {
        let bytes = match &mut self.noise {
            Some(noise) => {
                let n = noise
                    .write_message(&frame::inner(kind, body), &mut self.scratch)
                    .map_err(|e| Error::Handshake(e.to_string()))?;
                frame::noise(&self.scratch[..n])
            }
            None => frame::plain(kind, body),
        };
        self.io.write_all(&bytes).await?;
        Ok(())
    }
}

/// An `AuthenticationResponse`: an error when the password was refused.
pub fn login_answer(body: &[u8]) -> Result<(), Error> {
    match api::AuthenticationResponse::decode(body) {
        Ok(r) if r.invalid_password => Err(Error::WrongPassword),
        Ok(_) => Ok(()),
        Err(_) => Err(Error::Malformed("login answer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device's side of the handshake, written with snow as the responder, over a duplex pipe:
    /// the client's frames are what the official client sends (`01 00 00`, then `01 len 00 …`).
    #[tokio::test]
    async fn an_encrypted_session_with_a_responder() {
        let psk = [0x42u8; 32];
        let (client, mut device) = tokio::io::duplex(1 << 16);
        let peer = tokio::spawn(async move {
            let mut hs = snow::Builder::new(NOISE_PARAMS.parse().unwrap())
                .psk(0, &psk)
                .unwrap()
                .prologue(PROLOGUE)
                .unwrap()
                .build_responder()
                .unwrap();
            let mut head = [0u8; 3];
            device.read_exact(&mut head).await.unwrap();
            assert_eq!(head, [1, 0, 0], "the client hello is an empty frame");
            device.read_exact(&mut head).await.unwrap();
            let mut msg = vec![0u8; usize::from(u16::from_be_bytes([head[1], head[2]]))];
            device.read_exact(&mut msg).await.unwrap();
            assert_eq!(msg[0], 0);
            let mut scratch = vec![0u8; 70000];
            hs.read_message(&msg[1..], &mut scratch).unwrap();
            device.write_all(&frame::noise(b"\x01proxy\x00aabbccddeeff\x00")).await.unwrap();
            let n = hs.write_message(&[], &mut scratch).unwrap();
            let mut reply = vec![0u8];
            reply.extend_from_slice(&scratch[..n]);
            device.write_all(&frame::noise(&reply)).await.unwrap();
            let mut t = hs.into_transport_mode().unwrap();
            let hello = api::HelloResponse {
                api_version_major: 1,
                api_version_minor: 12,
                server_info: "proxy (esphome v2025.10.0)".into(),
                name: "proxy".into(),
            };
            let n = t.write_message(&frame::inner(api::HELLO_RESPONSE, &hello.encode_to_vec()), &mut scratch).unwrap();
            device.write_all(&frame::noise(&scratch[..n])).await.unwrap();
            // Read the client's hello back.
            device.read_exact(&mut head).await.unwrap();
            let mut msg = vec![0u8; usize::from(u16::from_be_bytes([head[1], head[2]]))];
            device.read_exact(&mut msg).await.unwrap();
            let n = t.read_message(&msg, &mut scratch).unwrap();
            let (kind, body) = frame::parse_inner(&scratch[..n]).unwrap();
            (kind, api::HelloRequest::decode(body).unwrap())
        });
        let (_, hello) = Session::open(client, Some(&psk), "").await.unwrap();
        assert_eq!(hello.name, "proxy");
        let (kind, request) = peer.await.unwrap();
        assert_eq!((kind, request.api_version_major), (api::HELLO_REQUEST, 1));
        assert!(request.client_info.starts_with("Halyard"));
    }

    #[tokio::test]
    async fn mismatched_sides_say_what_to_change() {
        // A plaintext client meets an encrypted device: it answers with a Noise frame.
        let (client, mut device) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            let mut b = [0u8; 64];
            let _ = device.read(&mut b).await;
            let _ = device.write_all(&[0x01, 0x00, 0x00]).await;
            let _ = device.read(&mut b).await;
        });
        let e = Session::open(client, None, "").await.err().unwrap();
        assert!(matches!(e, Error::WantsEncryption), "{e}");
        // An encrypted client meets a plaintext device, which drops the connection.
        let (client, mut device) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            let mut b = [0u8; 64];
            let _ = device.read(&mut b).await;
        });
        let e = Session::open(client, Some(&[1; 32]), "").await.err().unwrap();
        assert!(matches!(e, Error::NotEncrypted), "{e}");
        assert!(e.to_string().contains("remove encryption_key"));
    }
}
