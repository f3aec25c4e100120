package io.ktls.handler.interop;

/**
 * A TLS client the server under test is proven against. {@link #transfer} runs one transfer to completion
 * and asserts what the peer saw (exit status, bytes and digest, the server's answer); the caller asserts
 * what the server saw.
 */
interface InteropPeer extends AutoCloseable {

    /** Short name used in test names ("curl", "openssl s_client", ...). */
    String name();

    InteropServer.Application application();

    /** Fails (on CI) or aborts (elsewhere) the tests when the peer is not installed. */
    default void requireInstalled() {
    }

    /**
     * Whether the peer can be restricted to this suite. Only BoringSSL clients say no: BoringSSL offers no
     * way to configure TLS 1.3 suites, so with AES hardware it always negotiates TLS_AES_128_GCM_SHA256.
     */
    default boolean supports(CipherCase cipher) {
        return true;
    }

    void transfer(int port, TransferCase transfer) throws Exception;

    @Override
    default void close() throws Exception {
    }
}
