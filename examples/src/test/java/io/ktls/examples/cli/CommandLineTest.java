package io.ktls.examples.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CommandLineTest {

    @Test
    void byteCountsTakeBinarySuffixes() {
        assertEquals(4096, CommandLine.parseByteCount("4096"));
        assertEquals(64 << 10, CommandLine.parseByteCount("64k"));
        assertEquals(16L << 20, CommandLine.parseByteCount("16M"));
        assertEquals(1L << 30, CommandLine.parseByteCount("1g"));
        assertEquals(-1, CommandLine.parseByteCount("1t"));
        assertEquals(-1, CommandLine.parseByteCount("-5"));
        assertEquals(-1, CommandLine.parseByteCount("g"));
        assertEquals(-1, CommandLine.parseByteCount("99999999999999g"));
    }

    @Test
    void secondsMustBePositive() throws Exception {
        CommandLine line = new CommandLine("--duration", "0.5", "--duration", "0", "--duration", "NaN");
        line.next();
        assertEquals(0.5, line.seconds());
        line.next();
        assertEquals("--duration: 0 (expected: seconds > 0)",
                org.junit.jupiter.api.Assertions.assertThrows(UsageException.class, line::seconds).getMessage());
        line.next();
        assertEquals("--duration: NaN (expected: seconds > 0)",
                org.junit.jupiter.api.Assertions.assertThrows(UsageException.class, line::seconds).getMessage());
    }
}
