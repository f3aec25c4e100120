package io.ktls.handler.interop;

/**
 * What the server's TLS handler reported for a connection when it served a request: the negotiated
 * protocol and suite, and whether the record layer took over from {@code SslHandler}.
 */
record TlsState(String protocol, String cipherSuite, boolean recordLayerActive) {
}
