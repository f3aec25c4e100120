package io.ktls.allocator;

import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.internal.ThreadExecutorMap;

/**
 * Which cache and which arena serve the calling thread. A cache pays where one thread allocates and frees at a
 * high rate for a long time: event loops (the thread runs an {@link io.netty.util.concurrent.EventExecutor}) and
 * {@link FastThreadLocalThread}s (Netty's own threads, whose thread-locals are removed when they end). Plain
 * platform threads get one only with {@link PageRunAllocator.Builder#cacheAllThreads(boolean)}; virtual threads
 * never do (thousands of them would each hold up to {@code maxCachedBytesPerThread}). A thread with a cache is
 * bound to the least used arena when the cache is made; a thread without one keeps to the arena its id maps to.
 *
 * <p>Threads: each thread reads and creates only its own thread-local; a new cache joins its arena's
 * copy-on-write list of caches, which the arena's reclaim thread and the metrics iterate.
 */
final class ThreadCaches {
    private final Arena[] arenas;
    private final boolean cacheAllThreads;
    private final FastThreadLocal<RunCache> threadCache;

    ThreadCaches(Arena[] arenas, boolean cacheAllThreads, long maxCachedBytesPerThread, SizeClasses classes) {
        this.arenas = arenas;
        this.cacheAllThreads = cacheAllThreads;
        threadCache = new FastThreadLocal<RunCache>() {
            @Override
            protected RunCache initialValue() {
                Arena arena = leastUsedArena();
                RunCache cache = new RunCache(arena, Thread.currentThread(), ThreadExecutorMap.currentExecutor(),
                        maxCachedBytesPerThread, classes.regionBytesByClass, classes.refillCountByClass);
                arena.caches.add(cache);
                return cache;
            }

            @Override
            protected void onRemoval(RunCache cache) {
                // The owner's thread-local goes (FastThreadLocal.removeAll at the end of a FastThreadLocalThread):
                // the lists go home now, and the reclaim thread retires the cache once nothing is in flight.
                cache.reap();
            }
        };
    }

    /** The calling thread's cache, created on its first allocation if a cache pays on this thread; null otherwise. */
    RunCache cacheOrNull() {
        RunCache cache = threadCache.getIfExists();
        if (cache != null) {
            return cache;
        }
        Thread thread = Thread.currentThread();
        boolean pays = thread instanceof FastThreadLocalThread || ThreadExecutorMap.currentExecutor() != null
                || cacheAllThreads && !VirtualThreads.isVirtual(thread);
        return pays ? threadCache.get() : null;
    }

    /** The calling thread's cache if it has one already; never creates one. */
    RunCache existingCacheOrNull() {
        return threadCache.getIfExists();
    }

    /** The arena serving the calling thread, whose cache is {@code cache} (null: it has none). */
    Arena arenaOf(RunCache cache) {
        return cache != null ? cache.arena : arenaOf(Thread.currentThread());
    }

    /** The arena of a thread without a cache: spread by thread id, so one thread keeps to one arena. */
    @SuppressWarnings("deprecation") // Thread.threadId() is JDK 19+; getId() is the same number
    private Arena arenaOf(Thread thread) {
        long id = thread.getId() * 0x9E3779B97F4A7C15L; // Fibonacci hashing spreads sequential ids
        return arenas[(int) ((id >>> 32) % arenas.length)];
    }

    private Arena leastUsedArena() {
        Arena best = arenas[0];
        for (Arena a : arenas) {
            if (a.caches.size() < best.caches.size()) {
                best = a;
            }
        }
        return best;
    }

    /** Gives the calling thread's cached regions back to its arena, if it has a cache. */
    void trimCurrentThread() {
        if (threadCache.isSet()) {
            threadCache.get().trim();
        }
    }
}
