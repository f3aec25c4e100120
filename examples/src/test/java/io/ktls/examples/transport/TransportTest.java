package io.ktls.examples.transport;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TransportTest {

    @Test
    @EnabledOnOs(OS.LINUX)
    void autoTakesEpollOnLinuxEvenWhereIoUringIsAvailable() {
        // The shaded jar carries epoll's native library for linux-x86_64: there it must load.
        assertTrue(Transport.EPOLL.isAvailable(), () -> "epoll: " + Epoll.unavailabilityCause());
        assertEquals(Transport.EPOLL, Transport.AUTO.resolve());
    }

    @Test
    void explicitIoUringStaysIoUring() {
        assumeTrue(IoUring.isAvailable(), () -> "io_uring: " + IoUring.unavailabilityCause());
        assertEquals(Transport.IO_URING, Transport.IO_URING.resolve());
    }

    @Test
    void autoResolvesToAnAvailableConcreteTransport() {
        Transport resolved = Transport.AUTO.resolve();
        assertTrue(resolved != Transport.AUTO && resolved.isAvailable(), String.valueOf(resolved));
        assertEquals(Transport.NIO, Transport.NIO.resolve());
    }
}
