//! The SMTP side: one transport built from settings (implicit TLS, STARTTLS or plain).

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `tls`, `starttls` or `plain`.
    #[serde(default = "default_security")]
    pub security: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

fn default_security() -> String {
    "starttls".into()
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP settings: {0}")]
    Config(String),
    /// The server refused for good (5xx): retrying will not help.
    #[error("refused: {0}")]
    Permanent(String),
    #[error("SMTP: {0}")]
    Transient(String),
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Smtp {
    pub fn new(config: &SmtpConfig) -> Result<Self, SmtpError> {
        let tls = |host: &str| {
            TlsParameters::new(host.into()).map_err(|e| SmtpError::Config(e.to_string()))
        };
        let security = match config.security.as_str() {
            "tls" => Tls::Wrapper(tls(&config.host)?),
            "starttls" => Tls::Required(tls(&config.host)?),
            "plain" => Tls::None,
            other => {
                return Err(SmtpError::Config(format!(
                    "security must be tls, starttls or plain, not {other:?}"
                )));
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(security)
            .timeout(Some(Duration::from_secs(30)));
        if let (Some(user), Some(password)) = (&config.user, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Smtp {
            transport: builder.build(),
        })
    }

    pub async fn send(&self, message: Message) -> Result<(), SmtpError> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SmtpError::Permanent(e.to_string())),
            Err(e) => Err(SmtpError::Transient(e.to_string())),
        }
    }
}
