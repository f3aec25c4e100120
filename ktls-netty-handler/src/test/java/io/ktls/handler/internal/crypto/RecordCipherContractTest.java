package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.AeadProviders;
import io.ktls.handler.crypto.TlsCipherSuite;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import javax.crypto.AEADBadTagException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One contract, run over every suite x every provider offering its AEAD: sealing (split, contiguous, in place)
 * agrees byte for byte with an independent construction from the RFCs ({@link ReferenceRecords}), opening
 * inverts it, and every tampered record fails.
 */
class RecordCipherContractTest {

    static final int[] SIZES = {0, 1, 15, 17, 16383, 16384};
    /** For the variants of a path the full list already covers: empty, one partial block, a full record. */
    static final int[] SOME_SIZES = {0, 17, 16384};

    static Stream<Arguments> suitesAndProviders() {
        List<Arguments> args = new ArrayList<>();
        for (TlsCipherSuite suite : TlsCipherSuite.values()) {
            for (AeadProvider provider : AeadProviders.available()) {
                if (provider.supports(suite.aead())) {
                    args.add(Arguments.of(suite, provider));
                }
            }
        }
        return args.stream();
    }

    /** Keys of one direction, both as {@link TrafficKeys} and as the raw bytes the reference construction uses. */
    static TrafficKeys keys(TlsCipherSuite suite) {
        if (suite.isTls13()) {
            byte[] secret = new byte[suite.hashLength()];
            new Random(suite.ordinal()).nextBytes(secret);
            return TrafficKeys.tls13(suite, secret);
        }
        byte[] master = new byte[48];
        byte[] clientRandom = new byte[32];
        byte[] serverRandom = new byte[32];
        Random random = new Random(suite.ordinal());
        random.nextBytes(master);
        random.nextBytes(clientRandom);
        random.nextBytes(serverRandom);
        Tls12KeyBlock block = Tls12KeyBlock.derive(suite, master, clientRandom, serverRandom);
        block.clientWrite().close();
        return block.serverWrite();
    }

    static byte[] payload(int size) {
        byte[] payload = new byte[size];
        new Random(size).nextBytes(payload);
        return payload;
    }

    static byte[] reference(TlsCipherSuite suite, TrafficKeys keys, long seq, byte type, byte[] payload)
            throws Exception {
        return suite.isTls13()
               ? ReferenceRecords.tls13(suite, keys.key(), keys.iv(), seq, type, payload, 0)
               : ReferenceRecords.tls12(suite, keys.key(), keys.iv(), seq, seq, type, payload);
    }

    static ByteBuffer buffer(int capacity, boolean direct) {
        return direct ? ByteBuffer.allocateDirect(capacity) : ByteBuffer.allocate(capacity);
    }

    static ByteBuffer filled(byte[] bytes, boolean direct) {
        ByteBuffer b = buffer(bytes.length, direct);
        b.put(bytes).flip();
        return b;
    }

    static byte[] written(ByteBuffer b, int from) {
        ByteBuffer view = b.duplicate();
        view.limit(view.position()).position(from);
        byte[] out = new byte[view.remaining()];
        view.get(out);
        return out;
    }

    @ParameterizedTest
    @MethodSource("suitesAndProviders")
    void splitSealMatchesTheReferenceAndFillsBodyExactly(TlsCipherSuite suite, AeadProvider provider)
            throws Exception {
        try (TrafficKeys keys = keys(suite)) {
            for (boolean direct : new boolean[] {false, true}) {
                try (RecordCipher cipher = RecordCipher.create(suite, keys, provider)) {
                    long seq = 1;
                    for (int size : SIZES) {
                        byte[] payload = payload(size);
                        ByteBuffer header = buffer(cipher.headerLength(), direct);
                        ByteBuffer body = buffer(size, direct);
                        ByteBuffer trailer = buffer(cipher.trailerLength(size), direct);
                        ByteBuffer in = filled(payload, direct);
                        cipher.seal(seq, RecordCipher.APPLICATION_DATA, in, header, body, trailer);
                        assertEquals(0, in.remaining());
                        assertEquals(cipher.headerLength(), header.position());
                        assertEquals(size, body.position(), "body holds exactly the payload length");
                        assertEquals(cipher.trailerLength(size), trailer.position());
                        byte[] record = Rfc8448VectorsTest.concat(header, body, trailer);
                        assertEquals(cipher.recordLength(size), record.length);
                        assertEquals(cipher.ciphertextLength(size), record.length - 5);
                        assertEquals(Hex.encode(reference(suite, keys, seq, RecordCipher.APPLICATION_DATA, payload)),
                                     Hex.encode(record), suite + " size " + size + " direct " + direct);
                        seq += 1000;
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("suitesAndProviders")
    void contiguousSealAndInPlaceSealEqualTheSplitSeal(TlsCipherSuite suite, AeadProvider provider) throws Exception {
        try (TrafficKeys keys = keys(suite);
             RecordCipher contiguous = RecordCipher.create(suite, keys, provider);
             RecordCipher inPlace = RecordCipher.create(suite, keys, provider)) {
            long seq = 7;
            for (int size : SOME_SIZES) {
                for (boolean direct : new boolean[] {false, true}) {
                    byte[] payload = payload(size);
                    byte[] expected = reference(suite, keys, seq, RecordCipher.HANDSHAKE, payload);

                    ByteBuffer out = buffer(contiguous.recordLength(size) + 3, direct);
                    out.position(3); // not at offset 0, to catch absolute-index mistakes
                    contiguous.sealRecord(seq, RecordCipher.HANDSHAKE, filled(payload, direct), out);
                    assertEquals(Hex.encode(expected), Hex.encode(written(out, 3)));

                    // In place: the body is the payload's own memory, one run of header | payload | trailer.
                    ByteBuffer run = buffer(inPlace.recordLength(size), direct);
                    run.position(inPlace.headerLength());
                    run.put(payload);
                    ByteBuffer header = run.duplicate();
                    header.clear().limit(inPlace.headerLength());
                    ByteBuffer body = run.duplicate();
                    body.clear().position(inPlace.headerLength()).limit(inPlace.headerLength() + size);
                    ByteBuffer payloadView = body.duplicate();
                    ByteBuffer trailer = run.duplicate();
                    trailer.clear().position(inPlace.headerLength() + size);
                    inPlace.seal(seq, RecordCipher.HANDSHAKE, payloadView, header, body, trailer);
                    run.clear();
                    byte[] all = new byte[run.remaining()];
                    run.get(all);
                    assertEquals(Hex.encode(expected), Hex.encode(all), suite + " in place size " + size);
                    seq++;
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("suitesAndProviders")
    void openInvertsSealForEverySizeAndBufferKind(TlsCipherSuite suite, AeadProvider provider) throws Exception {
        try (TrafficKeys keys = keys(suite);
             RecordCipher sealer = RecordCipher.create(suite, keys, provider);
             RecordCipher opener = RecordCipher.create(suite, keys, provider)) {
            long seq = Long.MAX_VALUE - 20; // high sequence numbers: all 8 nonce bytes in play
            for (int size : SIZES) {
                for (boolean direct : new boolean[] {false, true}) {
                    byte[] payload = payload(size);
                    ByteBuffer record = buffer(sealer.recordLength(size) + 10, direct);
                    sealer.sealRecord(seq, RecordCipher.APPLICATION_DATA, filled(payload, direct), record);
                    record.put(new byte[10]).flip(); // trailing bytes of a following record must stay unread
                    ByteBuffer out = buffer(opener.maxOpenedLength(sealer.ciphertextLength(size)), !direct);
                    assertEquals(RecordCipher.APPLICATION_DATA, opener.open(seq, record, out));
                    assertEquals(10, record.remaining());
                    assertArrayEquals(payload, written(out, 0));
                    seq++;
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("suitesAndProviders")
    void openDecryptsInPlaceOverTheCiphertext(TlsCipherSuite suite, AeadProvider provider) throws Exception {
        try (TrafficKeys keys = keys(suite); RecordCipher opener = RecordCipher.create(suite, keys, provider)) {
            long seq = 11;
            for (int size : SOME_SIZES) {
                for (boolean direct : new boolean[] {false, true}) {
                    byte[] payload = payload(size);
                    ByteBuffer record = filled(reference(suite, keys, seq, RecordCipher.APPLICATION_DATA, payload),
                                               direct);
                    ByteBuffer out = record.duplicate();
                    out.position(opener.headerLength());
                    int start = out.position();
                    assertEquals(RecordCipher.APPLICATION_DATA, opener.open(seq, record, out));
                    assertArrayEquals(payload, written(out, start), suite + " size " + size);
                    seq++;
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("suitesAndProviders")
    void openAcceptsRecordsOfTheIndependentConstruction(TlsCipherSuite suite, AeadProvider provider)
            throws Exception {
        try (TrafficKeys keys = keys(suite); RecordCipher opener = RecordCipher.create(suite, keys, provider)) {
            byte[] content = payload(300);
            byte[] record;
            if (suite.isTls13()) {
                record = ReferenceRecords.tls13(suite, keys.key(), keys.iv(), 5, RecordCipher.HANDSHAKE, content, 200);
            } else {
                // A peer may pick any explicit nonce, not only the sequence number.
                record = ReferenceRecords.tls12(suite, keys.key(), keys.iv(), 5, 0x0123456789ABCDEFL,
                                                RecordCipher.HANDSHAKE, content);
            }
            ByteBuffer out = ByteBuffer.allocate(opener.maxOpenedLength(record.length - 5));
            assertEquals(RecordCipher.HANDSHAKE, opener.open(5, ByteBuffer.wrap(record), out));
            assertArrayEquals(content, written(out, 0), "padding stripped, content intact");
        }
    }

    @ParameterizedTest
    @MethodSource("suitesAndProviders")
    void everyFlippedBitAndWrongSequenceNumberFailsTheTag(TlsCipherSuite suite, AeadProvider provider)
            throws Exception {
        try (TrafficKeys keys = keys(suite); RecordCipher opener = RecordCipher.create(suite, keys, provider)) {
            byte[] record = reference(suite, keys, 9, RecordCipher.APPLICATION_DATA, payload(64));
            ByteBuffer out = ByteBuffer.allocate(100);
            // Legacy version bytes (authenticated as AAD), explicit nonce, ciphertext, tag.
            int[] positions = {1, 2, 5, 12, 20, record.length - 17, record.length - 1};
            for (int position : positions) {
                byte[] tampered = record.clone();
                tampered[position] ^= 0x10;
                ByteBuffer in = ByteBuffer.wrap(tampered);
                assertThrows(AEADBadTagException.class, () -> opener.open(9, in, out), "byte " + position);
                assertEquals(0, in.position(), "record position unchanged on failure");
                assertEquals(0, out.position(), "no plaintext released on failure");
                assertTrue(KeyScheduleTest.allZero(out.array()), "no unauthenticated plaintext left behind");
            }
            // Direct memory takes the staged path: same verdict, nothing written.
            ByteBuffer directOut = ByteBuffer.allocateDirect(100);
            for (int position : positions) {
                byte[] tampered = record.clone();
                tampered[position] ^= 0x01;
                ByteBuffer in = filled(tampered, true);
                assertThrows(AEADBadTagException.class, () -> opener.open(9, in, directOut), "byte " + position);
                assertEquals(0, in.position());
                assertEquals(0, directOut.position());
            }
            assertThrows(AEADBadTagException.class, () -> opener.open(8, ByteBuffer.wrap(record), out));
            assertThrows(AEADBadTagException.class, () -> opener.open(10, ByteBuffer.wrap(record), out));
            // And the untouched record still opens afterwards: failures leave the cipher usable for the test.
            assertEquals(RecordCipher.APPLICATION_DATA, opener.open(9, ByteBuffer.wrap(record), out));
        }
    }

    @ParameterizedTest
    @MethodSource("suitesAndProviders")
    void keysOfAnotherDirectionFailTheTag(TlsCipherSuite suite, AeadProvider provider) throws Exception {
        byte[] record;
        try (TrafficKeys keys = keys(suite)) {
            record = reference(suite, keys, 3, RecordCipher.APPLICATION_DATA, payload(100));
        }
        byte[] other = new byte[suite.isTls13() ? suite.hashLength() : 48];
        TrafficKeys wrong = suite.isTls13()
                            ? TrafficKeys.tls13(suite, other)
                            : Tls12KeyBlock.derive(suite, other, new byte[32], new byte[32]).clientWrite();
        try (wrong; RecordCipher opener = RecordCipher.create(suite, wrong, provider)) {
            assertThrows(AEADBadTagException.class,
                         () -> opener.open(3, ByteBuffer.wrap(record), ByteBuffer.allocate(200)));
        }
    }

    @ParameterizedTest
    @MethodSource("suitesAndProviders")
    void closeZeroesTheCipherKeyAndIvAndRefusesFurtherUse(TlsCipherSuite suite, AeadProvider provider) {
        try (TrafficKeys keys = keys(suite)) {
            RecordCipher cipher = RecordCipher.create(suite, keys, provider);
            RecordAead aead = ((AeadRecordCipher) cipher).aeadForTest();
            byte[][] material = aead.materialForTest();
            assertArrayEquals(keys.key(), material[0]);
            assertArrayEquals(keys.iv(), material[1]);
            cipher.close();
            for (byte[] m : material) {
                assertTrue(KeyScheduleTest.allZero(m), Arrays.toString(m));
            }
            assertTrue(!KeyScheduleTest.allZero(keys.key()), "the cipher zeroed its copy, not the caller's keys");
            assertThrows(IllegalStateException.class, () -> cipher.sealRecord(0, RecordCipher.APPLICATION_DATA,
                    ByteBuffer.allocate(1), ByteBuffer.allocate(100)));
            assertThrows(IllegalStateException.class, () -> cipher.open(0, ByteBuffer.allocate(40),
                    ByteBuffer.allocate(40)));
        }
    }
}
