package io.ktls.examples.fileserver;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ByteRangeTest {

    private static String parse(String header, long length) {
        return ByteRange.parse(header, length).toString();
    }

    @Test
    void singleRangesAreClampedToTheFile() {
        assertEquals("bytes 0-99", parse("bytes=0-99", 1000));
        assertEquals("bytes 0-0", parse("bytes=0-0", 1000));
        assertEquals("bytes 500-999", parse("bytes=500-", 1000));
        assertEquals("bytes 900-999", parse("bytes=900-5000", 1000));
        assertEquals("bytes 900-999", parse("bytes=-100", 1000));
        assertEquals("bytes 0-999", parse("bytes=-5000", 1000));
        assertEquals("bytes 10-20", parse(" Bytes = 10 - 20 ", 1000));
        assertEquals(11, ByteRange.parse("bytes=10-20", 1000).length());
    }

    @Test
    void rangesStartingAtOrAfterTheEndAreUnsatisfiable() {
        assertEquals("UNSATISFIABLE", parse("bytes=1000-", 1000));
        assertEquals("UNSATISFIABLE", parse("bytes=1000-2000", 1000));
        assertEquals("UNSATISFIABLE", parse("bytes=-0", 1000));
        assertEquals("UNSATISFIABLE", parse("bytes=0-", 0));
        assertEquals("UNSATISFIABLE", parse("bytes=-1", 0));
    }

    @Test
    void multipleMalformedOrForeignRangesAreIgnored() {
        assertEquals("WHOLE", parse(null, 1000));
        assertEquals("WHOLE", parse("bytes=0-9,20-29", 1000));
        assertEquals("WHOLE", parse("bytes=9-0", 1000));
        assertEquals("WHOLE", parse("bytes=a-b", 1000));
        assertEquals("WHOLE", parse("bytes=-", 1000));
        assertEquals("WHOLE", parse("bytes=5", 1000));
        assertEquals("WHOLE", parse("items=0-9", 1000));
        assertEquals("WHOLE", parse("bytes=99999999999999999999-", 1000));
        assertEquals("WHOLE", parse("bytes=+1-2", 1000));
    }
}
