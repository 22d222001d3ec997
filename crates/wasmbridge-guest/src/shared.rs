//! [`SharedBytes`] and [`SharedBytesMut`]: byte parameters that read and write
//! a shared region (`pool.shared(n)` on the page) where it lies.
//!
//! wasm-bindgen's `&[u8]` / `&mut [u8]` parameters copy the whole argument into
//! the instance's memory (and back, for `&mut`) on every call. On a threaded
//! bundle (`wasmbridge build --threads`) the runtime allocates regions inside
//! the guest's own shared memory, so a region argument can be handed to Rust
//! as a slice of that memory: these two types do that. The worker marks the
//! views it made of its own memory (the host function
//! [`HOST_IN_PLACE`](crate::protocol::HOST_IN_PLACE)); anything else, such as a
//! region on the plain module (a separate SharedArrayBuffer) or an ordinary
//! `Uint8Array`, is copied in once, and for [`SharedBytesMut`] copied back
//! into the caller's view when the value is dropped at the end of the call
//! (not after a panic: a call that traps leaves the caller's bytes as they were).
//!
//! To JavaScript (the `.d.ts`, the manifest) both are a `Uint8Array`
//! parameter, which takes a `Uint8Array`, a region or a region's window.
//!
//! A region the page writes while a call reads it in place is a data race the
//! guest cannot see; the page must leave a region alone until the calls that
//! use it have settled. One call may pass the same region twice only if no
//! one of those parameters is a [`SharedBytesMut`]: otherwise the guest would
//! hold a mutable slice and another slice of the same bytes, and the call
//! panics instead.

use std::ops::{Deref, DerefMut};

/// Where the bytes are: in place in the instance's memory, or a copy.
enum Place {
    InPlace { ptr: *mut u8, len: usize },
    Copied(Vec<u8>),
}

impl Place {
    fn slice(&self) -> &[u8] {
        match self {
            // SAFETY: the worker vouched (HOST_IN_PLACE) that `ptr..ptr + len`
            // is a view of this instance's memory that the runtime allocated
            // for a region and nothing else uses while the call runs; the
            // live-range registry rules out a mutable alias within the call.
            Place::InPlace { ptr, len } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
            Place::Copied(v) => v,
        }
    }

    fn slice_mut(&mut self) -> &mut [u8] {
        match self {
            // SAFETY: as in `slice`; a `SharedBytesMut` range overlaps no other live one.
            Place::InPlace { ptr, len } => unsafe { std::slice::from_raw_parts_mut(*ptr, *len) },
            Place::Copied(v) => v,
        }
    }
}

/// A read-only byte parameter that is a view of a shared region when the
/// runtime can give one, else a copy. Derefs to `[u8]`.
pub struct SharedBytes {
    place: Place,
}

/// A writable byte parameter: a view of a shared region when the runtime can
/// give one (writes land in the region at once), else a copy that is written
/// back into the caller's `Uint8Array` when the value is dropped. Derefs to
/// `[u8]` mutably.
pub struct SharedBytesMut {
    place: Place,
    /// The caller's view to write a copy back into on drop.
    back: Option<js_sys::Uint8Array>,
}

impl SharedBytes {
    /// True when the bytes are the region itself, false for a copy.
    pub fn in_place(&self) -> bool {
        matches!(self.place, Place::InPlace { .. })
    }
}

impl SharedBytesMut {
    /// True when the bytes are the region itself, false for a copy.
    pub fn in_place(&self) -> bool {
        matches!(self.place, Place::InPlace { .. })
    }
}

/// Owned bytes, for native tests of functions that take a `SharedBytes`.
impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self {
            place: Place::Copied(bytes),
        }
    }
}

/// Owned bytes, for native tests of functions that take a `SharedBytesMut`
/// (read them back with [`SharedBytesMut::into_vec`]).
impl From<Vec<u8>> for SharedBytesMut {
    fn from(bytes: Vec<u8>) -> Self {
        Self {
            place: Place::Copied(bytes),
            back: None,
        }
    }
}

impl SharedBytesMut {
    /// The bytes as a vector (a copy when they are in place).
    pub fn into_vec(mut self) -> Vec<u8> {
        // The caller takes the bytes: nothing is written back on drop.
        self.back = None;
        match &mut self.place {
            Place::Copied(v) => std::mem::take(v),
            Place::InPlace { .. } => self.place.slice().to_vec(),
        }
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.place.slice()
    }
}

impl Deref for SharedBytesMut {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.place.slice()
    }
}

impl DerefMut for SharedBytesMut {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.place.slice_mut()
    }
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBytes")
            .field("len", &self.len())
            .field("in_place", &self.in_place())
            .finish()
    }
}

impl std::fmt::Debug for SharedBytesMut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBytesMut")
            .field("len", &self.len())
            .field("in_place", &self.in_place())
            .finish()
    }
}

/// wasm-bindgen's parameter ABI: the argument arrives as a JS value, like a
/// `js_sys::Uint8Array` parameter (so the `.d.ts` says `Uint8Array`). Natively
/// the traits exist so guests compile and test, but no value ever arrives.
mod abi {
    use super::{Place, SharedBytes, SharedBytesMut};
    use js_sys::Uint8Array;
    use std::cell::RefCell;
    use wasm_bindgen::convert::FromWasmAbi;
    use wasm_bindgen::describe::WasmDescribe;
    use wasm_bindgen::{JsCast, JsValue};

    thread_local! {
        /// The in-place ranges of the parameters alive on this thread, with
        /// whether each is mutable: a mutable one must overlap no other.
        static LIVE: RefCell<Vec<(usize, usize, bool)>> = const { RefCell::new(Vec::new()) };
    }

    /// The argument as a `Uint8Array`: itself, a byte view of another typed
    /// array or DataView, or a new array from an array-like.
    fn bytes_of(value: JsValue) -> Uint8Array {
        match value.dyn_into::<Uint8Array>() {
            Ok(view) => view,
            Err(value) => match value.dyn_into::<js_sys::Object>() {
                Ok(object) if js_sys::ArrayBuffer::is_view(&object) => {
                    let view: js_sys::Uint8Array = object.unchecked_into();
                    let buffer = js_sys::Reflect::get(&view, &JsValue::from_str("buffer"))
                        .unwrap_or(JsValue::UNDEFINED);
                    let offset = js_sys::Reflect::get(&view, &JsValue::from_str("byteOffset"))
                        .ok()
                        .and_then(|v| v.as_f64())
                        .unwrap_or(0.0);
                    let length = js_sys::Reflect::get(&view, &JsValue::from_str("byteLength"))
                        .ok()
                        .and_then(|v| v.as_f64())
                        .unwrap_or(0.0);
                    Uint8Array::new_with_byte_offset_and_length(
                        &buffer,
                        offset as u32,
                        length as u32,
                    )
                }
                Ok(object) => Uint8Array::new(&object),
                Err(other) => Uint8Array::new(&other),
            },
        }
    }

    /// Takes the argument in place when the worker says it made this view of
    /// the instance's own memory, registering its range; else copies it.
    fn place_of(view: &Uint8Array, mutable: bool) -> Place {
        if !crate::host::in_place(view) {
            return Place::Copied(view.to_vec());
        }
        let (start, len) = (view.byte_offset() as usize, view.length() as usize);
        if len == 0 {
            // An empty slice needs no address, and a dangling one is not ours to make up.
            return Place::Copied(Vec::new());
        }
        LIVE.with(|live| {
            let mut live = live.borrow_mut();
            let clash = live.iter().any(|&(s, l, m)| (m || mutable) && start < s + l && s < start + len);
            if clash {
                drop(live);
                panic!("one call got the same shared region twice, once as SharedBytesMut: expected distinct regions for a mutable parameter, got overlapping ones");
            }
            live.push((start, len, mutable));
        });
        Place::InPlace {
            ptr: start as *mut u8,
            len,
        }
    }

    fn forget(place: &Place) {
        if let Place::InPlace { ptr, len } = place {
            let start = *ptr as usize;
            LIVE.with(|live| {
                let mut live = live.borrow_mut();
                if let Some(at) = live.iter().position(|&(s, l, _)| s == start && l == *len) {
                    live.swap_remove(at);
                }
            });
        }
    }

    impl WasmDescribe for SharedBytes {
        fn describe() {
            <Uint8Array as WasmDescribe>::describe();
        }
    }

    impl WasmDescribe for SharedBytesMut {
        fn describe() {
            <Uint8Array as WasmDescribe>::describe();
        }
    }

    impl FromWasmAbi for SharedBytes {
        type Abi = <JsValue as FromWasmAbi>::Abi;

        unsafe fn from_abi(js: Self::Abi) -> Self {
            // SAFETY: wasm-bindgen hands over the argument's externref slot, as for a JsValue parameter.
            let view = bytes_of(unsafe { JsValue::from_abi(js) });
            SharedBytes {
                place: place_of(&view, false),
            }
        }
    }

    impl FromWasmAbi for SharedBytesMut {
        type Abi = <JsValue as FromWasmAbi>::Abi;

        unsafe fn from_abi(js: Self::Abi) -> Self {
            // SAFETY: as for SharedBytes.
            let view = bytes_of(unsafe { JsValue::from_abi(js) });
            let place = place_of(&view, true);
            let back = matches!(place, Place::Copied(_)).then_some(view);
            SharedBytesMut { place, back }
        }
    }

    impl Drop for SharedBytes {
        fn drop(&mut self) {
            forget(&self.place);
        }
    }

    impl Drop for SharedBytesMut {
        fn drop(&mut self) {
            forget(&self.place);
            if let (Some(back), Place::Copied(bytes)) = (&self.back, &self.place) {
                back.copy_from(bytes);
            }
        }
    }
}
