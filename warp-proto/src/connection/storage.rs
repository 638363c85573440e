//! Where a connection keeps its link table, node and lane names, and outbound queue.
//!
//! A connection is generic over a [`Storage`]: [`Heap`] (feature `alloc`) grows its tables as
//! links open, up to the [`Config`](super::Config) bounds; [`Fixed`] keeps everything in arrays
//! sized by const generics, so the same machine runs on a device with no allocator. The
//! [`Config`](super::Config) bounds apply to both; with [`Fixed`] the effective bound is the
//! smaller of the configured one and the array capacity.
//!
//! The trait is sealed: its associated types are implementation details (plain arrays or
//! `Vec`s) and never appear in a public signature.

use crate::recon::Text;

/// The storage a connection uses for its tables and outbound queue: [`Heap`] or [`Fixed`].
///
/// Sealed; the associated items are not part of the public API.
pub trait Storage: sealed::Sealed {
    #[doc(hidden)]
    type Links<T>: sealed::Table<T>;
    #[doc(hidden)]
    type Handles<T>: sealed::Table<T>;
    #[doc(hidden)]
    type Name: sealed::Name;
    #[doc(hidden)]
    type Bytes: sealed::Bytes;
    #[doc(hidden)]
    type Index: sealed::Index;
}

/// Growable storage (feature `alloc`): tables and the outbound queue grow on demand, up to the
/// [`Config`](super::Config) bounds.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Heap;

/// Fixed-capacity storage in plain arrays, for targets without an allocator.
///
/// - `LINKS`: links held at once (pending, open or closing),
/// - `HANDLES`: client handles held at once (unused by the server),
/// - `URI`: bytes of one node or lane URI (decoded),
/// - `OUT`: bytes of the outbound queue; each queued frame takes its length plus 4.
///
/// A connection using it is a few kilobytes; keep it in a `static` or on a large-enough stack.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fixed<
    const LINKS: usize = 8,
    const HANDLES: usize = 16,
    const URI: usize = 64,
    const OUT: usize = 2048,
>;

/// The storage used when none is named: [`Heap`] with `alloc`, [`Fixed`] without.
#[cfg(feature = "alloc")]
pub type DefaultStorage = Heap;
/// The storage used when none is named: [`Heap`] with `alloc`, [`Fixed`] without.
#[cfg(not(feature = "alloc"))]
pub type DefaultStorage = Fixed;

#[cfg(feature = "alloc")]
impl sealed::Sealed for Heap {}
#[cfg(feature = "alloc")]
impl Storage for Heap {
    type Links<T> = sealed::HeapTable<T>;
    type Handles<T> = sealed::HeapTable<T>;
    type Name = alloc::string::String;
    type Bytes = alloc::vec::Vec<u8>;
    type Index = sealed::HeapIndex;
}

impl<const LINKS: usize, const HANDLES: usize, const URI: usize, const OUT: usize> sealed::Sealed
    for Fixed<LINKS, HANDLES, URI, OUT>
{
}
impl<const LINKS: usize, const HANDLES: usize, const URI: usize, const OUT: usize> Storage
    for Fixed<LINKS, HANDLES, URI, OUT>
{
    type Links<T> = sealed::FixedTable<T, LINKS>;
    type Handles<T> = sealed::FixedTable<T, HANDLES>;
    type Name = sealed::FixedName<URI>;
    type Bytes = sealed::FixedBytes<OUT>;
    type Index = sealed::NoIndex;
}

pub(crate) use sealed::{Lookup, SlotKey};

pub(crate) mod sealed {
    use super::Text;

    pub trait Sealed {}

    /// The name of a slot as handed out in ids: index and generation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct SlotKey {
        pub(crate) index: u32,
        pub(crate) generation: u32,
    }

    /// One table slot: the value (if occupied) and a generation that changes on every removal,
    /// so that a stale id never reaches the next occupant.
    pub struct Slot<T> {
        pub(crate) generation: u32,
        pub(crate) value: Option<T>,
    }

    impl<T> Slot<T> {
        const fn empty() -> Self {
            Slot {
                generation: 0,
                value: None,
            }
        }
    }

    /// A slot table with stable indices.
    pub trait Table<T>: Default {
        /// All slots (occupied or not).
        fn slots(&self) -> &[Slot<T>];
        /// All slots, mutably.
        fn slots_mut(&mut self) -> &mut [Slot<T>];
        /// Appends an empty slot if the storage can grow; false when it cannot.
        fn grow(&mut self) -> bool;

        /// The index of a free slot to fill next (the lowest one), if any; the caller fills
        /// it. By default a scan; a table that keeps a free list answers from it.
        fn take_free(&mut self) -> Option<usize> {
            self.slots().iter().position(|s| s.value.is_none())
        }

        /// Notes that the slot `index` has just been emptied. By default nothing.
        fn release(&mut self, index: u32) {
            let _ = index;
        }

        /// Stores `value` in a free slot (the first one, else a new one) if fewer than `limit`
        /// slots are occupied by `occupied`; gives the value back otherwise.
        fn insert(&mut self, value: T, occupied: usize, limit: usize) -> Result<SlotKey, T> {
            if occupied >= limit {
                return Err(value);
            }
            let free = self.take_free();
            let index = match free {
                Some(i) => i,
                None => {
                    if !self.grow() {
                        return Err(value);
                    }
                    self.slots().len().saturating_sub(1)
                }
            };
            let Ok(index32) = u32::try_from(index) else {
                return Err(value);
            };
            match self.slots_mut().get_mut(index) {
                Some(slot) if slot.value.is_none() => {
                    slot.value = Some(value);
                    Ok(SlotKey {
                        index: index32,
                        generation: slot.generation,
                    })
                }
                _ => Err(value),
            }
        }

        /// The value named by `key`, if it is still there.
        fn get(&self, key: SlotKey) -> Option<&T> {
            let slot = self.slots().get(usize::try_from(key.index).ok()?)?;
            if slot.generation == key.generation {
                slot.value.as_ref()
            } else {
                None
            }
        }

        /// The value named by `key`, mutably.
        fn get_mut(&mut self, key: SlotKey) -> Option<&mut T> {
            let slot = self.slots_mut().get_mut(usize::try_from(key.index).ok()?)?;
            if slot.generation == key.generation {
                slot.value.as_mut()
            } else {
                None
            }
        }

        /// Removes and returns the value named by `key`; the slot's generation moves on.
        fn remove(&mut self, key: SlotKey) -> Option<T> {
            let slot = self.slots_mut().get_mut(usize::try_from(key.index).ok()?)?;
            if slot.generation != key.generation {
                return None;
            }
            let value = slot.value.take()?;
            slot.generation = slot.generation.wrapping_add(1);
            self.release(key.index);
            Some(value)
        }

        /// Occupied slots with their keys.
        fn iter<'s>(&'s self) -> impl Iterator<Item = (SlotKey, &'s T)>
        where
            T: 's,
        {
            self.slots().iter().enumerate().filter_map(|(i, s)| {
                let value = s.value.as_ref()?;
                let index = u32::try_from(i).ok()?;
                Some((
                    SlotKey {
                        index,
                        generation: s.generation,
                    },
                    value,
                ))
            })
        }

        /// Occupied slots with their keys, mutably.
        fn iter_mut<'s>(&'s mut self) -> impl Iterator<Item = (SlotKey, &'s mut T)>
        where
            T: 's,
        {
            self.slots_mut()
                .iter_mut()
                .enumerate()
                .filter_map(|(i, s)| {
                    let generation = s.generation;
                    let value = s.value.as_mut()?;
                    let index = u32::try_from(i).ok()?;
                    Some((SlotKey { index, generation }, value))
                })
        }
    }

    /// A growable table, with the indices of its free slots kept in a min-heap so that an
    /// insert takes the lowest free slot (as a scan would) in O(log n).
    #[cfg(feature = "alloc")]
    pub struct HeapTable<T> {
        slots: alloc::vec::Vec<Slot<T>>,
        free: alloc::collections::BinaryHeap<core::cmp::Reverse<u32>>,
    }

    #[cfg(feature = "alloc")]
    impl<T> Default for HeapTable<T> {
        fn default() -> Self {
            HeapTable {
                slots: alloc::vec::Vec::new(),
                free: alloc::collections::BinaryHeap::new(),
            }
        }
    }

    #[cfg(feature = "alloc")]
    impl<T> Table<T> for HeapTable<T> {
        fn slots(&self) -> &[Slot<T>] {
            &self.slots
        }
        fn slots_mut(&mut self) -> &mut [Slot<T>] {
            &mut self.slots
        }
        fn grow(&mut self) -> bool {
            if u32::try_from(self.slots.len()).is_err() {
                return false;
            }
            self.slots.push(Slot::empty());
            true
        }
        fn take_free(&mut self) -> Option<usize> {
            // Every entry names an empty slot; the check only guards that invariant.
            while let Some(core::cmp::Reverse(index)) = self.free.pop() {
                let Ok(i) = usize::try_from(index) else {
                    continue;
                };
                if self.slots.get(i).is_some_and(|s| s.value.is_none()) {
                    return Some(i);
                }
            }
            None
        }
        fn release(&mut self, index: u32) {
            self.free.push(core::cmp::Reverse(index));
        }
    }

    /// What an [`Index`] knows of a node and lane.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Lookup {
        /// The link on them.
        Found(SlotKey),
        /// There is no link on them.
        Missing,
        /// The index cannot tell: scan the table.
        Scan,
    }

    /// Decoded names up to this many bytes are looked up in an index from a stack buffer;
    /// longer escaped names fall back to a scan.
    const DECODE_BUF: usize = 256;

    /// A map from (node, lane) to the link's slot, kept in step with a link table.
    pub trait Index: Default {
        /// The link on `node`/`lane`.
        fn find(&self, node: &str, lane: &str) -> Lookup;

        /// The link on the received `node`/`lane` (decoded without allocating).
        fn find_text(&self, node: &Text<'_>, lane: &Text<'_>) -> Lookup {
            if let (Some(n), Some(l)) = (node.as_str(), lane.as_str()) {
                return self.find(n, l);
            }
            let mut node_buf = [0u8; DECODE_BUF];
            let mut lane_buf = [0u8; DECODE_BUF];
            match (
                node.decode_into(&mut node_buf),
                lane.decode_into(&mut lane_buf),
            ) {
                (Ok(n), Ok(l)) => self.find(n, l),
                _ => Lookup::Scan,
            }
        }

        /// Records that the link `key` is on `node`/`lane`.
        fn insert(&mut self, node: &str, lane: &str, key: SlotKey);

        /// Forgets the link `key` on `node`/`lane` (nothing if another link is recorded).
        fn remove(&mut self, node: &str, lane: &str, key: SlotKey);
    }

    /// No index: every lookup scans (right for small fixed tables).
    #[derive(Clone, Copy, Debug, Default)]
    pub struct NoIndex;

    impl Index for NoIndex {
        fn find(&self, _node: &str, _lane: &str) -> Lookup {
            Lookup::Scan
        }
        fn find_text(&self, _node: &Text<'_>, _lane: &Text<'_>) -> Lookup {
            Lookup::Scan
        }
        fn insert(&mut self, _node: &str, _lane: &str, _key: SlotKey) {}
        fn remove(&mut self, _node: &str, _lane: &str, _key: SlotKey) {}
    }

    /// An ordered map node → lane → slot: lookups by `&str` in O(log n), no allocation.
    #[cfg(feature = "alloc")]
    #[derive(Debug, Default)]
    pub struct HeapIndex(pub(crate) alloc::collections::BTreeMap<alloc::boxed::Box<str>, Lanes>);

    /// The links of one node in a [`HeapIndex`]: most nodes have one, which then needs no map.
    #[cfg(feature = "alloc")]
    #[derive(Debug)]
    pub enum Lanes {
        /// A single lane.
        One(alloc::boxed::Box<str>, SlotKey),
        /// Several lanes (or none, briefly).
        Many(alloc::collections::BTreeMap<alloc::boxed::Box<str>, SlotKey>),
    }

    #[cfg(feature = "alloc")]
    impl Index for HeapIndex {
        fn find(&self, node: &str, lane: &str) -> Lookup {
            let found = match self.0.get(node) {
                Some(Lanes::One(l, key)) if &**l == lane => Some(*key),
                Some(Lanes::Many(lanes)) => lanes.get(lane).copied(),
                _ => None,
            };
            match found {
                Some(key) => Lookup::Found(key),
                None => Lookup::Missing,
            }
        }
        fn insert(&mut self, node: &str, lane: &str, key: SlotKey) {
            let Some(lanes) = self.0.get_mut(node) else {
                self.0.insert(node.into(), Lanes::One(lane.into(), key));
                return;
            };
            match lanes {
                Lanes::One(l, k) if &**l == lane => *k = key,
                Lanes::One(l, k) => {
                    let mut many = alloc::collections::BTreeMap::new();
                    many.insert(core::mem::take(l), *k);
                    many.insert(lane.into(), key);
                    *lanes = Lanes::Many(many);
                }
                Lanes::Many(many) => {
                    many.insert(lane.into(), key);
                }
            }
        }
        fn remove(&mut self, node: &str, lane: &str, key: SlotKey) {
            let Some(lanes) = self.0.get_mut(node) else {
                return;
            };
            let empty = match lanes {
                Lanes::One(l, k) => &**l == lane && *k == key,
                Lanes::Many(many) => {
                    if many.get(lane) == Some(&key) {
                        many.remove(lane);
                    }
                    many.is_empty()
                }
            };
            if empty {
                self.0.remove(node);
            }
        }
    }

    /// A table of `N` slots in an array.
    pub struct FixedTable<T, const N: usize>([Slot<T>; N]);

    impl<T, const N: usize> Default for FixedTable<T, N> {
        fn default() -> Self {
            FixedTable(core::array::from_fn(|_| Slot::empty()))
        }
    }

    impl<T, const N: usize> Table<T> for FixedTable<T, N> {
        fn slots(&self) -> &[Slot<T>] {
            &self.0
        }
        fn slots_mut(&mut self) -> &mut [Slot<T>] {
            &mut self.0
        }
        fn grow(&mut self) -> bool {
            false
        }
    }

    /// A node or lane URI copied out of a transient frame.
    pub trait Name: Default {
        /// Replaces the name by the decoded `text`, if it is at most `max` bytes (and fits the
        /// storage); on failure the name is left empty.
        fn set_text(&mut self, text: &Text<'_>, max: usize) -> bool;
        /// Replaces the name by `s`, under the same bound.
        fn set_str(&mut self, s: &str, max: usize) -> bool;
        /// The name.
        fn as_str(&self) -> &str;
    }

    #[cfg(feature = "alloc")]
    impl Name for alloc::string::String {
        fn set_text(&mut self, text: &Text<'_>, max: usize) -> bool {
            self.clear();
            if text.decoded_len() > max {
                return false;
            }
            self.extend(text.chars());
            true
        }
        fn set_str(&mut self, s: &str, max: usize) -> bool {
            self.clear();
            if s.len() > max {
                return false;
            }
            self.push_str(s);
            true
        }
        fn as_str(&self) -> &str {
            self
        }
    }

    /// A name of at most `N` bytes in an array.
    pub struct FixedName<const N: usize> {
        buf: [u8; N],
        len: usize,
    }

    impl<const N: usize> Default for FixedName<N> {
        fn default() -> Self {
            FixedName {
                buf: [0; N],
                len: 0,
            }
        }
    }

    impl<const N: usize> Name for FixedName<N> {
        fn set_text(&mut self, text: &Text<'_>, max: usize) -> bool {
            self.len = 0;
            if text.decoded_len() > max {
                return false;
            }
            match text.decode_into(&mut self.buf) {
                Ok(s) => {
                    self.len = s.len();
                    true
                }
                Err(_) => false,
            }
        }
        fn set_str(&mut self, s: &str, max: usize) -> bool {
            self.len = 0;
            if s.len() > max {
                return false;
            }
            match self.buf.get_mut(..s.len()) {
                Some(dst) => {
                    dst.copy_from_slice(s.as_bytes());
                    self.len = s.len();
                    true
                }
                None => false,
            }
        }
        fn as_str(&self) -> &str {
            // Only whole `str`s are ever copied in, so this never falls back.
            self.buf
                .get(..self.len)
                .and_then(|b| core::str::from_utf8(b).ok())
                .unwrap_or("")
        }
    }

    /// The outbound queue's bytes.
    pub trait Bytes: Default {
        /// The bytes held.
        fn as_slice(&self) -> &[u8];
        /// The bytes held, mutably.
        fn as_mut_slice(&mut self) -> &mut [u8];
        /// Appends `s`; false (and nothing appended) when the storage cannot hold it.
        fn extend(&mut self, s: &[u8]) -> bool;
        /// Shortens to `len` bytes.
        fn truncate(&mut self, len: usize);
    }

    #[cfg(feature = "alloc")]
    impl Bytes for alloc::vec::Vec<u8> {
        fn as_slice(&self) -> &[u8] {
            self
        }
        fn as_mut_slice(&mut self) -> &mut [u8] {
            self
        }
        fn extend(&mut self, s: &[u8]) -> bool {
            self.extend_from_slice(s);
            true
        }
        fn truncate(&mut self, len: usize) {
            alloc::vec::Vec::truncate(self, len);
        }
    }

    /// At most `N` bytes in an array.
    pub struct FixedBytes<const N: usize> {
        buf: [u8; N],
        len: usize,
    }

    impl<const N: usize> Default for FixedBytes<N> {
        fn default() -> Self {
            FixedBytes {
                buf: [0; N],
                len: 0,
            }
        }
    }

    impl<const N: usize> Bytes for FixedBytes<N> {
        fn as_slice(&self) -> &[u8] {
            self.buf.get(..self.len).unwrap_or(&[])
        }
        fn as_mut_slice(&mut self) -> &mut [u8] {
            self.buf.get_mut(..self.len).unwrap_or(&mut [])
        }
        fn extend(&mut self, s: &[u8]) -> bool {
            let Some(end) = self.len.checked_add(s.len()) else {
                return false;
            };
            match self.buf.get_mut(self.len..end) {
                Some(dst) => {
                    dst.copy_from_slice(s);
                    self.len = end;
                    true
                }
                None => false,
            }
        }
        fn truncate(&mut self, len: usize) {
            self.len = self.len.min(len);
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::sealed::{HeapIndex, HeapTable, Index, Lookup, NoIndex, SlotKey, Table};
    use crate::recon::Text;
    use alloc::vec::Vec;

    #[test]
    fn heap_table_reuses_the_lowest_free_slot_with_a_new_generation() {
        let mut t = HeapTable::<u32>::default();
        let keys: Vec<SlotKey> = (0..5)
            .map(|v| t.insert(v, v as usize, 10).expect("room"))
            .collect();
        assert_eq!(
            keys.iter().map(|k| k.index).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        assert_eq!(t.remove(keys[3]), Some(3));
        assert_eq!(t.remove(keys[1]), Some(1));
        assert_eq!(t.remove(keys[1]), None, "a stale key removes nothing");
        let a = t.insert(10, 3, 10).expect("room");
        let b = t.insert(11, 4, 10).expect("room");
        let c = t.insert(12, 5, 10).expect("room");
        assert_eq!((a.index, b.index, c.index), (1, 3, 5));
        assert_ne!(a.generation, keys[1].generation);
        assert_eq!(t.get(keys[1]), None);
        assert_eq!(t.get(a), Some(&10));
        assert_eq!(t.insert(13, 10, 10), Err(13), "the limit holds");
    }

    #[test]
    fn heap_index_finds_inserts_and_removes_only_the_recorded_key() {
        let k = |index| SlotKey {
            index,
            generation: 0,
        };
        let mut ix = HeapIndex::default();
        assert_eq!(ix.find("/a", "x"), Lookup::Missing);
        ix.insert("/a", "x", k(0));
        ix.insert("/a", "y", k(1));
        ix.insert("/b", "x", k(2));
        assert_eq!(ix.find("/a", "x"), Lookup::Found(k(0)));
        assert_eq!(ix.find("/a", "y"), Lookup::Found(k(1)));
        assert_eq!(ix.find("/b", "y"), Lookup::Missing);
        ix.remove("/a", "x", k(5));
        assert_eq!(
            ix.find("/a", "x"),
            Lookup::Found(k(0)),
            "another key is kept"
        );
        ix.remove("/a", "x", k(0));
        ix.remove("/a", "y", k(1));
        assert_eq!(ix.find("/a", "y"), Lookup::Missing);
        assert_eq!(ix.0.len(), 1, "an empty node is dropped");
        ix.remove("/b", "x", k(9));
        ix.remove("/b", "y", k(2));
        assert_eq!(
            ix.find("/b", "x"),
            Lookup::Found(k(2)),
            "a single lane is kept too"
        );
        ix.insert("/b", "y", k(3));
        ix.remove("/b", "x", k(2));
        assert_eq!(ix.find("/b", "x"), Lookup::Missing);
        assert_eq!(ix.find("/b", "y"), Lookup::Found(k(3)));
        assert_eq!(
            ix.find_text(&Text::plain("/b"), &Text::plain("y")),
            Lookup::Found(k(3))
        );
    }

    #[test]
    fn no_index_always_scans() {
        let mut ix = NoIndex;
        let key = SlotKey {
            index: 0,
            generation: 0,
        };
        ix.insert("/a", "x", key);
        assert_eq!(ix.find("/a", "x"), Lookup::Scan);
        assert_eq!(
            ix.find_text(&Text::plain("/a"), &Text::plain("x")),
            Lookup::Scan
        );
    }
}
