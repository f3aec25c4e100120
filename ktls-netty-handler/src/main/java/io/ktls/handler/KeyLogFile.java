package io.ktls.handler;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Debugging aid switched on by {@link KtlsConfig.Builder#keyLogFile(Path)}: appends NSS key-log lines
 * ({@code SSLKEYLOGFILE} format, what Wireshark reads) to a file. Off unless the user names a file: whoever
 * reads the file can decrypt the traffic. Lines are appended whole under the class lock, so channels on many
 * event loops may share one file.
 */
final class KeyLogFile {

    private KeyLogFile() {
    }

    static void append(Path file, byte[] line) {
        ByteBuffer buffer = ByteBuffer.allocate(line.length + 1);
        buffer.put(line).put((byte) '\n').flip();
        synchronized (KeyLogFile.class) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
            } catch (IOException e) {
                // A debugging aid must not break the connection; the line is lost.
            } finally {
                java.util.Arrays.fill(buffer.array(), (byte) 0);
            }
        }
    }
}
