package io.ktls.examples.tls;

import io.ktls.examples.cli.CommandLine;
import io.ktls.examples.cli.UsageException;
import io.ktls.examples.transport.ServerLauncher;
import io.ktls.examples.transport.Transport;
import io.netty.channel.ChannelHandler;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * The command-line options every example server reads the same way: where it listens ({@code --host},
 * {@code --port}), how it secures connections ({@code --mode}, {@code --workers}, {@code --cert}, {@code --key},
 * {@code --protocols}, {@code --ciphers}, {@code --record-memory}, {@code --handshake-timeout}) and on which transport ({@code --transport}). A server's options class
 * offers each option to {@link #parse} first and handles the rest itself. Filled and read by the thread running
 * {@code main}.
 */
public final class ServerConnectionOptions {

    private String host = "127.0.0.1";
    private int port;
    private final List<Path> certs = new ArrayList<>();
    private final List<Path> keys = new ArrayList<>();
    private ServerMode mode = ServerMode.OFFLOAD;
    private int workers = Runtime.getRuntime().availableProcessors();
    /** 0: a quarter of the JVM's direct memory limit, as the library's default budget. */
    private long recordMemoryBytes;
    private int handshakeTimeoutSeconds = DEFAULT_HANDSHAKE_TIMEOUT_SECONDS;
    private Transport transport = Transport.AUTO;
    private List<String> protocols;
    private List<String> ciphers;

    /** @param defaultPort the port without {@code --port}; each server has its own so that they can run side by side */
    /** Netty's own default ({@code SslHandler}); nginx waits 60 s ({@code client_header_timeout}). */
    public static final int DEFAULT_HANDSHAKE_TIMEOUT_SECONDS = 10;

    public ServerConnectionOptions(int defaultPort) {
        this.port = defaultPort;
    }

    /** Reads the current option if it is one of these, and says whether it was. */
    public boolean parse(CommandLine line) throws UsageException {
        switch (line.option()) {
            case "--host": host = line.value(); return true;
            case "--port": port = line.intValue(0, 65535); return true;
            case "--cert": certs.add(line.existingFile()); return true;
            case "--key": keys.add(line.existingFile()); return true;
            case "--mode": mode = line.enumValue(ServerMode.class); return true;
            case "--workers": workers = line.intValue(1, 1024); return true;
            case "--record-memory": recordMemoryBytes = line.byteCount(); return true;
            case "--handshake-timeout": handshakeTimeoutSeconds = line.intValue(1, 3600); return true;
            case "--transport": transport = line.enumValue(Transport.class); return true;
            case "--protocols": protocols = line.listValue(); return true;
            case "--ciphers": ciphers = line.listValue(); return true;
            default: return false;
        }
    }

    /** Checks what only all the options together show; call once every argument is read. */
    public void check() throws UsageException {
        if (certs.size() != keys.size()) {
            throw new UsageException("--cert and --key go together, in pairs (" + certs.size() + " --cert, "
                    + keys.size() + " --key)");
        }
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** The first {@code --cert} file, or null for a generated certificate. */
    public Path cert() {
        return certs.isEmpty() ? null : certs.get(0);
    }

    /** The first {@code --key} file, or null for a generated certificate. */
    public Path key() {
        return keys.isEmpty() ? null : keys.get(0);
    }

    /** Every {@code --cert}/{@code --key} pair, in order: the first is the default, the others go by server name. */
    public List<ServerCertificates.KeyPairFiles> keyPairs() {
        List<ServerCertificates.KeyPairFiles> pairs = new ArrayList<>();
        for (int i = 0; i < Math.min(certs.size(), keys.size()); i++) {
            pairs.add(new ServerCertificates.KeyPairFiles(certs.get(i), keys.get(i)));
        }
        return pairs;
    }

    public ServerMode mode() {
        return mode;
    }

    public int workers() {
        return workers;
    }

    /**
     * The {@code --record-memory} budget: bytes of sealed records not yet written that all connections together
     * may hold beyond their guaranteed records; 0 when not given (then a quarter of the direct memory limit).
     */
    /** The {@code --handshake-timeout}, in seconds: a connection not handshaken by then is closed. */
    public int handshakeTimeoutSeconds() {
        return handshakeTimeoutSeconds;
    }

    public long recordMemoryBytes() {
        return recordMemoryBytes;
    }

    public Transport transport() {
        return transport;
    }

    /** The {@code --protocols}, or null for the provider's. */
    public List<String> protocols() {
        return protocols;
    }

    /** The {@code --ciphers}, or null for the provider's. */
    public List<String> ciphers() {
        return ciphers;
    }

    /** The TLS options of the first pair (a client context of the same protocols and ciphers, say). */
    public TlsOptions tls() {
        return new TlsOptions(cert(), key(), protocols, ciphers);
    }

    /**
     * What {@code --mode} puts in front of each connection: in a TLS mode with the certificates of
     * {@link #keyPairs()} (reloaded when their files change), in offload mode with {@code --workers} workers.
     *
     * @throws IllegalArgumentException when an option parses but cannot be used, e.g. an unknown cipher suite
     */
    public ConnectionSecurity newSecurity() throws SSLException, GeneralSecurityException {
        ServerCertificates certificates = mode.isTls() ? ServerCertificates.load(keyPairs(), protocols, ciphers)
                                                       : null;
        return ConnectionSecurity.create(mode, certificates, workers, recordMemoryBytes,
                                         TimeUnit.SECONDS.toMillis(handshakeTimeoutSeconds));
    }

    /**
     * A launcher on {@code --host} and {@code --port}. It gets the transport as asked for, so that its log line
     * can say when {@code auto} chose it.
     */
    public ServerLauncher newLauncher(ConnectionSecurity security, ChannelHandler childInitializer) {
        return new ServerLauncher(transport, host, port, security, childInitializer);
    }
}
