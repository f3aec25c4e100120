package io.ktls.allocator;

import io.netty.buffer.ByteBuf;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The allocator's Flight Recorder events, recorded for real: one slab of 16 pages, fragmented so that a 16 KiB
 * request falls back to single pages (and backs off), then exhausted so that the next goes unpooled; a reclaim
 * pass; and the slab released when the allocator closes.
 */
class FlightRecorderEventsTest {
    private static final int PAGES = 16;

    @TempDir
    Path dir;

    @Test
    void aRecordingFindsEveryAllocatorEventWithItsFields() throws IOException {
        List<RecordedEvent> events;
        try (Recording recording = new Recording()) {
            for (String name : List.of(SlabReservedEvent.NAME, SlabReleasedEvent.NAME, RunFallbackEvent.NAME,
                                       RunBackOffEvent.NAME, ReclaimPassEvent.NAME)) {
                recording.enable(name);
            }
            recording.start();
            exerciseAllocator();
            recording.stop();
            Path file = dir.resolve("allocator.jfr");
            recording.dump(file);
            events = RecordingFile.readAllEvents(file);
        }
        Map<String, List<RecordedEvent>> byName = events.stream()
                .filter(e -> e.getEventType().getName().startsWith("io.ktls."))
                .collect(Collectors.groupingBy(e -> e.getEventType().getName()));

        RecordedEvent reserved = only(byName, SlabReservedEvent.NAME);
        assertEquals("jfr-test", reserved.getString("allocator"));
        assertEquals(PAGES * 4096L, reserved.getLong("slabBytes"));
        assertEquals(PAGES * 4096L, reserved.getLong("reservedBytes"));

        List<String> fallbacks = byName.get(RunFallbackEvent.NAME).stream().map(e -> e.getString("servedAs"))
                                       .collect(Collectors.toList());
        assertEquals(List.of("single-pages", "single-pages", "unpooled"), fallbacks);
        assertEquals(16384, byName.get(RunFallbackEvent.NAME).get(0).getLong("requestedBytes"));

        RecordedEvent backOff = byName.get(RunBackOffEvent.NAME).get(0);
        assertEquals(4, backOff.getInt("pages"));
        assertEquals(TimeUnit.SECONDS.toNanos(1), backOff.getDuration("intervalNanos").toNanos());

        RecordedEvent pass = byName.get(ReclaimPassEvent.NAME).get(0);
        assertEquals(0, pass.getInt("arena"));
        assertTrue(!pass.getBoolean("afterFailure"));

        RecordedEvent released = only(byName, SlabReleasedEvent.NAME);
        assertEquals(0, released.getLong("reservedBytes"));
    }

    @Test
    void disabledEventsAreNotRecorded() throws IOException {
        List<RecordedEvent> events;
        try (Recording recording = new Recording()) {
            recording.start(); // nothing enabled: the events are off by default
            exerciseAllocator();
            recording.stop();
            Path file = dir.resolve("none.jfr");
            recording.dump(file);
            events = RecordingFile.readAllEvents(file);
        }
        assertTrue(events.stream().noneMatch(e -> e.getEventType().getName().startsWith("io.ktls.")));
    }

    private static void exerciseAllocator() {
        PageRunAllocator allocator = PageRunAllocator.builder().name("jfr-test").arenas(1).slabBytes(PAGES * 4096)
                .compositeFallback(true)
                .maxRunPages(PAGES).maxMemoryBytes(PAGES * 4096).maxCachedBytesPerThread(0)
                .maxMemoryPolicy(MaxMemoryPolicy.OVERFLOW_UNPOOLED)
                .runRetryIntervalNanos(TimeUnit.SECONDS.toNanos(1)).reclaimThreads(false).build();
        List<ByteBuf> held = new ArrayList<>(FragmentedArena.holdEveryOtherPage(allocator, PAGES));
        try {
            held.add(allocator.directBuffer(16384)); // 4 single pages of the 8 left: fallback, back-off
            held.add(allocator.directBuffer(4096 * 4)); // backing off: single pages again
            held.add(allocator.directBuffer(4096)); // no page left at all: unpooled
            allocator.currentArena().reclaimer.pass(false, true);
        } finally {
            held.forEach(ByteBuf::release);
            allocator.close();
        }
    }

    private static RecordedEvent only(Map<String, List<RecordedEvent>> byName, String name) {
        List<RecordedEvent> events = byName.get(name);
        assertEquals(1, events == null ? 0 : events.size(), name + ": " + events);
        return events.get(0);
    }
}
