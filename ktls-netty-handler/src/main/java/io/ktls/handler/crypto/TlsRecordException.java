package io.ktls.handler.crypto;

import javax.net.ssl.SSLException;

/**
 * A record that cannot be opened because it is malformed: too long, too short, of a content type not allowed
 * where it appeared, or (TLS 1.3) without a content type. Carries the TLS alert description the connection must
 * send before closing. A record whose tag does not verify raises {@link javax.crypto.AEADBadTagException}
 * instead (alert {@link #BAD_RECORD_MAC}).
 */
public final class TlsRecordException extends SSLException {

    private static final long serialVersionUID = 1L;

    /** RFC 8446 section 6: unexpected_message(10). */
    public static final byte UNEXPECTED_MESSAGE = 10;
    /** RFC 8446 section 6: bad_record_mac(20). */
    public static final byte BAD_RECORD_MAC = 20;
    /** RFC 8446 section 6: record_overflow(22). */
    public static final byte RECORD_OVERFLOW = 22;
    /** RFC 8446 section 6: decode_error(50). */
    public static final byte DECODE_ERROR = 50;

    private final byte alertDescription;

    public TlsRecordException(byte alertDescription, String message) {
        super(message + " (alert: " + alertName(alertDescription) + ")");
        this.alertDescription = alertDescription;
    }

    /** The TLS alert description to send: one of the constants of this class. */
    public byte alertDescription() {
        return alertDescription;
    }

    static String alertName(byte alertDescription) {
        switch (alertDescription) {
            case UNEXPECTED_MESSAGE:
                return "unexpected_message";
            case BAD_RECORD_MAC:
                return "bad_record_mac";
            case RECORD_OVERFLOW:
                return "record_overflow";
            case DECODE_ERROR:
                return "decode_error";
            default:
                return Integer.toString(alertDescription & 0xFF);
        }
    }
}
