package io.ktls.examples.stream;

import io.ktls.examples.tls.ServerMode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class StreamServerHandlerTest {

    @TempDir
    Path dir;

    /**
     * Over loopback a write usually completes inside the transport's write loop; writing the next repetition
     * right there chained repetition after repetition (in sslhandler mode, megabytes wrapped per link) without the
     * event loop reading any other socket, and new connections' handshakes waited for seconds.
     */
    @Test
    void aCompletedRepetitionQueuesTheNextOnALaterTurnOfTheEventLoopNotInsideTheCompletion() throws Exception {
        Path file = Files.write(dir.resolve("pattern.bin"), new byte[4096]);
        HeldWrites held = new HeldWrites();
        EmbeddedChannel channel = new EmbeddedChannel(held,
                new StreamServerHandler(file, 4096, true, ServerMode.PLAIN));
        try {
            channel.writeInbound(Unpooled.copiedBuffer("STREAM\n", StandardCharsets.US_ASCII));
            assertEquals(2, held.promises.size(), "two repetitions in flight");

            held.promises.get(0).setSuccess();
            assertEquals(2, held.promises.size(), "nothing written inside the write's completion");

            channel.runPendingTasks();
            assertEquals(3, held.promises.size(), "the next repetition, on the next turn");
        } finally {
            channel.close();
            held.releaseAll();
            channel.finishAndReleaseAll();
        }
    }

    /** Keeps each write (and its promise) instead of passing it on: the test decides when a write completes. */
    private static final class HeldWrites extends ChannelOutboundHandlerAdapter {
        final List<Object> messages = new ArrayList<>();
        final List<ChannelPromise> promises = new ArrayList<>();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            messages.add(msg);
            promises.add(promise);
        }

        void releaseAll() {
            messages.forEach(ReferenceCountUtil::release);
            messages.clear();
        }
    }
}
