package io.ktls.handler.interop;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** One transfer of the matrix: server mode x version and suite x direction x payload size. */
record TransferCase(ServerUnderTest server, CipherCase cipher, Direction direction, long size) {

    /** Which way the payload travels, seen from the peer. */
    enum Direction {
        /** The server sends the payload from buffers. */
        DOWNLOAD,
        /** The server sends the payload from a file (a FileRegion through KtlsHandler). */
        FILE_DOWNLOAD,
        /** The peer sends the payload; the server hashes it. */
        UPLOAD;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
        }
    }

    /** Every suite x direction x size for one server mode. */
    static List<TransferCase> matrix(ServerUnderTest server, Collection<CipherCase> ciphers,
                                     Collection<Direction> directions, Collection<Long> sizes) {
        List<TransferCase> cases = new ArrayList<>();
        for (CipherCase cipher : ciphers) {
            for (Direction direction : directions) {
                for (long size : sizes) {
                    cases.add(new TransferCase(server, cipher, direction, size));
                }
            }
        }
        return cases;
    }

    boolean isDownload() {
        return direction != Direction.UPLOAD;
    }

    /** The raw application's command line for this transfer. */
    String rawCommand() {
        String verb = switch (direction) {
            case DOWNLOAD -> "GET ";
            case FILE_DOWNLOAD -> "FILE ";
            case UPLOAD -> "PUT ";
        };
        return verb + size + "\n";
    }

    /** The HTTP application's path for this transfer. */
    String httpPath() {
        return switch (direction) {
            case DOWNLOAD -> "/bytes/" + size;
            case FILE_DOWNLOAD -> "/file/" + size;
            case UPLOAD -> "/sha256";
        };
    }

    /** Names the test: which server mode, version, suite, direction and size. */
    String describe(String peer) {
        return peer + " | " + server + " | " + cipher + " | " + direction + " " + Payload.label(size);
    }
}
