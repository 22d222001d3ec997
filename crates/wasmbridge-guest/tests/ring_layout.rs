//! The ring's bytes, pinned: a native ring run through a fixed script must leave
//! exactly the memory image below. `js/test/ring.test.mjs` reads the GOLDEN_*
//! arrays out of this file, runs the same script on `crates/wasmbridge/runtime/ring.js` and requires
//! the same bytes, and attaches to these bytes to read them back — so Rust and
//! JS agree on every offset, the index wrap and the counters. The same JS test
//! also compares every `pub const` of `src/ring.rs` with `LAYOUT` in `crates/wasmbridge/runtime/ring.js`.

use wasmbridge_guest::ring::*;

/// f32, capacity 8, 2 channels, both indices starting at 2^32 − 4:
///  1. push [1, 2, 3, 4, 5, 6]            → 6 (slots 4..8 then 0..2; write wraps to 2)
///  2. pop 4                              → [1, 2, 3, 4] (read wraps to 0)
///  3. push [7, 8, 9, 10, 11, 12, 13]     → 6 (13 is half a frame: neither written nor counted)
///  4. push [14, 15]                      → 0 (full: overrun 1, 2 items)
///  5. pop 10                             → [5, 6, 7, 8, 9, 10, 11, 12] (underrun 1, 2 items)
///  6. pop 3                              → 0 (asks 1 frame, empty: underrun 2, 4 items)
///  7. push [20.5, -1.25]                 → 2 (slots 0..2)
///
/// Ends with write 10, read 8, data [20.5, -1.25, 7, 8, 9, 10, 11, 12].
pub const GOLDEN_F32: &[&str] = &[
    "0a000000574252470100000008000000040000000200000002000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "08000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "01000000020000000200000004000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "0000a4410000a0bf0000e0400000004100001041000020410000304100004041",
];

/// u8, capacity 4, 1 channel, indices starting at 0:
///  1. push [0xaa, 0xbb, 0xcc] → 3;  2. pop 2 → [0xaa, 0xbb];
///  3. push [1, 2, 3, 4] → 3 (overrun 1, 1 item)
///
/// Ends with write 6, read 2, data [2, 3, 0xcc, 1].
pub const GOLDEN_U8: &[&str] = &[
    "06000000574252470100000004000000010000000100000001000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "02000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "01000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "0203cc01",
];

fn hex(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(64)
        .map(|line| line.iter().map(|b| format!("{b:02x}")).collect())
        .collect()
}

fn check(image: &[u8], golden: &[&str]) {
    let lines = hex(image);
    if lines != golden {
        panic!("ring image differs from the golden one; it is now:\n{lines:#?}");
    }
}

fn word(image: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        image[offset],
        image[offset + 1],
        image[offset + 2],
        image[offset + 3],
    ])
}

#[test]
fn f32_script_leaves_the_golden_image() {
    let (mut producer, mut consumer) =
        channel_starting_at::<f32>(8, 2, u32::MAX - 3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(producer.push(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), 6);
    let mut four = [0.0; 4];
    assert_eq!(consumer.pop(&mut four), 4);
    assert_eq!(four, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(producer.push(&[7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0]), 6);
    assert_eq!(producer.push(&[14.0, 15.0]), 0);
    let mut ten = [0.0; 10];
    assert_eq!(consumer.pop(&mut ten), 8);
    assert_eq!(ten[..8], [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
    let mut three = [0.0; 3];
    assert_eq!(consumer.pop(&mut three), 0);
    assert_eq!(producer.push(&[20.5, -1.25]), 2);
    assert_eq!(
        consumer.stats(),
        RingStats {
            overruns: 1,
            overrun_items: 2,
            underruns: 2,
            underrun_items: 4
        }
    );

    let image = producer.image();
    assert_eq!(image.len() as u64, byte_length::<f32>(8));
    assert_eq!(word(&image, WRITE_OFFSET), 10);
    assert_eq!(word(&image, READ_OFFSET), 8);
    assert_eq!(word(&image, MAGIC_OFFSET), MAGIC);
    assert_eq!(&image[MAGIC_OFFSET..MAGIC_OFFSET + 4], b"WBRG");
    assert_eq!(word(&image, VERSION_OFFSET), VERSION);
    assert_eq!(word(&image, CAPACITY_OFFSET), 8);
    assert_eq!(word(&image, ELEMENT_BYTES_OFFSET), 4);
    assert_eq!(word(&image, KIND_OFFSET), KIND_F32);
    assert_eq!(word(&image, CHANNELS_OFFSET), 2);
    assert_eq!(word(&image, OVERRUNS_OFFSET), 1);
    assert_eq!(word(&image, OVERRUN_ITEMS_OFFSET), 2);
    assert_eq!(word(&image, UNDERRUNS_OFFSET), 2);
    assert_eq!(word(&image, UNDERRUN_ITEMS_OFFSET), 4);
    let data: Vec<f32> = (0..8)
        .map(|i| f32::from_bits(word(&image, DATA_OFFSET + 4 * i)))
        .collect();
    assert_eq!(data, [20.5, -1.25, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
    check(&image, GOLDEN_F32);
}

#[test]
fn u8_script_leaves_the_golden_image() {
    let (mut producer, mut consumer) = channel::<u8>(4, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(producer.push(&[0xaa, 0xbb, 0xcc]), 3);
    let mut two = [0; 2];
    assert_eq!(consumer.pop(&mut two), 2);
    assert_eq!(two, [0xaa, 0xbb]);
    assert_eq!(producer.push(&[1, 2, 3, 4]), 3);
    assert_eq!(
        producer.stats(),
        RingStats {
            overruns: 1,
            overrun_items: 1,
            underruns: 0,
            underrun_items: 0
        }
    );

    let image = producer.image();
    assert_eq!(image.len() as u64, byte_length::<u8>(4));
    assert_eq!(word(&image, WRITE_OFFSET), 6);
    assert_eq!(word(&image, READ_OFFSET), 2);
    assert_eq!(word(&image, KIND_OFFSET), KIND_U8);
    assert_eq!(word(&image, ELEMENT_BYTES_OFFSET), 1);
    assert_eq!(image[DATA_OFFSET..], [2, 3, 0xcc, 1]);
    check(&image, GOLDEN_U8);
}

#[test]
fn every_other_header_byte_is_zero() {
    let (mut producer, _consumer) = channel::<f32>(2, 1).unwrap_or_else(|e| panic!("{e}"));
    let image = producer.image();
    let used = [
        MAGIC_OFFSET,
        VERSION_OFFSET,
        CAPACITY_OFFSET,
        ELEMENT_BYTES_OFFSET,
        KIND_OFFSET,
        CHANNELS_OFFSET,
    ];
    for offset in (0..HEADER_BYTES).step_by(4) {
        if !used.contains(&offset) {
            assert_eq!(word(&image, offset), 0, "header word at byte {offset}");
        }
    }
}
