package io.ktls.handler.interop;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** One transfer of the matrix: server mode x version and suite x direction x payload size. */
record TransferCase(ServerUnderTest server, CipherCase cipher, Direction direction, long size) {

    /** Which way the payload travels, seen from the peer. */
    enum Direction {
        /** The server sends the payload. */
        DOWNLOAD,
        /** The peer sends the payload; the server hashes it. */
        UPLOAD;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
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
        return direction == Direction.DOWNLOAD;
    }

    /** The raw application's command line for this transfer. */
    String rawCommand() {
        return (isDownload() ? "GET " : "PUT ") + size + "\n";
    }

    /** Names the test: which server mode, version, suite, direction and size. */
    String describe(String peer) {
        return peer + " | " + server + " | " + cipher + " | " + direction + " " + Payload.label(size);
    }
}
