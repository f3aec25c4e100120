package io.ktls.handler.internal.kernel;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the test JVM itself can check: whether a sender exists on this JDK, and the bytes of the native header
 * against the LP64 Linux ABI. The real sendmsg runs on JDK 22+ in {@link ControlRecordSenderForeignCallTest}.
 */
class ControlRecordSenderTest {

    @Test
    void senderExistsExactlyFromJdk22AndOtherwiseSaysWhy() {
        if (Runtime.version().feature() < 22) {
            assertNull(ControlRecordSender.get());
            String reason = ControlRecordSender.unavailableReason();
            assertNotNull(reason);
            assertTrue(reason.contains("JDK 22+") && reason.contains(System.getProperty("java.version")), reason);
        } else {
            assertNotNull(ControlRecordSender.get(), ControlRecordSender.unavailableReason());
            assertNull(ControlRecordSender.unavailableReason());
        }
    }

    @Test
    void getAnswersTheSameEveryTime() {
        assertTrue(ControlRecordSender.get() == ControlRecordSender.get());
    }

    @Test
    void headerIsAnLp64MsghdrWithOneIovecAndOneTlsRecordTypeMessage() {
        long base = 0x7f00_1234_5000L;
        ByteBuffer header = ByteBuffer.allocate(96).order(ByteOrder.nativeOrder());
        // Garbage first: every byte of the header, padding included, must be written.
        for (int i = 0; i < header.capacity(); i++) {
            header.put(i, (byte) 0xA5);
        }
        ControlRecordSender.encodeHeader(header, base, (byte) 21, 2);

        // struct msghdr, glibc <bits/socket.h> on 64-bit Linux
        assertEquals(0L, header.getLong(0), "msg_name");
        assertEquals(0L, header.getLong(8), "msg_namelen + padding");
        assertEquals(base + 56, header.getLong(16), "msg_iov -> the iovec right after the 56-byte msghdr");
        assertEquals(1L, header.getLong(24), "msg_iovlen");
        assertEquals(base + 72, header.getLong(32), "msg_control -> the cmsghdr after the 16-byte iovec");
        assertEquals(24L, header.getLong(40), "msg_controllen = CMSG_SPACE(1)");
        assertEquals(0L, header.getLong(48), "msg_flags + padding");
        // struct iovec
        assertEquals(base + 96, header.getLong(56), "iov_base -> the payload after CMSG_SPACE(1)");
        assertEquals(2L, header.getLong(64), "iov_len");
        // struct cmsghdr and CMSG_DATA
        assertEquals(17L, header.getLong(72), "cmsg_len = CMSG_LEN(1)");
        assertEquals(282, header.getInt(80), "cmsg_level = SOL_TLS");
        assertEquals(1, header.getInt(84), "cmsg_type = TLS_SET_RECORD_TYPE");
        assertEquals(21, header.get(88), "CMSG_DATA[0] = alert");
        for (int i = 89; i < 96; i++) {
            assertEquals(0, header.get(i), "padding of CMSG_SPACE(1) at " + i);
        }
    }

    @Test
    void headerCarriesTheRecordTypeAndLengthItIsGiven() {
        ByteBuffer header = ByteBuffer.allocate(96).order(ByteOrder.nativeOrder());
        ControlRecordSender.encodeHeader(header, 4096, (byte) 22, 65_536);
        assertEquals(22, header.get(88));
        assertEquals(65_536L, header.getLong(64));
        assertEquals(4096 + 96, header.getLong(56));
    }
}
