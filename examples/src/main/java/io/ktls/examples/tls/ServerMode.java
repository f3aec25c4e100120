package io.ktls.examples.tls;

/**
 * How a server secures its connections and sends file bodies ({@code --mode}):
 * <ul>
 *   <li>{@code offload}: {@code KtlsHandler} with a shared offload group; file data is read and sealed on
 *       worker threads, a {@code DefaultFileRegion} is written straight to the handler;</li>
 *   <li>{@code inline}: {@code KtlsHandler} sealing on the event loop, same writes;</li>
 *   <li>{@code kernel}: {@code KtlsHandler} handing each connection's write keys to Linux kernel TLS, so a
 *       {@code DefaultFileRegion} goes out with {@code sendfile(2)}; a connection the kernel refuses is closed
 *       ({@code KernelTls.REQUIRED});</li>
 *   <li>{@code auto}: as {@code kernel} where the kernel takes the keys, else as {@code offload}
 *       ({@code KernelTls.AUTO});</li>
 *   <li>{@code sslhandler}: Netty's {@code SslHandler} (OpenSSL provider) with {@code ChunkedWriteHandler}
 *       and {@code ChunkedNioFile}, as Netty users serve files over TLS today;</li>
 *   <li>{@code plain}: no TLS, {@code DefaultFileRegion} (sendfile) — the floor to compare with.</li>
 * </ul>
 */
public enum ServerMode {
    OFFLOAD("offload"),
    INLINE("inline"),
    KERNEL("kernel"),
    AUTO("auto"),
    SSLHANDLER("sslhandler"),
    PLAIN("plain");

    private final String optionName;

    ServerMode(String optionName) {
        this.optionName = optionName;
    }

    public boolean isTls() {
        return this != PLAIN;
    }

    /** True when connections are secured by ktls-netty's record layer. */
    public boolean isKtls() {
        return this == OFFLOAD || this == INLINE || this == KERNEL || this == AUTO;
    }

    /** True when file bodies are written as {@code FileRegion}s, false for chunked reads on the event loop. */
    public boolean writesFileRegions() {
        return this != SSLHANDLER;
    }

    public String scheme() {
        return isTls() ? "https" : "http";
    }

    @Override
    public String toString() {
        return optionName;
    }
}
