//! E-mail over SMTP with lettre: STARTTLS on 587 by default, implicit TLS on 465, or plain on a
//! trusted network (`security = "none"`: the Pi's own relay, a marina's local server).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;

use super::{Failure, Message};

/// How the SMTP session is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine or a trusted network (port 25).
    None,
}

impl Security {
    /// The usual port.
    pub fn port(self) -> u16 {
        match self {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

/// A ready mailer.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
    to: Vec<lettre::message::Mailbox>,
    server: String,
}

impl Mailer {
    /// A mailer for `smtp` (`host[:port]`); the addresses are checked here, so a typo is
    /// refused by `run --check` rather than at the first alarm.
    pub fn new(
        smtp: &str,
        security: Security,
        login: Option<(&str, &str)>,
        from: &str,
        to: &[String],
    ) -> Result<Mailer, String> {
        let (host, port) = match smtp.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.ends_with(']') => (
                h.trim_start_matches('[').trim_end_matches(']'),
                p.parse().map_err(|_| format!("smtp `{smtp}`: bad port"))?,
            ),
            _ => (smtp, security.port()),
        };
        if host.is_empty() {
            return Err("smtp: no host".into());
        }
        let builder = match security {
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            #[cfg(feature = "tls")]
            Security::Starttls => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(|e| format!("smtp: {e}"))?
            }
            #[cfg(feature = "tls")]
            Security::Tls => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| format!("smtp: {e}"))?
            }
            #[cfg(not(feature = "tls"))]
            _ => {
                return Err(
                    "security = \"starttls\" or \"tls\" needs Halyard built with `--features tls` (the Debian package is); \
                     security = \"none\" is for a relay on a trusted network"
                        .into(),
                )
            }
        };
        let mut builder = builder.port(port).timeout(Some(Duration::from_secs(15)));
        if let Some((user, password)) = login {
            builder = builder.credentials(Credentials::new(user.to_owned(), password.to_owned()));
        }
        let from = from.parse().map_err(|e| format!("from `{from}`: {e}"))?;
        let to = to
            .iter()
            .map(|a| a.parse().map_err(|e| format!("to `{a}`: {e}")))
            .collect::<Result<Vec<lettre::message::Mailbox>, String>>()?;
        if to.is_empty() {
            return Err("to: no address".into());
        }
        Ok(Mailer { transport: builder.build(), from, to, server: format!("{host}:{port}") })
    }

    /// `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Send one message to every address.
    pub async fn send(&self, m: &Message) -> Result<(), Failure> {
        let mut mail = lettre::Message::builder().from(self.from.clone()).subject(&m.title);
        for to in &self.to {
            mail = mail.to(to.clone());
        }
        let mail = mail
            .header(ContentType::TEXT_PLAIN)
            .body(format!("{}\n\n{}\n", m.body, serde_json::to_string_pretty(&m.json).unwrap_or_default()))
            .map_err(|e| Failure::Permanent(format!("the message: {e}")))?;
        match self.transport.send(mail).await {
            Ok(_) => Ok(()),
            // 5xx (a refused address, bad credentials) is permanent; the rest may pass.
            Err(e) if e.is_permanent() => Err(Failure::Permanent(format!("{}: {e}", self.server))),
            Err(e) => Err(Failure::Retry(format!("{}: {e}", self.server))),
        }
    }
}
