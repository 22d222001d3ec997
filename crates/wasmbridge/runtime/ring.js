// A single-producer single-consumer ring buffer over a SharedArrayBuffer, for
// moving audio (interleaved f32) or bytes between threads without locks. Its
// Rust twin, with the same layout and the same algorithm, is
// crates/wasmbridge-guest/src/ring.rs (`channel` natively, `SharedRing` in a
// wasm guest); js/test/ring.test.mjs checks that both agree byte for byte.
//
// Layout: u32 fields in the platform's byte order (little-endian wherever wasm
// and JS run). A header of three 64-byte lines, then the data.
//
//   byte  size line field           written by  meaning
//      0     4    0 write           producer    free-running write index, in elements, wraps at 2^32
//      4     4    0 magic           creator     MAGIC = 0x47524257 (the bytes "WBRG")
//      8     4    0 version         creator     VERSION = 1
//     12     4    0 capacity        creator     data capacity in elements: a power of two, 1..=2^28
//     16     4    0 element_bytes   creator     1 (u8) or 4 (f32)
//     20     4    0 kind            creator     KIND_U8 = 1 or KIND_F32 = 2
//     24     4    0 channels        creator     elements per frame (interleaved audio channels), 1..=capacity
//     28    36    0 reserved        -           zero
//     64     4    1 read            consumer    free-running read index, in elements, wraps at 2^32
//     68    60    1 reserved        -           zero
//    128     4    2 overruns        producer    pushes that could not write every whole frame they were given
//    132     4    2 overrun_items   producer    elements those pushes dropped (rejected, never written)
//    136     4    2 underruns       consumer    pops that got fewer whole frames than they asked for
//    140     4    2 underrun_items  consumer    elements those pops went short
//    144    48    2 reserved        -           zero
//    192  capacity × element_bytes  data        slot of element i is i mod capacity
//
// Protocol: available = write − read (mod 2^32), free = capacity − available;
// no slot is kept empty. The producer only stores `write` (after copying the
// data in), the consumer only `read` (after copying it out); both only ever use
// Atomics.load / Atomics.store (sequentially consistent, so at least
// release/acquire), never wait or notify, so either side may run in an
// AudioWorklet. Each counter is written by its own side alone (load + store)
// and wraps at 2^32. Both sides move whole frames only: a request is rounded
// down to a multiple of `channels`; a trailing partial frame is neither moved
// nor counted. push() and pop() allocate nothing: they copy with at most two
// index loops, split at the end of the data (no subarray(), which allocates).
//
// The code lives in audio-worklet.js and is re-exported here. An AudioWorklet
// module is loaded by URL, and bundlers copy such a file as it is, without the
// files it imports; so the worklet file must hold everything it needs, and the
// ring is defined there once for the worklet and for pages alike.

export { LAYOUT, RingBuffer } from './audio-worklet.js';
