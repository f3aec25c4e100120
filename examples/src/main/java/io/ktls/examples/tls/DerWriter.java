package io.ktls.examples.tls;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

/**
 * The few DER (X.690) encodings a self-signed X.509 certificate needs: each method returns one complete
 * TLV, so structures are built bottom-up by nesting calls.
 */
final class DerWriter {

    static final int SEQUENCE = 0x30;
    static final int SET = 0x31;
    private static final int BOOLEAN = 0x01;
    private static final int INTEGER = 0x02;
    private static final int BIT_STRING = 0x03;
    private static final int OCTET_STRING = 0x04;
    private static final int NULL = 0x05;
    private static final int OBJECT_IDENTIFIER = 0x06;
    private static final int UTF8_STRING = 0x0c;
    private static final int UTC_TIME = 0x17;
    private static final int GENERALIZED_TIME = 0x18;

    private DerWriter() {
    }

    static byte[] tlv(int tag, byte[]... contents) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (byte[] c : contents) {
            body.writeBytes(c);
        }
        int length = body.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + 6);
        out.write(tag);
        if (length < 0x80) {
            out.write(length);
        } else {
            int lengthBytes = (32 - Integer.numberOfLeadingZeros(length) + 7) / 8;
            out.write(0x80 | lengthBytes);
            for (int i = lengthBytes - 1; i >= 0; i--) {
                out.write(length >>> (8 * i));
            }
        }
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    static byte[] sequence(byte[]... contents) {
        return tlv(SEQUENCE, contents);
    }

    static byte[] set(byte[]... contents) {
        return tlv(SET, contents);
    }

    /** A context-specific constructed tag, e.g. {@code [0] EXPLICIT} and {@code [3] EXPLICIT}. */
    static byte[] explicit(int tagNumber, byte[] content) {
        return tlv(0xa0 | tagNumber, content);
    }

    /** A context-specific primitive tag, e.g. the {@code dNSName [2]} and {@code iPAddress [7]} of a SAN. */
    static byte[] implicitPrimitive(int tagNumber, byte[] content) {
        return tlv(0x80 | tagNumber, content);
    }

    static byte[] integer(BigInteger value) {
        return tlv(INTEGER, value.toByteArray());
    }

    static byte[] bool(boolean value) {
        return tlv(BOOLEAN, new byte[] {(byte) (value ? 0xff : 0)});
    }

    static byte[] nullValue() {
        return tlv(NULL);
    }

    static byte[] octetString(byte[] value) {
        return tlv(OCTET_STRING, value);
    }

    /** A bit string of whole bytes with {@code unusedBits} padding bits at the end. */
    static byte[] bitString(int unusedBits, byte[] value) {
        return tlv(BIT_STRING, new byte[] {(byte) unusedBits}, value);
    }

    static byte[] utf8String(String value) {
        return tlv(UTF8_STRING, value.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] oid(String dotted) {
        String[] arcs = dotted.split("\\.");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeBase128(out, Long.parseLong(arcs[0]) * 40 + Long.parseLong(arcs[1]));
        for (int i = 2; i < arcs.length; i++) {
            writeBase128(out, Long.parseLong(arcs[i]));
        }
        return tlv(OBJECT_IDENTIFIER, out.toByteArray());
    }

    private static void writeBase128(ByteArrayOutputStream out, long value) {
        int groups = Math.max(1, (64 - Long.numberOfLeadingZeros(value) + 6) / 7);
        for (int i = groups - 1; i > 0; i--) {
            out.write((int) (0x80 | ((value >>> (7 * i)) & 0x7f)));
        }
        out.write((int) (value & 0x7f));
    }

    /** RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in UTC. */
    static byte[] time(java.time.Instant instant) {
        java.time.ZonedDateTime t = instant.atZone(java.time.ZoneOffset.UTC);
        String pattern = t.getYear() < 2050 ? "yyMMddHHmmss'Z'" : "yyyyMMddHHmmss'Z'";
        String text = java.time.format.DateTimeFormatter.ofPattern(pattern).format(t);
        return tlv(t.getYear() < 2050 ? UTC_TIME : GENERALIZED_TIME, text.getBytes(StandardCharsets.US_ASCII));
    }
}
