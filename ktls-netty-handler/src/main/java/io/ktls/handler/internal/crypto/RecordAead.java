package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.AeadProvider;
import io.ktls.handler.crypto.TlsCipherSuite;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.spec.AlgorithmParameterSpec;
import java.util.Arrays;

/**
 * The AEAD of one {@link RecordCipher}: its own {@link Cipher}, its copy of the key and IV, and the per-record
 * nonce. The record layout lives in the {@link RecordCipher}s; this class knows JCE.
 *
 * <h2>JCE facts this class is built on</h2>
 * <ul>
 *   <li>Every record gets a fresh {@code init} with a fresh parameter spec: AES-GCM refuses to encrypt twice
 *       with one key and nonce, and SunJCE's ChaCha20-Poly1305 refuses any {@code init} (decryption too)
 *       repeating the previous key and nonce of that {@code Cipher} object, so a {@code Cipher} is never shared
 *       between directions or connections.</li>
 *   <li>Providers are fastest on {@code byte[]}; their direct-buffer paths copy in chunks (Amazon Corretto) or
 *       are slow (SunJCE AES-GCM on JDK 25). A record touching direct memory is therefore copied into a
 *       per-thread {@link HeapStage}, sealed or opened with one {@code doFinal}, and copied out: faster than
 *       handing the direct buffers to the provider (figures: docs/crypto.md, docs/benchmarks.md).</li>
 *   <li>A record wholly on the heap is sealed in place, and there {@code Cipher.update(ByteBuffer, ByteBuffer)}
 *       may demand room for the tag in its output though it never writes it (SunJCE ChaCha20-Poly1305 on
 *       JDK 17, the Amazon Corretto provider: "need at least n + 16 bytes"), and may hold back a partial block
 *       (SunJCE AES-GCM). So {@link #encryptSplit} runs {@code update} on all but the last
 *       {@link #FINAL_RESERVE_BYTES} payload bytes (all of them where {@link UpdateBehaviour} found the
 *       provider accepts an exact output) straight into the body, then one {@code doFinal} of the reserved
 *       bytes (and the TLS 1.3 inner type) into a small scratch buffer, which it splits: what the provider
 *       held back plus the reserved bytes to the end of the body, the rest (inner type, tag) to the trailer.
 *       Two provider calls, as the TLS 1.3 inner type needs anyway with separate buffers.</li>
 * </ul>
 *
 * <p>Threads: confined like its {@link RecordCipher}.
 */
final class RecordAead {

    /**
     * Payload bytes finished through the scratch buffer instead of straight into the body. 16, the tag length:
     * the update call's output check counts the tag, so holding back 16 input bytes gives it that room.
     */
    static final int FINAL_RESERVE_BYTES = 16;
    /** Initial scratch size: reserve + a held-back block + inner type + tag, with room to spare. */
    private static final int SCRATCH_BYTES = 128;
    private static final int TAG_BITS = 128;
    private static final int NONCE_LENGTH = 12;

    private final AeadAlgorithm algorithm;
    private final String providerName;
    private final Cipher cipher;
    private final RecordKey key;
    /** 12-byte static IV, or the 4-byte salt of TLS 1.2 AES-GCM. */
    private final byte[] iv;
    /** TLS 1.2 AES-GCM: nonce = salt || explicit; otherwise nonce = iv XOR seq. */
    private final boolean saltedNonce;
    private final byte[] nonce = new byte[NONCE_LENGTH];
    private ByteBuffer scratch = ByteBuffer.allocate(SCRATCH_BYTES);
    /** The reserved payload tail plus the TLS 1.3 inner type: {@link #FINAL_RESERVE_BYTES} + 1 bytes. */
    private final ByteBuffer finalInput = ByteBuffer.allocate(FINAL_RESERVE_BYTES + 1);
    /** Whether {@code update} accepts an output exactly as long as its input (see {@link UpdateBehaviour}). */
    private final boolean exactUpdate;
    private boolean closed;

    RecordAead(TlsCipherSuite suite, TrafficKeys keys, AeadProvider provider) {
        this.algorithm = suite.aead();
        this.providerName = provider.name();
        this.saltedNonce = suite.explicitNonceLength() > 0;
        try {
            this.cipher = provider.newCipher(algorithm);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("provider: " + provider.name() + " (expected: one offering "
                                               + algorithm.transformation() + ")", e);
        }
        this.exactUpdate = UpdateBehaviour.acceptsExactOutput(provider, algorithm);
        this.key = new RecordKey(algorithm.keyAlgorithm(), keys.key().clone());
        this.iv = keys.iv().clone();
    }

    String providerName() {
        return providerName;
    }

    /**
     * Starts a record: {@code nonceValue} is the sequence number, or in TLS 1.2 AES-GCM the explicit nonce.
     */
    void init(int mode, long nonceValue) throws GeneralSecurityException {
        if (closed) {
            throw new IllegalStateException("record cipher closed");
        }
        byte[] n = nonce;
        if (saltedNonce) {
            System.arraycopy(iv, 0, n, 0, 4);
            for (int i = 0; i < 8; i++) {
                n[4 + i] = (byte) (nonceValue >>> (56 - 8 * i));
            }
        } else {
            System.arraycopy(iv, 0, n, 0, 4);
            for (int i = 0; i < 8; i++) {
                n[4 + i] = (byte) (iv[4 + i] ^ (nonceValue >>> (56 - 8 * i)));
            }
        }
        try {
            cipher.init(mode, key, spec(n));
        } catch (InvalidKeyException e) {
            if (mode != Cipher.DECRYPT_MODE) {
                throw e; // an encryption nonce repeated: never work around that
            }
            // SunJCE's ChaCha20-Poly1305 refuses any init repeating the previous key and nonce, decryption
            // included, so opening a record again after a failed attempt would fail. Repeating a nonce to
            // decrypt is harmless: step through another nonce and retry once.
            n[NONCE_LENGTH - 1] ^= 1;
            cipher.init(mode, key, spec(n));
            n[NONCE_LENGTH - 1] ^= 1;
            cipher.init(mode, key, spec(n));
        }
    }

    /** A fresh spec per record: both constructors copy the array, so reusing {@link #nonce} is safe. */
    private AlgorithmParameterSpec spec(byte[] n) {
        return algorithm == AeadAlgorithm.AES_GCM ? new GCMParameterSpec(TAG_BITS, n) : new IvParameterSpec(n);
    }

    void updateAad(byte[] aad, int length) {
        cipher.updateAAD(aad, 0, length);
    }

    /**
     * Encrypts {@code payload} then {@code tail} (the TLS 1.3 inner type, or {@code null}), writing exactly
     * {@code payload.remaining()} bytes to {@code body} and the rest (tail ciphertext, tag) to {@code trailer}.
     * Callers have checked the room. Records touching direct memory go through the {@link HeapStage}; records
     * entirely on the heap are sealed in place with {@link #encryptSplit}.
     */
    void encrypt(ByteBuffer payload, ByteBuffer body, ByteBuffer tail, ByteBuffer trailer)
            throws GeneralSecurityException {
        if (payload.hasArray() && body.hasArray() && trailer.hasArray()) {
            encryptSplit(payload, body, tail, trailer);
        } else {
            encryptStaged(payload, body, tail, trailer);
        }
    }

    /**
     * One {@code doFinal} over heap copies: payload and tail side by side in the stage's input array, the
     * ciphertext split from its output array into body and trailer. In place is safe: the payload is copied
     * out before the body is written.
     */
    private void encryptStaged(ByteBuffer payload, ByteBuffer body, ByteBuffer tail, ByteBuffer trailer)
            throws GeneralSecurityException {
        HeapStage stage = HeapStage.current();
        int payloadLength = payload.remaining();
        payload.get(stage.in, 0, payloadLength);
        int inputLength = payloadLength;
        if (tail != null) {
            int tailLength = tail.remaining();
            tail.get(stage.in, payloadLength, tailLength);
            inputLength += tailLength;
        }
        int written = cipher.doFinal(stage.in, 0, inputLength, stage.out, 0);
        body.put(stage.out, 0, payloadLength);
        trailer.put(stage.out, payloadLength, written - payloadLength);
    }

    /**
     * Two provider calls, as a one-shot seal needs with the TLS 1.3 tail anyway: {@code update} of the payload
     * (all of it where the provider accepts an output exactly as long as the input, else all but the last
     * {@link #FINAL_RESERVE_BYTES}) straight into the body, then {@code doFinal} of the reserved bytes plus
     * the tail, copied into a small heap buffer, into the scratch buffer, which is split between the end of the
     * body (what the provider held back, e.g. SunJCE AES-GCM's partial block) and the trailer.
     */
    private void encryptSplit(ByteBuffer payload, ByteBuffer body, ByteBuffer tail, ByteBuffer trailer)
            throws GeneralSecurityException {
        final int payloadLength = payload.remaining();
        final int bodyStart = body.position();
        final int payloadLimit = payload.limit();
        final int reserve = Math.min(payloadLength, exactUpdate ? 0 : FINAL_RESERVE_BYTES);
        int emitted = 0;
        if (payloadLength > reserve) {
            payload.limit(payloadLimit - reserve);
            emitted = cipher.update(payload, body);
            payload.limit(payloadLimit);
        }
        // In place, the update above wrote at most payloadLength - reserve bytes: the reserved tail is intact.
        ByteBuffer in = finalInput;
        in.clear();
        in.put(payload);
        if (tail != null) {
            in.put(tail);
        }
        in.flip();
        ByteBuffer s = scratch(cipher.getOutputSize(in.remaining()));
        cipher.doFinal(in, s);
        s.flip();
        int heldBack = payloadLength - emitted;
        assert heldBack >= 0 && s.remaining() == heldBack + (tail == null ? 0 : tail.limit()) + 16
                : "emitted " + emitted + " of " + payloadLength + ", final " + s.remaining();
        int sLimit = s.limit();
        s.limit(heldBack);
        body.put(s);
        s.limit(sLimit);
        trailer.put(s);
        assert body.position() == bodyStart + payloadLength : body.position() + " != " + bodyStart + payloadLength;
    }

    /** Encrypts {@code payload} then {@code tail} (may be {@code null}) contiguously into {@code out}. */
    void encryptContiguous(ByteBuffer payload, ByteBuffer tail, ByteBuffer out) throws GeneralSecurityException {
        if (!payload.hasArray() || !out.hasArray()) {
            encryptStaged(payload, out, tail, out);
        } else if (tail == null) {
            cipher.doFinal(payload, out);
        } else {
            if (payload.hasRemaining()) {
                cipher.update(payload, out);
            }
            cipher.doFinal(tail, out);
        }
    }

    /**
     * Decrypts and verifies {@code ciphertext} (tag included) into {@code out}; returns the plaintext length.
     * On a bad tag nothing stays in {@code out} and its position is restored. Direct memory goes through the
     * {@link HeapStage}, where a bad tag leaves {@code out} untouched; so does a plaintext written into the same
     * array before the ciphertext (a record opened in place and moved down), which the stage makes copy-safe
     * whatever the provider does with overlapping arrays.
     */
    int decrypt(ByteBuffer ciphertext, ByteBuffer out) throws GeneralSecurityException {
        if (!ciphertext.hasArray() || !out.hasArray() || shiftedOverlap(ciphertext, out)) {
            HeapStage stage = HeapStage.current();
            int length = ciphertext.remaining();
            ciphertext.get(stage.in, 0, length);
            int written = cipher.doFinal(stage.in, 0, length, stage.out, 0);
            out.put(stage.out, 0, written);
            return written;
        }
        int start = out.position();
        try {
            return cipher.doFinal(ciphertext, out);
        } catch (AEADBadTagException e) {
            int end = out.position();
            for (int i = start; i < end; i++) {
                out.put(i, (byte) 0);
            }
            out.position(start);
            throw e;
        }
    }

    /** Whether {@code out} lies in {@code ciphertext}'s array at another offset (in place, moved down). */
    private static boolean shiftedOverlap(ByteBuffer ciphertext, ByteBuffer out) {
        return ciphertext.array() == out.array()
               && ciphertext.arrayOffset() + ciphertext.position() != out.arrayOffset() + out.position();
    }

    /** A cleared scratch buffer with room for {@code length}. */
    private ByteBuffer scratch(int length) {
        if (scratch.capacity() < length) {
            scratch = ByteBuffer.allocate(length);
        }
        scratch.clear();
        return scratch;
    }

    /**
     * Zeroes our copies of the key, IV and nonce, and re-keys the provider's {@link Cipher} with a throwaway
     * all-zero key: the provider keeps its own copy of the last key (and, for AES, its round keys) inside the
     * cipher object, out of our reach, for as long as that object lives. Decrypt mode, so that no provider
     * refuses the init as a repeated encryption nonce. Idempotent.
     */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        Arrays.fill(nonce, (byte) 0);
        RecordKey throwaway = new RecordKey(algorithm.keyAlgorithm(), new byte[key.length()]);
        try {
            cipher.init(Cipher.DECRYPT_MODE, throwaway, spec(nonce));
        } catch (GeneralSecurityException | RuntimeException e) {
            // A provider that refuses the zero key keeps the traffic key until it is collected, as before.
        }
        key.destroy();
        Arrays.fill(iv, (byte) 0);
    }

    boolean isClosed() {
        return closed;
    }

    /** The arrays close() zeroes, for tests. */
    byte[][] materialForTest() {
        return new byte[][] {key.bytesForTest(), iv};
    }
}
