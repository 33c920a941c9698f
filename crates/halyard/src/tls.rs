//! TLS for the clients Halyard runs (feature `tls`): MQTT over `mqtts://` and the notifiers'
//! HTTPS. One place decides which certificates are trusted: the system's roots (Debian's
//! `ca-certificates`), or only those of a PEM file the owner names (a broker with its own CA).

use std::path::Path;

use anyhow::{bail, Context, Result};

/// A client configuration trusting `ca_file`'s certificates, or the system's roots without one.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let pem = std::fs::read(path).with_context(|| path.display().to_string())?;
            let mut added = 0;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem).filter_map(|c| c.ok()) {
                roots.add(cert).with_context(|| format!("{}: not a usable certificate", path.display()))?;
                added += 1;
            }
            if added == 0 {
                bail!("{}: no PEM certificate in it", path.display());
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    Ok(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
}
