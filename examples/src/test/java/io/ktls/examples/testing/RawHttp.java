package io.ktls.examples.testing;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

/**
 * Sends exact bytes (malformed or pipelined requests, which curl will not send) over TLS or TCP and reads
 * until the server closes. The JDK's TLS client trusts any certificate here: it talks to the server under
 * test on loopback only.
 */
public final class RawHttp {

    private RawHttp() {
    }

    public static String exchange(String scheme, int port, String request) throws IOException, GeneralSecurityException {
        try (Socket socket = open(scheme, port)) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                }
            } catch (javax.net.ssl.SSLException e) {
                // a close without close_notify after the last response: what was read is the answer
            }
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** A connected socket to the server on loopback, TLS handshake done when {@code scheme} is https. */
    public static Socket open(String scheme, int port) throws IOException, GeneralSecurityException {
        return open(scheme, port, 0);
    }

    /**
     * Like {@link #open(String, int)}, with the socket's receive buffer fixed at {@code receiveBufferBytes}
     * (0: the kernel's default, which grows to tens of MB on loopback): a small one keeps what the server
     * wrote in the server's buffers until this client reads it.
     */
    public static Socket open(String scheme, int port, int receiveBufferBytes)
            throws IOException, GeneralSecurityException {
        Socket tcp = new Socket();
        if (receiveBufferBytes > 0) {
            tcp.setReceiveBufferSize(receiveBufferBytes); // before connect: it sets the window scale
        }
        tcp.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        if (scheme.equals("http")) {
            return tcp;
        }
        SSLContext context = TrustingTlsContext.create();
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(tcp, "127.0.0.1", port, true);
        socket.startHandshake();
        return socket;
    }
}
