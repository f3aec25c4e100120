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
    /** RFC 8446 section 6: illegal_parameter(47). */
    public static final byte ILLEGAL_PARAMETER = 47;
    /** RFC 8446 section 6: decode_error(50). */
    public static final byte DECODE_ERROR = 50;
    /** RFC 8446 section 6: protocol_version(70), for a record header of another version. */
    public static final byte PROTOCOL_VERSION = 70;
    /** RFC 5246 section 7.2.2: no_renegotiation(100), sent fatal by a TLS 1.2 server asked to renegotiate. */
    public static final byte NO_RENEGOTIATION = 100;

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
            case ILLEGAL_PARAMETER:
                return "illegal_parameter";
            case DECODE_ERROR:
                return "decode_error";
            case PROTOCOL_VERSION:
                return "protocol_version";
            case NO_RENEGOTIATION:
                return "no_renegotiation";
            default:
                return Integer.toString(alertDescription & 0xFF);
        }
    }
}
