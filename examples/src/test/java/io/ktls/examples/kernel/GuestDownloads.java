package io.ktls.examples.kernel;

import io.ktls.examples.testing.TrustingTlsContext;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * The JDK's {@code HttpClient} as a peer of the file server inside the kernel guest: downloads each named file
 * over each protocol and suite given and compares it byte for byte with the file on disk. One line per download
 * ({@code jdk-download ok|FAILED ...}); exits 1 if any failed. The server's certificate is self-signed and
 * generated at its start, so it is not verified: the point here is the bytes the kernel sealed.
 *
 * <pre>
 *   GuestDownloads BASE_URL ROOT PROTOCOL:SUITE[,PROTOCOL:SUITE...] FILE...
 * </pre>
 */
public final class GuestDownloads {

    private GuestDownloads() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: GuestDownloads BASE_URL ROOT PROTOCOL:SUITE[,...] FILE...");
            System.exit(2);
        }
        String base = args[0];
        Path root = Path.of(args[1]);
        SSLContext trustAll = TrustingTlsContext.create();
        int failures = 0;
        for (String protocolAndSuite : args[2].split(",")) {
            String[] parts = protocolAndSuite.split(":");
            SSLParameters parameters = new SSLParameters(new String[] {parts[1]}, new String[] {parts[0]});
            HttpClient client = HttpClient.newBuilder().sslContext(trustAll).sslParameters(parameters)
                    .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(60)).build();
            for (int i = 3; i < args.length; i++) {
                String file = args[i];
                byte[] expected = Files.readAllBytes(root.resolve(file));
                String outcome;
                try {
                    HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(URI.create(base + file))
                            .timeout(Duration.ofSeconds(300)).build(), HttpResponse.BodyHandlers.ofByteArray());
                    boolean same = response.statusCode() == 200 && Arrays.equals(expected, response.body());
                    outcome = (same ? "ok" : "FAILED") + " status " + response.statusCode() + ", "
                            + response.body().length + " of " + expected.length + " bytes";
                    failures += same ? 0 : 1;
                } catch (Exception e) {
                    outcome = "FAILED " + e;
                    failures++;
                }
                System.out.println("jdk-download " + outcome + ": " + protocolAndSuite + " " + file);
            }
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}
