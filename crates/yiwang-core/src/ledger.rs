//! The ledger's pure parts: the canonical byte form of an event, the per-stream hash
//! chain input, the Merkle root of a checkpoint and the checkpoint's signed form.
//! Hashing itself (SM3, GB/T 32905) is passed in, so this module stays free of crypto.

/// A hash as stored: 32 bytes (SM3).
pub type Hash = [u8; 32];

/// The hash that precedes the first event of every stream.
pub const GENESIS: Hash = [0u8; 32];

/// An event as the ledger stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Global, gap-free position (1, 2, 3, …) in commit order.
    pub seq: i64,
    pub stream_id: String,
    /// Position within the stream (1, 2, 3, …).
    pub version: i64,
    pub kind: String,
    /// The body as stored: JSON text, hashed byte for byte.
    pub body: String,
    /// Who caused it (`admin`, `system:demo`, later an account id; `actor>principal` for mandates).
    pub actor: String,
    /// Epoch milliseconds, UTC.
    pub at_ms: i64,
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

impl EventRecord {
    /// The unambiguous byte form that is hashed: a domain tag, then every field,
    /// length-prefixed (texts) or fixed-width big-endian (integers).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body.len() + self.stream_id.len());
        put(&mut out, b"yiwang.event.v1");
        out.extend_from_slice(&self.seq.to_be_bytes());
        put(&mut out, self.stream_id.as_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        put(&mut out, self.kind.as_bytes());
        put(&mut out, self.body.as_bytes());
        put(&mut out, self.actor.as_bytes());
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out
    }

    /// What the stream's hash chain hashes: `prev_hash || canonical event`.
    pub fn chain_input(&self, prev: &Hash) -> Vec<u8> {
        let mut v = prev.to_vec();
        v.extend_from_slice(&self.canonical_bytes());
        v
    }
}

/// The Merkle root over event hashes in order (RFC 6962 §2.1 shape: leaves prefixed 0x00,
/// inner nodes 0x01, an unpaired node split as the largest power of two below n).
pub fn merkle_root(leaves: &[Hash], h: &impl Fn(&[u8]) -> Hash) -> Hash {
    match leaves.len() {
        0 => h(b""),
        1 => {
            let mut v = vec![0u8];
            v.extend_from_slice(&leaves[0]);
            h(&v)
        }
        n => {
            // The largest power of two smaller than n.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            let (l, r) = leaves.split_at(k);
            let mut v = vec![1u8];
            v.extend_from_slice(&merkle_root(l, h));
            v.extend_from_slice(&merkle_root(r, h));
            h(&v)
        }
    }
}

/// A checkpoint: the Merkle root of events `from_seq..=to_seq`, linked to the previous
/// checkpoint, signed by the node key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub from_seq: i64,
    pub to_seq: i64,
    pub root: Hash,
    /// Hash of the previous checkpoint's signed bytes (GENESIS for the first).
    pub prev: Hash,
    pub at_ms: i64,
}

impl Checkpoint {
    /// The bytes the node key signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(120);
        put(&mut out, b"yiwang.checkpoint.v1");
        out.extend_from_slice(&self.from_seq.to_be_bytes());
        out.extend_from_slice(&self.to_seq.to_be_bytes());
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&self.prev);
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(b: &[u8]) -> Hash {
        use sm3::Digest;
        sm3::Sm3::digest(b).into()
    }

    #[test]
    fn canonical_bytes_separate_fields() {
        let a = EventRecord {
            seq: 1,
            stream_id: "ab".into(),
            version: 1,
            kind: "c".into(),
            body: "{}".into(),
            actor: "x".into(),
            at_ms: 5,
        };
        let b = EventRecord {
            stream_id: "a".into(),
            kind: "bc".into(),
            ..a.clone()
        };
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
    }

    #[test]
    fn merkle_root_depends_on_every_leaf_and_order() {
        for n in 1..20usize {
            let leaves: Vec<Hash> = (0..n).map(|i| [i as u8 + 1; 32]).collect();
            let root = merkle_root(&leaves, &toy);
            for i in 0..n {
                let mut l = leaves.clone();
                l[i][0] ^= 1;
                assert_ne!(merkle_root(&l, &toy), root, "n={n} i={i}");
            }
            if n > 1 {
                let mut l = leaves.clone();
                l.swap(0, n - 1);
                assert_ne!(merkle_root(&l, &toy), root);
                assert_ne!(merkle_root(&leaves[..n - 1], &toy), root);
            }
        }
    }
}
