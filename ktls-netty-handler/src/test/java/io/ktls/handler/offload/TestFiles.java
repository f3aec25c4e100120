package io.ktls.handler.offload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** Files of random bytes for download tests, and their SHA-256. */
final class TestFiles {

    private TestFiles() {
    }

    static Path random(Path path, int bytes, long seed) throws IOException {
        byte[] data = new byte[bytes];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < bytes; i += 8) {
            long v = random.nextLong();
            for (int j = 0; j < 8 && i + j < bytes; j++) {
                data[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return Files.write(path, data);
    }

    static String sha256(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[65536];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
