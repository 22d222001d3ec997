//! A single-producer single-consumer ring buffer with one byte layout shared by
//! Rust and JS: a SharedArrayBuffer made by `crates/wasmbridge/runtime/ring.js` can be fed by a Rust
//! guest through `SharedRing` (wasm32 only) and drained by an AudioWorklet,
//! and the same algorithm runs natively over ordinary memory ([`channel`]).
//!
//! # Layout
//!
//! All fields are `u32` in the platform's byte order, which is little-endian
//! wherever wasm and JS run. A header of three 64-byte lines, then the data.
//! The JS twin of this table is at the top of `crates/wasmbridge/runtime/ring.js`; the constants below
//! are checked against it by `js/test/ring.test.mjs`, and the byte image of a
//! known ring by `tests/ring_layout.rs` and that same JS test.
//!
//! ```text
//! byte  size line field           written by  meaning
//!    0     4    0 write           producer    free-running write index, in elements, wraps at 2^32
//!    4     4    0 magic           creator     MAGIC = 0x47524257 (the bytes "WBRG")
//!    8     4    0 version         creator     VERSION = 1
//!   12     4    0 capacity        creator     data capacity in elements: a power of two, 1..=2^28
//!   16     4    0 element_bytes   creator     1 (u8) or 4 (f32)
//!   20     4    0 kind            creator     KIND_U8 = 1 or KIND_F32 = 2
//!   24     4    0 channels        creator     elements per frame (interleaved audio channels), 1..=capacity
//!   28    36    0 reserved        -           zero
//!   64     4    1 read            consumer    free-running read index, in elements, wraps at 2^32
//!   68    60    1 reserved        -           zero
//!  128     4    2 overruns        producer    pushes that could not write every whole frame they were given
//!  132     4    2 overrun_items   producer    elements those pushes dropped (rejected, never written)
//!  136     4    2 underruns       consumer    pops that got fewer whole frames than they asked for
//!  140     4    2 underrun_items  consumer    elements those pops went short
//!  144    48    2 reserved        -           zero
//!  192  capacity × element_bytes  data        slot of element i is i mod capacity
//! ```
//!
//! # Protocol
//!
//! `available = write − read (mod 2^32)`, `free = capacity − available`; every
//! slot is usable (no slot is kept empty) because the indices run freely and
//! only their difference is reduced, never the indices themselves. The producer
//! only ever stores `write` (release, after copying the data) and the consumer
//! only `read` (release, after copying the data out); each loads the other's
//! index with acquire. Each counter is written only by its own side, by a plain
//! load-then-store (no read-modify-write is needed with a single writer);
//! counters wrap at 2^32. Producer and consumer move whole frames only: a
//! request is rounded down to a multiple of `channels`, and a trailing partial
//! frame is neither written nor read (nor counted).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Bytes in one header line; each index lives on its own line.
pub const LINE_BYTES: usize = 64;
/// Bytes before the data: three lines.
pub const HEADER_BYTES: usize = 192;
/// Byte offset of the free-running write index (line 0, producer-owned).
pub const WRITE_OFFSET: usize = 0;
/// Byte offset of [`MAGIC`] (line 0, constant).
pub const MAGIC_OFFSET: usize = 4;
/// Byte offset of [`VERSION`] (line 0, constant).
pub const VERSION_OFFSET: usize = 8;
/// Byte offset of the capacity in elements (line 0, constant).
pub const CAPACITY_OFFSET: usize = 12;
/// Byte offset of the size of one element in bytes (line 0, constant).
pub const ELEMENT_BYTES_OFFSET: usize = 16;
/// Byte offset of the element kind, [`KIND_U8`] or [`KIND_F32`] (line 0, constant).
pub const KIND_OFFSET: usize = 20;
/// Byte offset of the number of elements per frame (line 0, constant).
pub const CHANNELS_OFFSET: usize = 24;
/// Byte offset of the free-running read index (line 1, consumer-owned).
pub const READ_OFFSET: usize = 64;
/// Byte offset of the overrun count (line 2, producer-owned).
pub const OVERRUNS_OFFSET: usize = 128;
/// Byte offset of the count of elements dropped by overruns (line 2, producer-owned).
pub const OVERRUN_ITEMS_OFFSET: usize = 132;
/// Byte offset of the underrun count (line 2, consumer-owned).
pub const UNDERRUNS_OFFSET: usize = 136;
/// Byte offset of the count of elements underruns went short (line 2, consumer-owned).
pub const UNDERRUN_ITEMS_OFFSET: usize = 140;
/// Byte offset of element 0 of the data.
pub const DATA_OFFSET: usize = 192;
/// `u32::from_le_bytes(*b"WBRG")`.
pub const MAGIC: u32 = 0x4752_4257;
/// Version of this layout.
pub const VERSION: u32 = 1;
/// `kind` of a ring of bytes.
pub const KIND_U8: u32 = 1;
/// `kind` of a ring of `f32` samples.
pub const KIND_F32: u32 = 2;
/// Largest capacity in elements (2^28: 1 GiB of `f32`), so that every byte
/// offset fits in a `u32` and `write − read` can tell full from empty.
pub const MAX_CAPACITY: u32 = 0x1000_0000;

const _: () = {
    assert!(HEADER_BYTES == 3 * LINE_BYTES && DATA_OFFSET == HEADER_BYTES);
    assert!(WRITE_OFFSET / LINE_BYTES == 0 && CHANNELS_OFFSET / LINE_BYTES == 0);
    assert!(READ_OFFSET / LINE_BYTES == 1);
    assert!(OVERRUNS_OFFSET / LINE_BYTES == 2 && UNDERRUN_ITEMS_OFFSET / LINE_BYTES == 2);
    assert!(MAGIC == u32::from_le_bytes(*b"WBRG"));
    assert!(MAX_CAPACITY.is_power_of_two());
};

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for f32 {}
}

/// What a ring can hold: `u8` (bytes) or `f32` (interleaved audio samples).
pub trait Element: Copy + Default + Send + Sync + 'static + sealed::Sealed {
    /// The header's `kind` for this element.
    const KIND: u32;
    /// The header's `element_bytes`.
    const BYTES: u32;
}

impl Element for u8 {
    const KIND: u32 = KIND_U8;
    const BYTES: u32 = 1;
}

impl Element for f32 {
    const KIND: u32 = KIND_F32;
    const BYTES: u32 = 4;
}

/// Why a header or a requested shape was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("capacity must be a power of two in 1..={MAX_CAPACITY} elements, got {0}")]
    Capacity(u32),
    #[error("channels must be in 1..=capacity ({capacity}), got {channels}")]
    Channels { capacity: u32, channels: u32 },
    #[error("not a wasmbridge ring: magic {0:#010x}, expected {MAGIC:#010x}")]
    Magic(u32),
    #[error("ring layout version {0}, this build reads version {VERSION}")]
    Version(u32),
    #[error(
        "ring holds kind {found} with {found_bytes}-byte elements, expected kind {expected} with {expected_bytes}"
    )]
    Kind {
        expected: u32,
        expected_bytes: u32,
        found: u32,
        found_bytes: u32,
    },
    #[error("ring needs {needed} bytes, the buffer has {got}")]
    TooSmall { needed: u64, got: u64 },
}

/// Bytes a ring of `capacity` elements of `T` occupies, header included.
pub fn byte_length<T: Element>(capacity: u32) -> u64 {
    DATA_OFFSET as u64 + u64::from(capacity) * u64::from(T::BYTES)
}

/// The shape of a ring and all of its index arithmetic, shared by every
/// backing (native memory and a SharedArrayBuffer) and mirrored by `crates/wasmbridge/runtime/ring.js`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    capacity: u32,
    channels: u32,
}

/// One transfer, planned by [`Geometry::plan`]: `first` slots from data slot
/// `start`, then `second` slots from slot 0 (when the transfer wraps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// Data slot of the first element moved.
    pub start: usize,
    /// Elements moved before the end of the data.
    pub first: usize,
    /// Elements moved from the start of the data.
    pub second: usize,
    /// Elements asked for, rounded down to whole frames, that could not be moved.
    pub shortfall: u32,
}

impl Transfer {
    /// Elements moved.
    pub fn len(&self) -> usize {
        self.first + self.second
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Geometry {
    pub fn new(capacity: u32, channels: u32) -> Result<Self, LayoutError> {
        if !capacity.is_power_of_two() || capacity > MAX_CAPACITY {
            return Err(LayoutError::Capacity(capacity));
        }
        if channels == 0 || channels > capacity {
            return Err(LayoutError::Channels { capacity, channels });
        }
        Ok(Geometry { capacity, channels })
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    pub fn channels(&self) -> u32 {
        self.channels
    }

    /// Elements readable. Clamped to the capacity, so a header corrupted by a
    /// foreign writer can never make a transfer run past the data.
    pub fn available(&self, write: u32, read: u32) -> u32 {
        write.wrapping_sub(read).min(self.capacity)
    }

    /// Elements writable.
    pub fn free(&self, write: u32, read: u32) -> u32 {
        self.capacity - self.available(write, read)
    }

    /// `n` rounded down to whole frames.
    pub fn whole_frames(&self, n: u32) -> u32 {
        n - n % self.channels
    }

    /// Plans moving `requested` elements at free-running `index` when `room`
    /// elements can be moved: as many whole frames as fit, split at the end of
    /// the data.
    pub fn plan(&self, index: u32, requested: usize, room: u32) -> Transfer {
        let wanted = self.whole_frames(u32::try_from(requested).unwrap_or(u32::MAX));
        let granted = wanted.min(self.whole_frames(room));
        let start = index & (self.capacity - 1);
        let first = granted.min(self.capacity - start);
        Transfer {
            start: start as usize,
            first: first as usize,
            second: (granted - first) as usize,
            shortfall: wanted - granted,
        }
    }

    /// Checks a header read from memory holding `buffer_bytes` bytes, for a ring of `T`.
    pub fn validate<T: Element>(
        header: &HeaderFields,
        buffer_bytes: u64,
    ) -> Result<Self, LayoutError> {
        if buffer_bytes < DATA_OFFSET as u64 {
            return Err(LayoutError::TooSmall {
                needed: DATA_OFFSET as u64,
                got: buffer_bytes,
            });
        }
        if header.magic != MAGIC {
            return Err(LayoutError::Magic(header.magic));
        }
        if header.version != VERSION {
            return Err(LayoutError::Version(header.version));
        }
        if header.kind != T::KIND || header.element_bytes != T::BYTES {
            return Err(LayoutError::Kind {
                expected: T::KIND,
                expected_bytes: T::BYTES,
                found: header.kind,
                found_bytes: header.element_bytes,
            });
        }
        let geometry = Geometry::new(header.capacity, header.channels)?;
        let needed = byte_length::<T>(geometry.capacity);
        if buffer_bytes < needed {
            return Err(LayoutError::TooSmall {
                needed,
                got: buffer_bytes,
            });
        }
        Ok(geometry)
    }
}

/// The constant fields of line 0, as read from (or to be written to) a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFields {
    pub magic: u32,
    pub version: u32,
    pub capacity: u32,
    pub element_bytes: u32,
    pub kind: u32,
    pub channels: u32,
}

impl HeaderFields {
    /// The fields of a new ring of `T` with this geometry.
    pub fn of<T: Element>(geometry: Geometry) -> Self {
        HeaderFields {
            magic: MAGIC,
            version: VERSION,
            capacity: geometry.capacity,
            element_bytes: T::BYTES,
            kind: T::KIND,
            channels: geometry.channels,
        }
    }

    /// `(byte offset, value)` of every field.
    pub fn entries(&self) -> [(usize, u32); 6] {
        [
            (MAGIC_OFFSET, self.magic),
            (VERSION_OFFSET, self.version),
            (CAPACITY_OFFSET, self.capacity),
            (ELEMENT_BYTES_OFFSET, self.element_bytes),
            (KIND_OFFSET, self.kind),
            (CHANNELS_OFFSET, self.channels),
        ]
    }

    /// Reads the fields through `load(byte offset)`.
    pub fn read(load: impl Fn(usize) -> u32) -> Self {
        HeaderFields {
            magic: load(MAGIC_OFFSET),
            version: load(VERSION_OFFSET),
            capacity: load(CAPACITY_OFFSET),
            element_bytes: load(ELEMENT_BYTES_OFFSET),
            kind: load(KIND_OFFSET),
            channels: load(CHANNELS_OFFSET),
        }
    }
}

/// The four counters of line 2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Pushes that could not write every whole frame they were given.
    pub overruns: u32,
    /// Elements those pushes dropped.
    pub overrun_items: u32,
    /// Pops that got fewer whole frames than they asked for.
    pub underruns: u32,
    /// Elements those pops went short.
    pub underrun_items: u32,
}

/// Where a ring's header and data live. Private on purpose: `write_slots` and
/// `read_slots` are only sound under the single-producer single-consumer
/// discipline that [`Producer`], [`Consumer`] and `SharedRing` enforce.
trait Memory<T: Element> {
    fn geometry(&self) -> Geometry;
    /// Loads the `u32` at a header byte offset (acquire).
    fn load(&self, offset: usize) -> u32;
    /// Stores the `u32` at a header byte offset (release).
    fn store(&self, offset: usize, value: u32);
    /// Copies `src` into data slots `at..at + src.len()` (never past the end).
    fn write_slots(&self, at: usize, src: &[T]);
    /// Copies data slots `at..at + dst.len()` (never past the end) into `dst`.
    fn read_slots(&self, at: usize, dst: &mut [T]);
}

fn stats_of<T: Element>(memory: &impl Memory<T>) -> RingStats {
    RingStats {
        overruns: memory.load(OVERRUNS_OFFSET),
        overrun_items: memory.load(OVERRUN_ITEMS_OFFSET),
        underruns: memory.load(UNDERRUNS_OFFSET),
        underrun_items: memory.load(UNDERRUN_ITEMS_OFFSET),
    }
}

/// Adds to a counter its caller's side alone writes.
fn count<T: Element>(
    memory: &impl Memory<T>,
    events_offset: usize,
    items_offset: usize,
    items: u32,
) {
    memory.store(events_offset, memory.load(events_offset).wrapping_add(1));
    memory.store(items_offset, memory.load(items_offset).wrapping_add(items));
}

/// The producer's half of the algorithm, for every backing.
fn push<T: Element>(memory: &impl Memory<T>, src: &[T]) -> usize {
    let geometry = memory.geometry();
    let write = memory.load(WRITE_OFFSET);
    let read = memory.load(READ_OFFSET);
    let plan = geometry.plan(write, src.len(), geometry.free(write, read));
    if plan.first > 0 {
        memory.write_slots(plan.start, &src[..plan.first]);
    }
    if plan.second > 0 {
        memory.write_slots(0, &src[plan.first..plan.len()]);
    }
    if !plan.is_empty() {
        memory.store(WRITE_OFFSET, write.wrapping_add(plan.len() as u32));
    }
    if plan.shortfall > 0 {
        count(
            memory,
            OVERRUNS_OFFSET,
            OVERRUN_ITEMS_OFFSET,
            plan.shortfall,
        );
    }
    plan.len()
}

/// The consumer's half of the algorithm, for every backing.
fn pop<T: Element>(memory: &impl Memory<T>, dst: &mut [T]) -> usize {
    let geometry = memory.geometry();
    let read = memory.load(READ_OFFSET);
    let write = memory.load(WRITE_OFFSET);
    let plan = geometry.plan(read, dst.len(), geometry.available(write, read));
    if plan.first > 0 {
        memory.read_slots(plan.start, &mut dst[..plan.first]);
    }
    if plan.second > 0 {
        memory.read_slots(0, &mut dst[plan.first..plan.len()]);
    }
    if !plan.is_empty() {
        memory.store(READ_OFFSET, read.wrapping_add(plan.len() as u32));
    }
    if plan.shortfall > 0 {
        count(
            memory,
            UNDERRUNS_OFFSET,
            UNDERRUN_ITEMS_OFFSET,
            plan.shortfall,
        );
    }
    plan.len()
}

fn available_in<T: Element>(memory: &impl Memory<T>) -> usize {
    memory
        .geometry()
        .available(memory.load(WRITE_OFFSET), memory.load(READ_OFFSET)) as usize
}

fn free_in<T: Element>(memory: &impl Memory<T>) -> usize {
    memory
        .geometry()
        .free(memory.load(WRITE_OFFSET), memory.load(READ_OFFSET)) as usize
}

/// A ring in this process's memory, laid out byte for byte like the
/// SharedArrayBuffer: `u32` words, header first, data from [`DATA_OFFSET`].
struct HeapMemory<T> {
    words: Box<[AtomicU32]>,
    geometry: Geometry,
    _element: PhantomData<T>,
}

impl<T: Element> HeapMemory<T> {
    fn new(geometry: Geometry, start: u32) -> Self {
        let bytes = byte_length::<T>(geometry.capacity) as usize;
        let words: Box<[AtomicU32]> = (0..bytes.div_ceil(4)).map(|_| AtomicU32::new(0)).collect();
        let memory = HeapMemory {
            words,
            geometry,
            _element: PhantomData,
        };
        for (offset, value) in HeaderFields::of::<T>(geometry).entries() {
            memory.store(offset, value);
        }
        memory.store(WRITE_OFFSET, start);
        memory.store(READ_OFFSET, start);
        memory
    }

    fn data(&self) -> *mut T {
        // The words are `UnsafeCell`s, so writing through a pointer derived
        // from a shared reference to them is allowed. The data starts 4-byte
        // aligned, enough for `u8` and `f32`.
        self.words
            .as_ptr()
            .cast::<u8>()
            .cast_mut()
            .wrapping_add(DATA_OFFSET)
            .cast::<T>()
    }

    /// The memory as bytes. Only called by the producer holding `&mut`, so no
    /// data slot is being written meanwhile; concurrent reads are harmless.
    fn image(&self) -> Vec<u8> {
        let bytes = byte_length::<T>(self.geometry.capacity) as usize;
        let mut image = Vec::with_capacity(bytes);
        for word in &self.words[..DATA_OFFSET / 4] {
            image.extend_from_slice(&word.load(Ordering::Acquire).to_ne_bytes());
        }
        // SAFETY: the data region is `bytes - DATA_OFFSET` initialised bytes
        // inside `words`; see above for why nobody writes them meanwhile.
        let data =
            unsafe { std::slice::from_raw_parts(self.data().cast::<u8>(), bytes - DATA_OFFSET) };
        image.extend_from_slice(data);
        image
    }
}

impl<T: Element> Memory<T> for HeapMemory<T> {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn load(&self, offset: usize) -> u32 {
        self.words[offset / 4].load(Ordering::Acquire)
    }

    fn store(&self, offset: usize, value: u32) {
        self.words[offset / 4].store(value, Ordering::Release)
    }

    fn write_slots(&self, at: usize, src: &[T]) {
        assert!(at + src.len() <= self.geometry.capacity as usize);
        // SAFETY: in bounds (asserted). Only the single producer writes, and
        // only to slots outside `read..read + available`, which it learnt by an
        // acquire load of `read`, so the consumer is done reading them; the
        // consumer only reads them after its acquire load of the release store
        // of `write` that follows this copy.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.data().add(at), src.len()) }
    }

    fn read_slots(&self, at: usize, dst: &mut [T]) {
        assert!(at + dst.len() <= self.geometry.capacity as usize);
        // SAFETY: in bounds (asserted). The slots are inside
        // `read..read + available`, published by the producer's release store
        // of `write` that this side acquired; the producer will not write them
        // again before it acquires the consumer's later store of `read`.
        unsafe { std::ptr::copy_nonoverlapping(self.data().add(at), dst.as_mut_ptr(), dst.len()) }
    }
}

/// The writing end of a native ring made by [`channel`]. Send it to the
/// producing thread; there is exactly one per ring.
pub struct Producer<T: Element> {
    memory: Arc<HeapMemory<T>>,
}

/// The reading end of a native ring made by [`channel`]. Send it to the
/// consuming thread; there is exactly one per ring.
pub struct Consumer<T: Element> {
    memory: Arc<HeapMemory<T>>,
}

/// A native ring of `capacity` elements (a power of two, at most
/// [`MAX_CAPACITY`]) moved in frames of `channels` elements.
pub fn channel<T: Element>(
    capacity: u32,
    channels: u32,
) -> Result<(Producer<T>, Consumer<T>), LayoutError> {
    channel_starting_at(capacity, channels, 0)
}

/// Like [`channel`], with both free-running indices starting at `start`
/// instead of 0. It behaves exactly the same; it exists so tests can cross
/// the 2^32 wrap of the indices without moving 4 Gi elements first.
pub fn channel_starting_at<T: Element>(
    capacity: u32,
    channels: u32,
    start: u32,
) -> Result<(Producer<T>, Consumer<T>), LayoutError> {
    let memory = Arc::new(HeapMemory::new(Geometry::new(capacity, channels)?, start));
    Ok((
        Producer {
            memory: Arc::clone(&memory),
        },
        Consumer { memory },
    ))
}

impl<T: Element> Producer<T> {
    /// Writes as many whole frames of `src` as fit and returns how many
    /// elements that was; when that is not all of them (rounded down to whole
    /// frames) it counts one overrun and the elements left behind.
    pub fn push(&mut self, src: &[T]) -> usize {
        push(&*self.memory, src)
    }

    /// Elements the consumer can read now.
    pub fn available(&self) -> usize {
        available_in(&*self.memory)
    }

    /// Elements the producer can write now.
    pub fn free(&self) -> usize {
        free_in(&*self.memory)
    }

    pub fn geometry(&self) -> Geometry {
        self.memory.geometry
    }

    pub fn stats(&self) -> RingStats {
        stats_of(&*self.memory)
    }

    /// The ring's memory, header and data, byte for byte as a
    /// SharedArrayBuffer holding this ring would contain it.
    pub fn image(&mut self) -> Vec<u8> {
        self.memory.image()
    }
}

impl<T: Element> Consumer<T> {
    /// Reads as many whole frames as are available into the front of `dst`
    /// and returns how many elements that was; when that is fewer than `dst`
    /// holds (rounded down to whole frames) it counts one underrun and the
    /// elements missing.
    pub fn pop(&mut self, dst: &mut [T]) -> usize {
        pop(&*self.memory, dst)
    }

    /// Elements the consumer can read now.
    pub fn available(&self) -> usize {
        available_in(&*self.memory)
    }

    /// Elements the producer can write now.
    pub fn free(&self) -> usize {
        free_in(&*self.memory)
    }

    pub fn geometry(&self) -> Geometry {
        self.memory.geometry
    }

    pub fn stats(&self) -> RingStats {
        stats_of(&*self.memory)
    }
}

#[cfg(target_arch = "wasm32")]
pub use shared::{SabElement, SharedRing};

/// The same ring over a SharedArrayBuffer that lives in JS (the guest's own
/// memory is not shared on the stable toolchain): data moves with at most two
/// `TypedArray.set` calls per push or pop, split at the end of the data, and
/// indices and counters move with `Atomics.load` / `Atomics.store`.
#[cfg(target_arch = "wasm32")]
mod shared {
    use super::{
        Element, Geometry, HeaderFields, LayoutError, Memory, RingStats, READ_OFFSET, WRITE_OFFSET,
    };
    use js_sys::{Atomics, Float32Array, Int32Array, SharedArrayBuffer, Uint8Array};
    use wasm_bindgen::JsValue;

    /// An [`Element`] with a JS typed array to view it in a SharedArrayBuffer.
    pub trait SabElement: Element {
        #[doc(hidden)]
        type View;
        #[doc(hidden)]
        fn view(buffer: &JsValue, capacity: u32) -> Self::View;
        #[doc(hidden)]
        fn write(view: &Self::View, at: u32, src: &[Self]);
        #[doc(hidden)]
        fn read(view: &Self::View, at: u32, dst: &mut [Self]);
    }

    macro_rules! sab_element {
        ($ty:ty, $array:ty) => {
            impl SabElement for $ty {
                type View = $array;
                fn view(buffer: &JsValue, capacity: u32) -> $array {
                    <$array>::new_with_byte_offset_and_length(
                        buffer,
                        super::DATA_OFFSET as u32,
                        capacity,
                    )
                }
                // One `set` per call: `copy_from` / `copy_to` are `TypedArray.set`.
                fn write(view: &$array, at: u32, src: &[$ty]) {
                    view.subarray(at, at + src.len() as u32).copy_from(src);
                }
                fn read(view: &$array, at: u32, dst: &mut [$ty]) {
                    view.subarray(at, at + dst.len() as u32).copy_to(dst);
                }
            }
        };
    }
    sab_element!(u8, Uint8Array);
    sab_element!(f32, Float32Array);

    /// One end of a ring whose memory is a SharedArrayBuffer, for a wasm
    /// guest. Use it as the producer or as the consumer, never both, and let
    /// exactly one other party (JS, another worker) play the other role.
    pub struct SharedRing<T: SabElement> {
        buffer: SharedArrayBuffer,
        header: Int32Array,
        data: T::View,
        geometry: Geometry,
    }

    impl<T: SabElement> SharedRing<T> {
        /// Allocates a SharedArrayBuffer holding a new, empty ring.
        pub fn create(capacity: u32, channels: u32) -> Result<Self, LayoutError> {
            let geometry = Geometry::new(capacity, channels)?;
            let buffer = SharedArrayBuffer::new(super::byte_length::<T>(capacity) as u32);
            let ring = Self::over(buffer, geometry);
            for (offset, value) in HeaderFields::of::<T>(geometry).entries() {
                ring.store(offset, value);
            }
            Ok(ring)
        }

        /// Attaches to a ring made by `RingBuffer.create` in `crates/wasmbridge/runtime/ring.js` or
        /// by [`SharedRing::create`], checking its header.
        pub fn attach(buffer: &SharedArrayBuffer) -> Result<Self, LayoutError> {
            let length = u64::from(buffer.byte_length());
            if length < super::DATA_OFFSET as u64 {
                return Err(LayoutError::TooSmall {
                    needed: super::DATA_OFFSET as u64,
                    got: length,
                });
            }
            let header = Int32Array::new_with_byte_offset_and_length(
                buffer,
                0,
                (super::HEADER_BYTES / 4) as u32,
            );
            let fields = HeaderFields::read(|offset| load(&header, offset));
            let geometry = Geometry::validate::<T>(&fields, length)?;
            Ok(Self::over(buffer.clone(), geometry))
        }

        fn over(buffer: SharedArrayBuffer, geometry: Geometry) -> Self {
            let header = Int32Array::new_with_byte_offset_and_length(
                &buffer,
                0,
                (super::HEADER_BYTES / 4) as u32,
            );
            let data = T::view(&buffer, geometry.capacity());
            SharedRing {
                buffer,
                header,
                data,
                geometry,
            }
        }

        /// The SharedArrayBuffer, to hand to JS (`RingBuffer.from(buffer)`).
        pub fn buffer(&self) -> &SharedArrayBuffer {
            &self.buffer
        }

        /// Producer side: see [`super::Producer::push`].
        pub fn push(&mut self, src: &[T]) -> usize {
            super::push(&*self, src)
        }

        /// Consumer side: see [`super::Consumer::pop`].
        pub fn pop(&mut self, dst: &mut [T]) -> usize {
            super::pop(&*self, dst)
        }

        pub fn available(&self) -> usize {
            super::available_in(self)
        }

        pub fn free(&self) -> usize {
            super::free_in(self)
        }

        pub fn geometry(&self) -> Geometry {
            self.geometry
        }

        pub fn stats(&self) -> RingStats {
            super::stats_of(self)
        }

        /// The free-running (write, read) indices.
        pub fn indices(&self) -> (u32, u32) {
            (self.load(WRITE_OFFSET), self.load(READ_OFFSET))
        }
    }

    /// `Atomics.load` on the header. It throws only for a non-integer array or
    /// an index out of range, and the header view and offsets rule both out.
    fn load(header: &Int32Array, offset: usize) -> u32 {
        Atomics::load(header, (offset / 4) as u32).map_or(0, |v| v as u32)
    }

    impl<T: SabElement> Memory<T> for SharedRing<T> {
        fn geometry(&self) -> Geometry {
            self.geometry
        }

        fn load(&self, offset: usize) -> u32 {
            load(&self.header, offset)
        }

        fn store(&self, offset: usize, value: u32) {
            // Cannot throw, for the same reasons as `load`.
            let _ = Atomics::store(&self.header, (offset / 4) as u32, value as i32);
        }

        fn write_slots(&self, at: usize, src: &[T]) {
            T::write(&self.data, at as u32, src);
        }

        fn read_slots(&self, at: usize, dst: &mut [T]) {
            T::read(&self.data, at as u32, dst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[derive(Debug, Clone)]
    enum Op {
        Push(usize),
        Pop(usize),
    }

    fn op(capacity: u32) -> impl Strategy<Value = Op> {
        let max = capacity as usize * 2 + 3;
        prop_oneof![(0..max).prop_map(Op::Push), (0..max).prop_map(Op::Pop)]
    }

    /// A capacity, a frame size, a start index (half of them close below
    /// 2^32 so the indices wrap) and a sequence of operations.
    fn scenario() -> impl Strategy<Value = (u32, u32, u32, Vec<Op>)> {
        (0u32..=6)
            .prop_flat_map(|log| {
                let capacity = 1u32 << log;
                (Just(capacity), 1..=capacity.min(3))
            })
            .prop_flat_map(|(capacity, channels)| {
                let start = prop_oneof![any::<u32>(), (0u32..200).prop_map(|back| u32::MAX - back)];
                (
                    Just(capacity),
                    Just(channels),
                    start,
                    prop::collection::vec(op(capacity), 0..200),
                )
            })
    }

    /// Runs `ops` on a native ring and on a `VecDeque` model side by side.
    fn check_against_model<T: Element + PartialEq + std::fmt::Debug>(
        capacity: u32,
        channels: u32,
        start: u32,
        ops: &[Op],
        value: impl Fn(u64) -> T,
    ) -> Result<(), TestCaseError> {
        let (mut producer, mut consumer) = channel_starting_at::<T>(capacity, channels, start)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut model = VecDeque::new();
        let mut expected = RingStats::default();
        let mut next = 0u64;
        let mut write = start;
        let cap = capacity as usize;
        let frame = channels as usize;
        for op in ops {
            match *op {
                Op::Push(len) => {
                    let src: Vec<T> = (0..len as u64).map(|i| value(next + i)).collect();
                    let wanted = len / frame * frame;
                    let fits = wanted.min((cap - model.len()) / frame * frame);
                    let written = producer.push(&src);
                    prop_assert_eq!(written, fits);
                    model.extend(src[..written].iter().copied());
                    next += written as u64;
                    write = write.wrapping_add(written as u32);
                    if written < wanted {
                        expected.overruns += 1;
                        expected.overrun_items += (wanted - written) as u32;
                    }
                }
                Op::Pop(len) => {
                    let mut dst = vec![value(u64::MAX); len];
                    let wanted = len / frame * frame;
                    let got = consumer.pop(&mut dst);
                    prop_assert_eq!(got, wanted.min(model.len()));
                    let from_model: Vec<T> = model.drain(..got).collect();
                    prop_assert_eq!(&dst[..got], &from_model[..]);
                    prop_assert!(
                        dst[got..].iter().all(|v| *v == value(u64::MAX)),
                        "pop wrote past what it returned"
                    );
                    if got < wanted {
                        expected.underruns += 1;
                        expected.underrun_items += (wanted - got) as u32;
                    }
                }
            }
            prop_assert_eq!(producer.available(), model.len());
            prop_assert_eq!(consumer.available(), model.len());
            prop_assert_eq!(producer.free(), cap - model.len());
            prop_assert_eq!(consumer.stats(), expected);
            prop_assert_eq!(producer.stats(), expected);
        }
        let image = producer.image();
        let word = |offset: usize| {
            u32::from_ne_bytes([
                image[offset],
                image[offset + 1],
                image[offset + 2],
                image[offset + 3],
            ])
        };
        prop_assert_eq!(word(WRITE_OFFSET), write);
        prop_assert_eq!(word(READ_OFFSET), write.wrapping_sub(model.len() as u32));
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn f32_ring_matches_a_vecdeque((capacity, channels, start, ops) in scenario()) {
            check_against_model::<f32>(capacity, channels, start, &ops, |i| if i == u64::MAX { -1.0 } else { i as f32 })?;
        }

        #[test]
        fn u8_ring_matches_a_vecdeque((capacity, channels, start, ops) in scenario()) {
            check_against_model::<u8>(capacity, channels, start, &ops, |i| if i == u64::MAX { 0xff } else { (i % 251) as u8 })?;
        }

        #[test]
        fn plans_split_at_the_end_and_never_overfill(
            log in 0u32..=12, channels in 1u32..=8, index in any::<u32>(), requested in 0usize..10_000, room in any::<u32>()
        ) {
            let capacity = 1u32 << log;
            prop_assume!(channels <= capacity);
            let geometry = Geometry::new(capacity, channels).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let room = room % (capacity + 1);
            let plan = geometry.plan(index, requested, room);
            prop_assert!(plan.len() <= room as usize && plan.len() <= requested);
            prop_assert_eq!(plan.len() % channels as usize, 0);
            prop_assert_eq!(plan.start, (index % capacity) as usize);
            prop_assert!(plan.start + plan.first <= capacity as usize);
            prop_assert!(plan.second == 0 || plan.start + plan.first == capacity as usize);
            prop_assert_eq!(plan.len() as u32 + plan.shortfall, geometry.whole_frames(requested as u32));
        }
    }

    #[test]
    fn indices_wrap_past_u32_max_with_a_full_ring() {
        let (mut producer, mut consumer) =
            channel_starting_at::<u8>(4, 1, u32::MAX - 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(producer.push(&[1, 2, 3, 4, 5]), 4);
        assert_eq!(producer.free(), 0);
        assert_eq!(consumer.available(), 4);
        let mut out = [0u8; 3];
        assert_eq!(consumer.pop(&mut out), 3);
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(producer.push(&[6, 7, 8]), 3);
        let mut out = [0u8; 4];
        assert_eq!(consumer.pop(&mut out), 4);
        assert_eq!(out, [4, 6, 7, 8]);
        let image = producer.image();
        assert_eq!(image[WRITE_OFFSET..WRITE_OFFSET + 4], 5u32.to_ne_bytes());
        assert_eq!(image[READ_OFFSET..READ_OFFSET + 4], 5u32.to_ne_bytes());
        assert_eq!(
            producer.stats(),
            RingStats {
                overruns: 1,
                overrun_items: 1,
                underruns: 0,
                underrun_items: 0
            }
        );
    }

    #[test]
    fn shapes_are_checked() {
        assert_eq!(Geometry::new(0, 1), Err(LayoutError::Capacity(0)));
        assert_eq!(Geometry::new(6, 1), Err(LayoutError::Capacity(6)));
        assert_eq!(
            Geometry::new(MAX_CAPACITY * 2, 1),
            Err(LayoutError::Capacity(MAX_CAPACITY * 2))
        );
        assert_eq!(
            Geometry::new(4, 0),
            Err(LayoutError::Channels {
                capacity: 4,
                channels: 0
            })
        );
        assert_eq!(
            Geometry::new(4, 5),
            Err(LayoutError::Channels {
                capacity: 4,
                channels: 5
            })
        );
        assert!(Geometry::new(MAX_CAPACITY, 3).is_ok());
    }

    #[test]
    fn headers_are_validated() {
        let geometry = Geometry::new(8, 2).unwrap_or_else(|e| panic!("{e}"));
        let good = HeaderFields::of::<f32>(geometry);
        let length = byte_length::<f32>(8);
        assert_eq!(Geometry::validate::<f32>(&good, length), Ok(geometry));
        assert_eq!(
            Geometry::validate::<f32>(&good, length - 1),
            Err(LayoutError::TooSmall {
                needed: length,
                got: length - 1
            })
        );
        assert_eq!(
            Geometry::validate::<f32>(&good, 10),
            Err(LayoutError::TooSmall {
                needed: 192,
                got: 10
            })
        );
        assert!(matches!(
            Geometry::validate::<u8>(&good, length),
            Err(LayoutError::Kind { .. })
        ));
        assert_eq!(
            Geometry::validate::<f32>(&HeaderFields { magic: 1, ..good }, length),
            Err(LayoutError::Magic(1))
        );
        assert_eq!(
            Geometry::validate::<f32>(&HeaderFields { version: 2, ..good }, length),
            Err(LayoutError::Version(2))
        );
        assert_eq!(
            Geometry::validate::<f32>(
                &HeaderFields {
                    capacity: 12,
                    ..good
                },
                length
            ),
            Err(LayoutError::Capacity(12))
        );
    }

    #[test]
    fn a_corrupted_write_index_cannot_overrun_the_data() {
        let geometry = Geometry::new(8, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(geometry.available(1000, 0), 8);
        assert_eq!(geometry.free(1000, 0), 0);
        assert_eq!(
            geometry.available(0, 1),
            8,
            "read ahead of write is clamped too"
        );
    }
}
