package io.ktls.handler;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Key-log lines carry secrets in hex: none may stay in memory, whether or not a connection wants it. */
class KeyLogLineTest {

    @Test
    void lineOfAConnectionWithoutASinkIsZeroed() {
        byte[] line = ("CLIENT_TRAFFIC_SECRET_0 " + "ab".repeat(32) + ' ' + "cd".repeat(32))
                .getBytes(StandardCharsets.US_ASCII);
        // An SSL* no connection registered: its handshake ended, or it is not ours.
        BoringSslKeyLog.dispatch(0x7fff_0000_1234L, line);
        assertArrayEquals(new byte[line.length], line, "the unclaimed line still holds the secret");
    }
}
