package io.ktls.handler;

import io.netty.buffer.ByteBuf;

/**
 * Wire constants of the TLS record layer (RFC 8446 sections 5 and 6, RFC 5246 sections 6.2 and 7.2) and the
 * few checks on a record header that do not need keys.
 */
final class TlsRecords {

    static final int HEADER_LENGTH = 5;
    /**
     * The version of every record after the handshake: TLS 1.2's, and TLS 1.3's legacy_record_version
     * (RFC 8446 section 5.1).
     */
    static final int RECORD_VERSION = 0x0303;

    static final byte CHANGE_CIPHER_SPEC = 20;
    static final byte ALERT = 21;
    static final byte HANDSHAKE = 22;
    static final byte APPLICATION_DATA = 23;

    /** RFC 8446 section 5.2: ciphertext may exceed the plaintext limit by 256 bytes of padding and tag. */
    static final int MAX_TLS13_CIPHERTEXT_LENGTH = 16384 + 256;
    /** RFC 5246 section 6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
    static final int MAX_TLS12_CIPHERTEXT_LENGTH = 16384 + 2048;

    static final byte ALERT_WARNING = 1;
    static final byte ALERT_FATAL = 2;

    static final byte CLOSE_NOTIFY = 0;
    static final byte UNEXPECTED_MESSAGE = 10;
    static final byte BAD_RECORD_MAC = 20;
    static final byte RECORD_OVERFLOW = 22;
    static final byte HANDSHAKE_FAILURE = 40;
    static final byte ILLEGAL_PARAMETER = 47;
    static final byte DECODE_ERROR = 50;
    static final byte INTERNAL_ERROR = 80;
    static final byte USER_CANCELED = 90;
    static final byte NO_RENEGOTIATION = 100;
    static final byte UNRECOGNIZED_NAME = 112;

    static final byte HELLO_REQUEST = 0;
    static final byte CLIENT_HELLO = 1;
    static final byte NEW_SESSION_TICKET = 4;
    static final byte KEY_UPDATE = 24;

    private TlsRecords() {
    }

    /** Content type 20-24 and major version 3: what every TLS record header carries, encrypted or not. */
    static boolean looksLikeRecordHeader(ByteBuf buf, int index) {
        int type = buf.getUnsignedByte(index);
        return type >= CHANGE_CIPHER_SPEC && type <= 24 && buf.getUnsignedByte(index + 1) == 3;
    }

    static String alertName(int description) {
        switch (description) {
            case 0: return "close_notify";
            case 10: return "unexpected_message";
            case 20: return "bad_record_mac";
            case 22: return "record_overflow";
            case 40: return "handshake_failure";
            case 42: return "bad_certificate";
            case 46: return "certificate_unknown";
            case 47: return "illegal_parameter";
            case 50: return "decode_error";
            case 51: return "decrypt_error";
            case 70: return "protocol_version";
            case 80: return "internal_error";
            case 90: return "user_canceled";
            case 100: return "no_renegotiation";
            case 112: return "unrecognized_name";
            default: return "alert " + description;
        }
    }
}
