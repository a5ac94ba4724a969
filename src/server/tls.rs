//! TLS for the server: a rustls acceptor from PEM files (`--tls-cert`, `--tls-key`).
//!
//! rustls with the `ring` provider: no OpenSSL on the machine, no C++ toolchain beyond what
//! `ring` builds. ALPN offers h2 and http/1.1 so that HTTP/2 clients negotiate it over TLS.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// An acceptor serving the certificate chain in `cert` with the private key in `key`.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::user(format!("cannot read the TLS certificate {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(Error::user(format!("no certificate in {}", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::user(format!("cannot read the TLS private key {}: {e}", key.display())))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS protocol versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::user(format!("the TLS certificate and key do not make a valid pair: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
