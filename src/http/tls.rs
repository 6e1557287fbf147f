//! TLS for one registry host: the system roots plus its `certs.d` CAs, and
//! docker's acceptance of a self-signed registry certificate kept in that
//! host's `certs.d`.
//!
//! `openssl req -x509` makes a certificate with the CA:TRUE basic constraint,
//! and many registries serve one as their own certificate. webpki refuses a
//! CA certificate as a server's (`CaUsedAsEndEntity`) even when it is a trust
//! anchor; Go's verifier, which docker uses, accepts it when it is in the
//! host's `certs.d`. [`CertsDVerifier`] accepts exactly that case: the
//! server's certificate byte-identical to one read from this host's `certs.d`
//! (pinned), still valid in time (webpki checks the dates before the
//! constraint), still valid for the host name, and the handshake still
//! signed by its key. Anywhere else, CA:TRUE stays refused, with the advice.
//!
//! ureq 3 takes roots but no verifier, so this module also brings the TLS
//! step of ureq's connector chain ([`Tls`]), with the client's deadline on
//! the handshake.

use std::sync::Arc;
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

/// The client configuration for one host: `system` roots plus `certs_d`
/// (which are also the certificates pinned for this host). None when there
/// is no root at all to check a certificate against.
pub(crate) fn host_config(
    system: &RootCertStore,
    certs_d: Vec<CertificateDer<'static>>,
) -> Option<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = system.clone();
    roots.add_parsable_certificates(certs_d.iter().cloned());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .ok()?;
    let verifier = CertsDVerifier {
        inner,
        pinned: certs_d,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Some(Arc::new(config))
}

/// The system's root certificates (the platform store, as rustls-native-certs
/// finds it).
pub(crate) fn system_roots() -> RootCertStore {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(loaded.certs);
    crate::debug!("http: {added} system root certificates");
    roots
}

/// Whether `err` is webpki's refusal of a CA certificate (CA:TRUE) as the
/// server's own.
pub(crate) fn is_ca_used_as_end_entity(err: &rustls::Error) -> bool {
    match err {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

/// rustls' WebPKI verifier, plus the pinned self-signed case (module docs).
#[derive(Debug)]
struct CertsDVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for CertsDVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(err)
                if is_ca_used_as_end_entity(&err)
                    && self
                        .pinned
                        .iter()
                        .any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                crate::debug!("http: the server's certificate is the one in certs.d (CA:TRUE)");
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Why there is no configuration: no system root and no certs.d CA.
pub(crate) const NO_ROOTS: &str = "no CA certificate to check the server's certificate against";

/// The TLS step of the connector chain: wraps the connection to an `https`
/// URL in rustls with `config` (none for a plain-HTTP request), the handshake
/// bounded by `deadline`.
#[derive(Debug)]
pub(crate) struct Tls {
    pub(crate) config: Option<Arc<ClientConfig>>,
    pub(crate) deadline: Instant,
}

impl<In: Transport> Connector<In> for Tls {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let config = self.config.clone().ok_or(ureq::Error::Tls(NO_ROOTS))?;
        let host = details.uri.host().ok_or(ureq::Error::Tls(
            "no host name to check the certificate for",
        ))?;
        let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|_| ureq::Error::Tls("the host is not a name TLS can check"))?
            .to_owned();
        let mut conn = ClientConnection::new(config, name).map_err(ureq::Error::Rustls)?;
        let boxed: Box<dyn Transport> = Box::new(transport);
        let mut sock = TransportAdapter::new(boxed, details.current_time.clone());
        sock.set_timeout(self.handshake_timeout(details.timeout));
        conn.complete_io(&mut sock)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned::new(conn, sock),
        })))
    }
}

impl Tls {
    /// ureq's timeout for this step, never past the client's deadline.
    fn handshake_timeout(&self, mut timeout: NextTimeout) -> NextTimeout {
        let left = self.deadline.saturating_duration_since(Instant::now());
        timeout.after = timeout.after.min(left.into());
        timeout
    }
}

/// A connection wrapped in TLS (as ureq's own rustls transport).
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        use std::io::Write;
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        use std::io::Read;
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
