//! Extra trust anchors for a receiver's TLS: a PEM bundle from a Secret, for mail relays
//! signed by a private CA. Parsed when the receiver is resolved, so a bad bundle is named
//! as a configuration error once instead of failing every handshake.
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Certificates trusted besides the built-in roots (empty: only those). `Debug` shows
/// the count: a bundle is long and tells a log reader nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExtraRoots(Vec<CertificateDer<'static>>);

/// Why a bundle cannot be used. Never quotes the bundle.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum RootsError {
    #[error("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")]
    NoCertificate,
    #[error("not well-formed PEM (a section without its END line, or bad base64)")]
    MalformedPem,
    #[error("certificate {0} is not a usable X.509 certificate")]
    BadCertificate(usize),
}

impl ExtraRoots {
    /// Every `CERTIFICATE` section of `pem`; other sections (keys, comments) are skipped.
    pub fn from_pem(pem: &str) -> Result<Self, RootsError> {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| RootsError::MalformedPem)?;
        if certs.is_empty() {
            return Err(RootsError::NoCertificate);
        }
        // The check rustls makes when lettre builds its root store: fail here, by name.
        let mut store = rustls::RootCertStore::empty();
        for (i, cert) in certs.iter().enumerate() {
            store
                .add(cert.clone())
                .map_err(|_| RootsError::BadCertificate(i + 1))?;
        }
        Ok(Self(certs))
    }

    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.0
    }
}

impl std::fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtraRoots({} certificates)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem(name: &str) -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.self_signed(&key).expect("self-signed").pem()
    }

    #[test]
    fn a_bundle_keeps_every_certificate_and_debug_shows_the_count() {
        let bundle = format!("# relay CAs\n{}\n{}", ca_pem("a"), ca_pem("b"));
        let roots = ExtraRoots::from_pem(&bundle).expect("valid bundle");
        assert_eq!(roots.certs().len(), 2);
        assert_eq!(format!("{roots:?}"), "ExtraRoots(2 certificates)");
        // A bundle saved on Windows reads the same.
        let crlf = ExtraRoots::from_pem(&bundle.replace('\n', "\r\n")).expect("CRLF bundle");
        assert_eq!(crlf, roots);
    }

    #[test]
    fn text_without_certificates_is_refused() {
        assert_eq!(
            ExtraRoots::from_pem("not a certificate at all"),
            Err(RootsError::NoCertificate)
        );
    }

    #[test]
    fn broken_pem_is_refused_without_quoting_it() {
        let cut = ca_pem("a").replace("-----END CERTIFICATE-----", "");
        assert_eq!(ExtraRoots::from_pem(&cut), Err(RootsError::MalformedPem));
        let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert_eq!(
            ExtraRoots::from_pem(bad_base64),
            Err(RootsError::MalformedPem)
        );
    }

    #[test]
    fn base64_that_is_not_a_certificate_is_refused_by_position() {
        // Valid PEM framing around DER that is not X.509 ("hello world").
        let junk = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
        let bundle = format!("{}\n{junk}", ca_pem("a"));
        let err = ExtraRoots::from_pem(&bundle).expect_err("junk");
        assert_eq!(err, RootsError::BadCertificate(2));
        assert!(!err.to_string().contains("aGVsbG8"), "{err}");
    }
}
