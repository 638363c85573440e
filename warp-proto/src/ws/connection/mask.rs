//! Masking keys for a client, derived from a caller-provided seed.
//!
//! RFC 6455 wants every client frame masked with a fresh key an attacker cannot predict. The
//! core has no random number generator, so the caller seeds this generator once with 16 random
//! bytes; keys are SHA-1(seed, counter), five keys per hash.

use sha1::{Digest, Sha1};

#[derive(Clone, Debug)]
pub(crate) struct MaskKeys {
    seed: [u8; 16],
    counter: u64,
    block: [u8; 20],
    used: usize,
}

impl MaskKeys {
    pub(crate) fn new(seed: [u8; 16]) -> Self {
        MaskKeys {
            seed,
            counter: 0,
            block: [0; 20],
            used: 20,
        }
    }

    pub(crate) fn next_key(&mut self) -> [u8; 4] {
        if self.used >= 20 {
            let mut sha = Sha1::new();
            sha.update(self.seed);
            sha.update(self.counter.to_le_bytes());
            self.block = sha.finalize().into();
            self.counter = self.counter.wrapping_add(1);
            self.used = 0;
        }
        let at = self.used;
        self.used = at.saturating_add(4);
        match self.block.get(at..at.saturating_add(4)) {
            Some(&[a, b, c, d]) => [a, b, c, d],
            _ => [0x5a, 0xa5, 0x3c, 0xc3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MaskKeys;

    #[test]
    fn keys_differ_across_frames_and_seeds() {
        let mut a = MaskKeys::new([1; 16]);
        let mut b = MaskKeys::new([2; 16]);
        let first: [[u8; 4]; 12] = core::array::from_fn(|_| a.next_key());
        let other: [[u8; 4]; 12] = core::array::from_fn(|_| b.next_key());
        assert_ne!(first, other);
        for (i, x) in first.iter().enumerate() {
            for y in &first[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
