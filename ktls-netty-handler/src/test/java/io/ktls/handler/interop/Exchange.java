package io.ktls.handler.interop;

/**
 * The server's account of one request it served: which request, the TLS state of the connection, how many
 * payload bytes went out (download) or came in (upload) and, for uploads, their SHA-256. A connection that
 * failed before or during a request yields an exchange carrying the failure instead.
 */
record Exchange(String request, TlsState tls, long payloadBytes, String receivedSha256, Throwable failure) {

    static Exchange failed(String request, TlsState tls, Throwable failure) {
        return new Exchange(request, tls, -1, null, failure);
    }
}
