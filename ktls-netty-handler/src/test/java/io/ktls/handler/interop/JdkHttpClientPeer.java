package io.ktls.handler.interop;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.EnumMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The JDK's {@code java.net.http.HttpClient} (HTTP/1.1, the JDK's own TLS) against the HTTP application,
 * one client per suite restricted through {@code SSLParameters}. Connections stay alive between requests as
 * they would in an application, so later requests also prove records on a connection already in use.
 */
final class JdkHttpClientPeer implements InteropPeer {

    private final Map<CipherCase, HttpClient> clients = new EnumMap<>(CipherCase.class);

    @Override
    public String name() {
        return "JDK HttpClient";
    }

    @Override
    public InteropServer.Application application() {
        return InteropServer.Application.HTTP;
    }

    private HttpClient client(CipherCase cipher) throws Exception {
        HttpClient client = clients.get(cipher);
        if (client == null) {
            SSLContext sslContext = SSLContext.getInstance("TLS");
            sslContext.init(null, InteropPki.get().ca().toTrustManagerFactory().getTrustManagers(), null);
            client = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .sslContext(sslContext)
                    .sslParameters(new SSLParameters(new String[] {cipher.javaName()},
                            new String[] {cipher.protocol()}))
                    .build();
            clients.put(cipher, client);
        }
        return client;
    }

    @Override
    public void transfer(int port, TransferCase transfer) throws Exception {
        HttpClient client = client(transfer.cipher());
        String base = "https://" + InteropPki.HOST + ":" + port;
        if (transfer.isDownload()) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + transfer.httpPath()))
                    .timeout(CommandLinePeer.timeout(transfer.size()))
                    .build();
            HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            ReceivedBytes received = new ReceivedBytes();
            try (InputStream body = response.body()) {
                byte[] chunk = new byte[Payload.CHUNK_BYTES];
                for (int n; (n = body.read(chunk)) != -1; ) {
                    received.update(chunk, 0, n);
                }
            }
            assertEquals(200, response.statusCode(), "status");
            assertEquals(transfer.size(), received.count(), "bytes received");
            assertEquals(Payload.sha256Hex(transfer.size()), received.sha256Hex(), "SHA-256 of the bytes received");
        } else {
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/sha256"))
                    .timeout(CommandLinePeer.timeout(transfer.size()))
                    .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> Payload.newInputStream(transfer.size())))
                    .build();
            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode(), "status");
            assertEquals(Payload.sha256Hex(transfer.size()) + "\n", response.body(),
                    "the server's SHA-256 of the upload");
        }
    }

    @Override
    public void close() throws Exception {
        for (HttpClient client : clients.values()) {
            if (client instanceof AutoCloseable closeable) {
                // HttpClient is AutoCloseable from JDK 21 on; on JDK 17 its threads end with the JVM.
                closeable.close();
            }
        }
        clients.clear();
    }
}
