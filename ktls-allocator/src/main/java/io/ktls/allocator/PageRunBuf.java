package io.ktls.allocator;

import io.netty.buffer.AbstractReferenceCountedByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ScatteringByteChannel;

/**
 * A {@link ByteBuf} over one region of direct memory: a run of whole pages, a fragment of a page, or (for huge
 * requests and overflow at the memory limit) memory of its own.
 *
 * <p>Object and region stay together: a free region is cached as its buffer object, so handing it out again only
 * resets the reference count and the indices (no recycler, no new object). Growing past the region swaps the
 * whole binding with a freshly allocated buffer, which then carries the old region back home.
 *
 * <p>All memory access is by absolute index into the slab's shared {@link ByteBuffer}, which is never
 * repositioned, so buffers of one slab never interfere. The reference count decides who may touch a buffer: the
 * thread that drops it to zero owns it until {@link #deallocate()} has handed it to its {@link ReturnRing}
 * or arena.
 */
final class PageRunBuf extends AbstractReferenceCountedByteBuf {
    static final byte ORIGIN_CACHE = 0;
    static final byte ORIGIN_ARENA = 1;
    static final byte ORIGIN_FALLBACK = 2;
    static final byte ORIGIN_HUGE = 3;
    static final byte ORIGIN_OVERFLOW = 4;

    private final PageRunAllocator allocator;

    // The binding to memory, swapped as a whole by capacity growth.
    ByteBuffer memory;
    long memoryAddress;
    int offset;
    int regionBytes;
    Slab slab;
    int firstPage;
    int pages;
    FragmentPage fragmentPage;
    /** Where the buffer goes when released: its cache's return path, or null for the arena or unpooled. */
    ReturnRing home;
    Arena arena;
    byte origin;
    private ByteBuffer tmpNioBuf;

    /** Current capacity, at most {@link #regionBytes}. */
    private int length;

    /** Link in a free list, a return ring's overflow stack or a fragment page; null while in use or in a ring slot. */
    PageRunBuf next;

    PageRunBuf(PageRunAllocator allocator) {
        super(0);
        this.allocator = allocator;
    }

    void bindRun(Arena arena, Slab slab, int firstPage, int pages) {
        this.arena = arena;
        this.slab = slab;
        this.firstPage = firstPage;
        this.pages = pages;
        this.memory = slab.memory;
        this.offset = firstPage * PageRunAllocator.PAGE_BYTES;
        this.regionBytes = pages * PageRunAllocator.PAGE_BYTES;
        this.memoryAddress = slab.memoryAddress == 0 ? 0 : slab.memoryAddress + offset;
    }

    void bindFragment(Arena arena, FragmentPage page, int index) {
        this.arena = arena;
        this.slab = page.slab;
        this.fragmentPage = page;
        this.firstPage = page.page;
        this.memory = page.slab.memory;
        this.offset = page.page * PageRunAllocator.PAGE_BYTES + index * page.fragmentBytes;
        this.regionBytes = page.fragmentBytes;
        this.memoryAddress = slab.memoryAddress == 0 ? 0 : slab.memoryAddress + offset;
    }

    void bindUnpooled(ByteBuffer memory, long memoryAddress, byte origin) {
        this.memory = memory;
        this.memoryAddress = memoryAddress;
        this.offset = 0;
        this.regionBytes = memory.capacity();
        this.origin = origin;
    }

    /** Makes a free buffer ready for a new owner. */
    PageRunBuf init(int capacity, int maxCapacity) {
        assert capacity <= regionBytes : "capacity " + capacity + " > region " + regionBytes;
        maxCapacity(maxCapacity);
        length = capacity;
        resetRefCnt();
        clear();
        markReaderIndex();
        markWriterIndex();
        return this;
    }

    boolean isFragment() {
        return fragmentPage != null;
    }

    /** Exchanges the memory binding (not the indices, capacity or reference count) with {@code other}. */
    void swapBinding(PageRunBuf other) {
        ByteBuffer m = memory; memory = other.memory; other.memory = m;
        long a = memoryAddress; memoryAddress = other.memoryAddress; other.memoryAddress = a;
        int i = offset; offset = other.offset; other.offset = i;
        i = regionBytes; regionBytes = other.regionBytes; other.regionBytes = i;
        Slab s = slab; slab = other.slab; other.slab = s;
        i = firstPage; firstPage = other.firstPage; other.firstPage = i;
        i = pages; pages = other.pages; other.pages = i;
        FragmentPage f = fragmentPage; fragmentPage = other.fragmentPage; other.fragmentPage = f;
        ReturnRing h = home; home = other.home; other.home = h;
        Arena ar = arena; arena = other.arena; other.arena = ar;
        byte o = origin; origin = other.origin; other.origin = o;
        m = tmpNioBuf; tmpNioBuf = other.tmpNioBuf; other.tmpNioBuf = m;
    }

    @Override
    protected void deallocate() {
        ReturnRing h = home;
        if (h != null) {
            h.free(this);
        } else {
            allocator.freeUncached(this);
        }
    }

    @Override
    public int capacity() {
        return length;
    }

    @Override
    public ByteBuf capacity(int newCapacity) {
        checkNewCapacity(newCapacity);
        if (newCapacity <= regionBytes) {
            length = newCapacity;
            trimIndicesToCapacity(newCapacity);
        } else {
            allocator.grow(this, newCapacity);
            length = newCapacity;
        }
        return this;
    }

    /** Copies the first {@code bytes} of this buffer's memory into {@code dst}'s memory, ignoring indices. */
    void copyRegionTo(PageRunBuf dst, int bytes) {
        dst.memory.put(dst.offset, memory, offset, bytes);
    }

    @Override
    public ByteBufAllocator alloc() {
        return allocator;
    }

    @Override
    @SuppressWarnings("deprecation") // still abstract in ByteBuf; the slab's ByteBuffer is big-endian
    public ByteOrder order() {
        return ByteOrder.BIG_ENDIAN;
    }

    @Override
    public ByteBuf unwrap() {
        return null;
    }

    @Override
    public boolean isDirect() {
        return true;
    }

    @Override
    public boolean hasArray() {
        return false;
    }

    @Override
    public byte[] array() {
        throw new UnsupportedOperationException("direct buffer");
    }

    @Override
    public int arrayOffset() {
        throw new UnsupportedOperationException("direct buffer");
    }

    @Override
    public boolean hasMemoryAddress() {
        return memoryAddress != 0;
    }

    @Override
    public long memoryAddress() {
        ensureAccessible();
        if (memoryAddress == 0) {
            throw new UnsupportedOperationException("no memory address without sun.misc.Unsafe");
        }
        return memoryAddress;
    }

    // Primitive access: the slab's ByteBuffer is big-endian, little-endian variants swap bytes.

    @Override
    protected byte _getByte(int index) {
        return memory.get(offset + index);
    }

    @Override
    protected short _getShort(int index) {
        return memory.getShort(offset + index);
    }

    @Override
    protected short _getShortLE(int index) {
        return Short.reverseBytes(memory.getShort(offset + index));
    }

    @Override
    protected int _getUnsignedMedium(int index) {
        int i = offset + index;
        return (memory.get(i) & 0xff) << 16 | (memory.get(i + 1) & 0xff) << 8 | memory.get(i + 2) & 0xff;
    }

    @Override
    protected int _getUnsignedMediumLE(int index) {
        int i = offset + index;
        return memory.get(i) & 0xff | (memory.get(i + 1) & 0xff) << 8 | (memory.get(i + 2) & 0xff) << 16;
    }

    @Override
    protected int _getInt(int index) {
        return memory.getInt(offset + index);
    }

    @Override
    protected int _getIntLE(int index) {
        return Integer.reverseBytes(memory.getInt(offset + index));
    }

    @Override
    protected long _getLong(int index) {
        return memory.getLong(offset + index);
    }

    @Override
    protected long _getLongLE(int index) {
        return Long.reverseBytes(memory.getLong(offset + index));
    }

    @Override
    protected void _setByte(int index, int value) {
        memory.put(offset + index, (byte) value);
    }

    @Override
    protected void _setShort(int index, int value) {
        memory.putShort(offset + index, (short) value);
    }

    @Override
    protected void _setShortLE(int index, int value) {
        memory.putShort(offset + index, Short.reverseBytes((short) value));
    }

    @Override
    protected void _setMedium(int index, int value) {
        int i = offset + index;
        memory.put(i, (byte) (value >>> 16));
        memory.put(i + 1, (byte) (value >>> 8));
        memory.put(i + 2, (byte) value);
    }

    @Override
    protected void _setMediumLE(int index, int value) {
        int i = offset + index;
        memory.put(i, (byte) value);
        memory.put(i + 1, (byte) (value >>> 8));
        memory.put(i + 2, (byte) (value >>> 16));
    }

    @Override
    protected void _setInt(int index, int value) {
        memory.putInt(offset + index, value);
    }

    @Override
    protected void _setIntLE(int index, int value) {
        memory.putInt(offset + index, Integer.reverseBytes(value));
    }

    @Override
    protected void _setLong(int index, long value) {
        memory.putLong(offset + index, value);
    }

    @Override
    protected void _setLongLE(int index, long value) {
        memory.putLong(offset + index, Long.reverseBytes(value));
    }

    // Bulk access.

    @Override
    public ByteBuf getBytes(int index, ByteBuf dst, int dstIndex, int length) {
        checkDstIndex(index, length, dstIndex, dst.capacity());
        if (dst instanceof PageRunBuf) {
            PageRunBuf d = (PageRunBuf) dst;
            d.memory.put(d.offset + dstIndex, memory, offset + index, length);
        } else if (dst.hasArray()) {
            memory.get(offset + index, dst.array(), dst.arrayOffset() + dstIndex, length);
        } else if (dst.nioBufferCount() == 1) {
            dst.nioBuffer(dstIndex, length).put(0, memory, offset + index, length);
        } else {
            dst.setBytes(dstIndex, this, index, length);
        }
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, byte[] dst, int dstIndex, int length) {
        checkDstIndex(index, length, dstIndex, dst.length);
        memory.get(offset + index, dst, dstIndex, length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, ByteBuffer dst) {
        int bytes = dst.remaining();
        checkIndex(index, bytes);
        int position = dst.position();
        dst.put(position, memory, offset + index, bytes);
        dst.position(position + bytes);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, OutputStream out, int length) throws IOException {
        checkIndex(index, length);
        byte[] chunk = new byte[Math.min(length, 8192)];
        for (int done = 0; done < length; ) {
            int n = Math.min(chunk.length, length - done);
            memory.get(offset + index + done, chunk, 0, n);
            out.write(chunk, 0, n);
            done += n;
        }
        return this;
    }

    @Override
    public int getBytes(int index, GatheringByteChannel out, int length) throws IOException {
        checkIndex(index, length);
        if (length == 0) {
            return 0;
        }
        // A fresh view: getBytes must not disturb a tmpNioBuf another caller may be using.
        return out.write(memory.slice(offset + index, length));
    }

    @Override
    public int getBytes(int index, FileChannel out, long position, int length) throws IOException {
        checkIndex(index, length);
        return length == 0 ? 0 : out.write(memory.slice(offset + index, length), position);
    }

    @Override
    public ByteBuf setBytes(int index, ByteBuf src, int srcIndex, int length) {
        checkSrcIndex(index, length, srcIndex, src.capacity());
        if (src instanceof PageRunBuf) {
            PageRunBuf s = (PageRunBuf) src;
            memory.put(offset + index, s.memory, s.offset + srcIndex, length);
        } else if (src.hasArray()) {
            memory.put(offset + index, src.array(), src.arrayOffset() + srcIndex, length);
        } else if (src.nioBufferCount() == 1) {
            ByteBuffer view = src.nioBuffer(srcIndex, length);
            memory.put(offset + index, view, view.position(), length);
        } else {
            src.getBytes(srcIndex, this, index, length);
        }
        return this;
    }

    @Override
    public ByteBuf setBytes(int index, byte[] src, int srcIndex, int length) {
        checkSrcIndex(index, length, srcIndex, src.length);
        memory.put(offset + index, src, srcIndex, length);
        return this;
    }

    @Override
    public ByteBuf setBytes(int index, ByteBuffer src) {
        int bytes = src.remaining();
        checkIndex(index, bytes);
        int position = src.position();
        memory.put(offset + index, src, position, bytes);
        src.position(position + bytes);
        return this;
    }

    @Override
    public int setBytes(int index, InputStream in, int length) throws IOException {
        checkIndex(index, length);
        byte[] chunk = new byte[Math.min(length, 8192)];
        int done = 0;
        while (done < length) {
            int n = in.read(chunk, 0, Math.min(chunk.length, length - done));
            if (n < 0) {
                return done == 0 ? -1 : done;
            }
            memory.put(offset + index + done, chunk, 0, n);
            done += n;
            if (n == 0) {
                break;
            }
        }
        return done;
    }

    @Override
    public int setBytes(int index, ScatteringByteChannel in, int length) throws IOException {
        checkIndex(index, length);
        try {
            return in.read(internalNioBuffer(index, length));
        } catch (ClosedChannelException ignored) {
            return -1;
        }
    }

    @Override
    public int setBytes(int index, FileChannel in, long position, int length) throws IOException {
        checkIndex(index, length);
        try {
            return in.read(internalNioBuffer(index, length), position);
        } catch (ClosedChannelException ignored) {
            return -1;
        }
    }

    @Override
    public ByteBuf copy(int index, int length) {
        checkIndex(index, length);
        ByteBuf copy = allocator.directBuffer(length, maxCapacity());
        copy.writeBytes(this, index, length);
        return copy;
    }

    @Override
    public int nioBufferCount() {
        return 1;
    }

    @Override
    public ByteBuffer nioBuffer(int index, int length) {
        checkIndex(index, length);
        return memory.slice(offset + index, length);
    }

    @Override
    public ByteBuffer internalNioBuffer(int index, int length) {
        checkIndex(index, length);
        ByteBuffer tmp = tmpNioBuf;
        if (tmp == null) {
            tmpNioBuf = tmp = memory.duplicate();
        }
        int start = offset + index;
        tmp.clear().position(start).limit(start + length);
        return tmp;
    }

    @Override
    public ByteBuffer[] nioBuffers(int index, int length) {
        return new ByteBuffer[] {nioBuffer(index, length)};
    }

    @Override
    public boolean isContiguous() {
        return true;
    }
}
