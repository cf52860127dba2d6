//! TLS for SMTP: lettre's parameters with a receiver's extra roots, and telling a refused
//! server certificate apart from other connection failures.
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};

use super::roots::ExtraRoots;
use crate::api::SmtpTls;

/// lettre's TLS mode for `host`: the built-in public roots plus `extra`, and the server's
/// name always verified (there is deliberately no way to skip either check).
pub fn tls(mode: SmtpTls, host: &str, extra: &ExtraRoots) -> Result<Tls, SmtpError> {
    if mode == SmtpTls::None {
        return Ok(Tls::None);
    }
    let mut builder = TlsParameters::builder(host.to_string());
    for der in extra.certs() {
        builder = builder.add_root_certificate(Certificate::from_der(der.to_vec())?);
    }
    let parameters = builder.build()?;
    Ok(match mode {
        SmtpTls::Tls => Tls::Wrapper(parameters),
        _ => Tls::Required(parameters),
    })
}

/// Why the server's certificate was refused, when that is what failed the connection.
/// rustls' error sits inside an `io::Error`, whose `source()` skips it, so both links of
/// the chain are looked into.
pub fn refused_certificate(e: &SmtpError) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls @ rustls::Error::InvalidCertificate(_)) = err.downcast_ref() {
            return Some(tls.to_string());
        }
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}
