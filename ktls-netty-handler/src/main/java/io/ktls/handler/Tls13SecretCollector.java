package io.ktls.handler;

import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Keeps the two application traffic secrets of one TLS 1.3 connection as BoringSSL logs them during the
 * handshake ({@code CLIENT_TRAFFIC_SECRET_0}, {@code SERVER_TRAFFIC_SECRET_0}); the handshake secrets and the
 * exporter secret are not kept. Event loop only (BoringSSL calls back from the handshake it runs there).
 * {@link #close()} zeroes what it holds.
 */
final class Tls13SecretCollector implements BoringSslKeyLog.Sink, AutoCloseable {

    private static final byte[] CLIENT_LABEL = "CLIENT_TRAFFIC_SECRET_0 ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_LABEL = "SERVER_TRAFFIC_SECRET_0 ".getBytes(StandardCharsets.US_ASCII);

    private final Path keyLogFile;
    private byte[] clientTrafficSecret;
    private byte[] serverTrafficSecret;
    /** The engine whose lines come here while registered; 0 once unregistered. */
    private long sslPointer;

    Tls13SecretCollector(Path keyLogFile) {
        this.keyLogFile = keyLogFile;
    }

    /**
     * A collector receiving the key-log lines of {@code engine} from now on, or {@code null} when the context
     * cannot log keys (the connection then stays on SslHandler). {@code keyLogFile}: where to append the lines
     * too, or {@code null}.
     */
    static Tls13SecretCollector register(SslContext context, ReferenceCountedOpenSslEngine engine,
                                         Path keyLogFile) {
        Tls13SecretCollector collector = new Tls13SecretCollector(keyLogFile);
        long ssl = engine.sslPointer();
        if (!BoringSslKeyLog.register(context, ssl, collector)) {
            return null;
        }
        collector.sslPointer = ssl;
        return collector;
    }

    /** Stops receiving lines and zeroes what was kept. Idempotent. */
    void unregister() {
        if (sslPointer != 0) {
            BoringSslKeyLog.unregister(sslPointer, this);
            sslPointer = 0;
        }
        close();
    }

    @Override
    public void keyLogLine(byte[] line) {
        if (keyLogFile != null) {
            KeyLogFile.append(keyLogFile, line);
        }
        if (startsWith(line, CLIENT_LABEL)) {
            clientTrafficSecret = replace(clientTrafficSecret, secretOf(line));
        } else if (startsWith(line, SERVER_LABEL)) {
            serverTrafficSecret = replace(serverTrafficSecret, secretOf(line));
        }
        // The line is a fresh array from tcnative, ours alone: its hex secret goes too.
        Arrays.fill(line, (byte) 0);
    }

    /** The client's application traffic secret 0, or {@code null} if BoringSSL did not log it. Not a copy. */
    byte[] clientTrafficSecret() {
        return clientTrafficSecret;
    }

    byte[] serverTrafficSecret() {
        return serverTrafficSecret;
    }

    @Override
    public void close() {
        clientTrafficSecret = replace(clientTrafficSecret, null);
        serverTrafficSecret = replace(serverTrafficSecret, null);
    }

    private static byte[] replace(byte[] old, byte[] next) {
        if (old != null) {
            Arrays.fill(old, (byte) 0);
        }
        return next;
    }

    private static boolean startsWith(byte[] line, byte[] label) {
        return line.length > label.length && Arrays.equals(line, 0, label.length, label, 0, label.length);
    }

    /** Line: {@code LABEL <client_random hex> <secret hex>}; decodes the last field without a String. */
    private static byte[] secretOf(byte[] line) {
        int end = line.length;
        while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == '\r' || line[end - 1] == 0)) {
            end--;
        }
        int start = end;
        while (start > 0 && line[start - 1] != ' ') {
            start--;
        }
        int hexLength = end - start;
        if (hexLength == 0 || (hexLength & 1) != 0) {
            return null;
        }
        byte[] secret = new byte[hexLength / 2];
        for (int i = 0; i < secret.length; i++) {
            int hi = Character.digit(line[start + 2 * i], 16);
            int lo = Character.digit(line[start + 2 * i + 1], 16);
            if (hi < 0 || lo < 0) {
                Arrays.fill(secret, (byte) 0);
                return null;
            }
            secret[i] = (byte) (hi << 4 | lo);
        }
        return secret;
    }
}
