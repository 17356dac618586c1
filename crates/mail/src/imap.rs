//! The IMAP side: fetch a mailbox's messages one at a time, and remove (delete or move) a
//! message only when the caller says its ticket update is committed.

use futures::TryStreamExt;
use serde::Deserialize;
use std::fmt::Debug;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How to reach a mailbox, and what its mail means to the desk.
#[derive(Debug, Clone, Deserialize)]
pub struct MailboxConfig {
    pub host: String,
    pub port: u16,
    /// `tls` (implicit TLS, port 993) or `plain` (loopback tests only).
    #[serde(default = "default_security")]
    pub security: String,
    pub user: String,
    pub password: String,
    #[serde(default = "default_folder")]
    pub folder: String,
    /// Move taken messages here instead of deleting them.
    #[serde(default)]
    pub move_to: Option<String>,
    /// The service new tickets from this mailbox get.
    #[serde(default = "default_service")]
    pub service: String,
    /// The client unknown senders land under (its code); `None`: the "to register" client.
    #[serde(default)]
    pub default_client: Option<String>,
}

fn default_security() -> String {
    "tls".into()
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_service() -> String {
    "question".into()
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("login refused: {0}")]
    Login(async_imap::error::Error),
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

/// An open, selected mailbox.
pub struct ImapMailbox {
    session: async_imap::Session<Box<dyn Io>>,
    move_to: Option<String>,
}

impl ImapMailbox {
    pub async fn open(config: &MailboxConfig) -> Result<Self, ImapError> {
        let address = format!("{}:{}", config.host, config.port);
        let tcp = TcpStream::connect(&address)
            .await
            .map_err(|e| ImapError::Connect(address.clone(), e))?;
        let stream: Box<dyn Io> = if config.security == "plain" {
            Box::new(tcp)
        } else {
            let mut roots = tokio_rustls::rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let tls = tokio_rustls::rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(config.host.clone())
                .map_err(|e| ImapError::Tls(e.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
                .connect(name, tcp)
                .await
                .map_err(|e| ImapError::Connect(address, e))?;
            Box::new(stream)
        };
        let mut client = async_imap::Client::new(stream);
        client
            .read_response()
            .await
            .map_err(|e| ImapError::Imap(e.into()))?;
        let mut session = client
            .login(&config.user, &config.password)
            .await
            .map_err(|(e, _)| ImapError::Login(e))?;
        session.select(&config.folder).await?;
        Ok(ImapMailbox {
            session,
            move_to: config.move_to.clone(),
        })
    }

    /// The UIDs in the folder now, oldest first.
    pub async fn uids(&mut self) -> Result<Vec<u32>, ImapError> {
        let mut uids: Vec<u32> = self
            .session
            .uid_search("NOT DELETED")
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The raw message; `None` if it is gone (another poller took it).
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let fetches: Vec<_> = self
            .session
            .uid_fetch(uid.to_string(), "BODY.PEEK[]")
            .await?
            .try_collect()
            .await?;
        Ok(fetches
            .into_iter()
            .find_map(|f| f.body().map(<[u8]>::to_vec)))
    }

    /// Deletes (or moves) a message: call only after its ticket update is committed.
    pub async fn remove(&mut self, uid: u32) -> Result<(), ImapError> {
        let set = uid.to_string();
        if let Some(folder) = &self.move_to {
            self.session.uid_copy(&set, folder).await?;
        }
        let _: Vec<_> = self
            .session
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .await?
            .try_collect()
            .await?;
        let _: Vec<_> = self.session.uid_expunge(&set).await?.try_collect().await?;
        Ok(())
    }

    pub async fn close(mut self) {
        let _ = self.session.logout().await;
    }
}
