//! Connecting to NATS: the servers, the credentials and TLS, as the edge and
//! the accounting node are configured.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::{Client, ConnectOptions};

use crate::error::BusError;

/// How to authenticate to NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BusAuth {
    /// No credentials (a local or test server).
    #[default]
    None,
    /// A user and password from the server's config.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A `.creds` file holding a user JWT and its nkey seed (decentralised
    /// auth with an operator and accounts).
    Credentials(PathBuf),
    /// An nkey seed (`SU…`) for nkey authentication.
    Nkey(String),
}

/// Where the bus is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// Server URLs (`nats://host:4222`, `tls://host:4222`); the client
    /// fails over between them and learns the rest of the cluster.
    pub urls: Vec<String>,
    /// Credentials.
    pub auth: BusAuth,
    /// A PEM file of CA certificates to trust, for servers with TLS.
    pub tls_ca: Option<PathBuf>,
    /// Refuse servers that do not offer TLS.
    pub require_tls: bool,
    /// The client's name as the server shows it (`edge-1`, `accounting`).
    pub name: String,
}

impl BusConfig {
    /// Plain connections to `urls`, no credentials.
    pub fn new(urls: Vec<String>, name: impl Into<String>) -> Self {
        BusConfig {
            urls,
            auth: BusAuth::None,
            tls_ca: None,
            require_tls: false,
            name: name.into(),
        }
    }

    /// Connects to the first server that answers. Later disconnects are
    /// retried by the client forever; JetStream calls fail while it is away.
    ///
    /// # Errors
    /// [`BusError::Connect`] when no server accepts the connection,
    /// [`BusError::Credentials`] for an unreadable credentials file.
    pub async fn connect(&self) -> Result<Client, BusError> {
        let mut options = match &self.auth {
            BusAuth::None => ConnectOptions::new(),
            BusAuth::UserPassword { user, password } => {
                ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            BusAuth::Credentials(path) => ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|source| BusError::Credentials {
                    path: path.clone(),
                    source,
                })?,
            BusAuth::Nkey(seed) => ConnectOptions::with_nkey(seed.clone()),
        };
        if let Some(ca) = &self.tls_ca {
            options = options.add_root_certificates(ca.clone());
        }
        options
            .require_tls(self.require_tls)
            .name(&self.name)
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None)
            .connect(self.urls.as_slice())
            .await
            .map_err(|source| BusError::Connect {
                urls: self.urls.join(","),
                source,
            })
    }
}
